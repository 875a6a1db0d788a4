"""The computations of reference agreement: within-clip caption pairs, chance pairs, distributions.

For every clip with k >= 2 captions, all k(k-1)/2 caption pairs get the cosine similarity of their
normalized embeddings (Clotho: 5 captions, 10 pairs per clip). The pairwise step works on per-clip
k x k blocks (``einsum`` over clips with the same k), never on an N x N matrix over the split.

Statistics:

* pair z-scores: ``(s - mean) / std`` over all pairs of the split, std = sample std (ddof=1);
  a pair is an outlier when ``|z| >= z_threshold`` (direction ``low`` or ``high``);
* caption scores: each caption's mean similarity to the other captions of its clip, z over all
  captions of the split (sample std); a caption is a likely-bad reference when ``z <= -z_threshold``;
* chance baseline: a seeded sample of caption pairs from different clips (as many as there are
  real pairs, capped), i.e. what unrelated captions score with this model;
* the 95% CI of the mean pair similarity is a clip-level (cluster) bootstrap, since the pairs of a
  clip share captions and are not independent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lalm_bench import stats

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CHANCE_CAP = 100_000
Z_DEFINITION = "z = (x - mean) / std over all {what} of the split; std is the sample std (ddof=1)"


def clip_pair_similarities(
    embeddings: np.ndarray, sizes: list[int] | np.ndarray, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All within-clip pair similarities, and each caption's mean similarity to its clip's other captions.

    ``embeddings`` holds the captions clip after clip (``sizes[c]`` rows for clip c, each >= 2).
    Returns ``(pair_clip, pair_i, pair_j, pair_sim, caption_mean)``: pairs ordered by clip then
    (i, j) with i < j (0-based positions inside the clip).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size and sizes.min() < 2:
        raise ValueError("every clip needs at least two captions")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_pairs = sizes * (sizes - 1) // 2
    pair_starts = np.concatenate([[0], np.cumsum(n_pairs)[:-1]]).astype(np.int64)
    total = int(n_pairs.sum())
    pair_clip = np.empty(total, dtype=np.int64)
    pair_i = np.empty(total, dtype=np.int64)
    pair_j = np.empty(total, dtype=np.int64)
    pair_sim = np.empty(total, dtype=np.float64)
    caption_mean = np.empty(int(sizes.sum()), dtype=np.float64)
    for k in np.unique(sizes).tolist():
        iu, ju = np.triu_indices(k, 1)
        diag = np.arange(k)
        clips_k = np.flatnonzero(sizes == k)
        for lo in range(0, len(clips_k), chunk):
            clips = clips_k[lo : lo + chunk]
            rows = starts[clips][:, None] + np.arange(k)  # (m, k) caption rows
            block = embeddings[rows]  # (m, k, dim)
            sim = np.einsum("mid,mjd->mij", block, block, dtype=np.float64)  # (m, k, k), float64 sums
            where = pair_starts[clips][:, None] + np.arange(len(iu))
            pair_clip[where] = clips[:, None]
            pair_i[where] = iu
            pair_j[where] = ju
            pair_sim[where] = sim[:, iu, ju]
            caption_mean[rows] = (sim.sum(axis=2) - sim[:, diag, diag]) / (k - 1)
    return pair_clip, pair_i, pair_j, pair_sim, caption_mean


def chance_pairs(caption_clip: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded random caption pairs (a, b) whose captions belong to different clips."""
    caption_clip = np.asarray(caption_clip)
    if n <= 0 or np.unique(caption_clip).size < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    size = caption_clip.size
    a = rng.integers(0, size, n)
    b = rng.integers(0, size, n)
    same = caption_clip[a] == caption_clip[b]
    while same.any():  # redraw partners from the same clip; few rounds, as clips are small
        b[same] = rng.integers(0, size, int(same.sum()))
        same = caption_clip[a] == caption_clip[b]
    return a, b


def distribution(values: np.ndarray) -> dict[str, Any]:
    """count, mean, std (ddof=1), min, max and the 5/25/50/75/95% quantiles."""
    values = np.asarray(values, dtype=np.float64)
    return {
        "count": int(values.size),
        "mean": stats.mean(values),
        "std": stats.sample_std(values),
        "min": float(values.min()) if values.size else None,
        "max": float(values.max()) if values.size else None,
        "quantiles": stats.quantiles(values, QUANTILES),
    }
