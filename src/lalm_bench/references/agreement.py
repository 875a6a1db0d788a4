"""Agreement between the reference captions of each clip, measured by embedding similarity.

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

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.datasets.captions import CaptionTable
    from lalm_bench.embeddings import Embedder

DEFAULT_MODEL = "BAAI/bge-m3"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CHANCE_CAP = 100_000
Z_DEFINITION = "z = (x - mean) / std over all {what} of the split; std is the sample std (ddof=1)"


@dataclass
class ReferenceConfig:
    """Parameters of one reference-agreement run (recorded verbatim in the manifest)."""

    split: str | None = None  # Clotho split; for other tables a free label for the output names
    csv: Path | None = None  # bypasses the hub cache
    revision: str | None = None  # dataset revision in the hub cache
    clip_column: str = "file_name"
    caption_column: str | None = None  # set for long tables (one caption per row)
    name: str | None = None  # output prefix; "clotho" for Clotho, else the CSV stem
    model: str = DEFAULT_MODEL
    model_revision: str | None = None
    device: str = "auto"
    batch_size: int = 128
    max_seq_length: int | None = None
    backend: str = "torch"
    precision: str = "fp32"
    cache_dir: str | None = None
    use_cache: bool = True
    z_threshold: float = 2.0
    bootstrap: int = 1000
    seed: int = 0
    chance_cap: int = CHANCE_CAP

    def parameters(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass
class AgreementResult:
    pairs: pd.DataFrame  # one row per caption pair
    outliers: pd.DataFrame  # pairs with |z| >= threshold, with direction
    caption_outliers: pd.DataFrame  # captions with z <= -threshold
    summary: dict[str, Any]
    pair_similarities: np.ndarray = field(repr=False)
    chance_similarities: np.ndarray = field(repr=False)


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


def cluster_bootstrap_ci(
    sums: np.ndarray, counts: np.ndarray, n_resamples: int, seed: int, confidence: float = 0.95
) -> list[float] | None:
    """Percentile CI of sum(sums)/sum(counts) when resampling clusters (clips) with replacement."""
    n = sums.size
    if n < 2 or n_resamples <= 0:
        return None
    rng = np.random.default_rng(seed)
    est = np.empty(n_resamples, dtype=np.float64)
    per = max(1, 2_000_000 // n)
    for lo in range(0, n_resamples, per):
        hi = min(n_resamples, lo + per)
        idx = rng.integers(0, n, size=(hi - lo, n))
        est[lo:hi] = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    q = np.quantile(est, [alpha, 1.0 - alpha])
    return [float(q[0]), float(q[1])]


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


def run_reference_agreement(
    table: CaptionTable,
    config: ReferenceConfig,
    embedder: Embedder,
    dataset: dict[str, Any] | None = None,
) -> AgreementResult:
    """Embed every caption (each distinct text once) and measure agreement within clips."""
    import pandas as pd

    from lalm_bench.manifest import build_manifest

    t0 = time.perf_counter()
    sizes = np.asarray(table.sizes, dtype=np.int64)
    flat = [c for caps in table.captions for c in caps]
    flat_index = np.asarray([n for idx in table.caption_index for n in idx], dtype=np.int64)
    caption_clip = np.repeat(np.arange(len(sizes)), sizes)
    clip_names = np.asarray(table.clips, dtype=object)
    texts = np.asarray(flat, dtype=object)

    enc = embedder.encode(flat, desc="embedding captions")
    emb = enc.embeddings
    pair_clip, pi, pj, sims, cap_mean = clip_pair_similarities(emb, sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    a_rows, b_rows = starts[pair_clip] + pi, starts[pair_clip] + pj
    z = stats.zscores(sims)
    cap_z = stats.zscores(cap_mean)
    thr = float(config.z_threshold)

    n_pairs_clip = sizes * (sizes - 1) // 2
    clip_sums = np.bincount(pair_clip, weights=sims, minlength=len(sizes))
    clip_means = clip_sums / n_pairs_clip

    ca, cb = chance_pairs(caption_clip, min(int(config.chance_cap), sims.size), config.seed)
    chance = np.einsum("ij,ij->i", emb[ca], emb[cb], dtype=np.float64)

    clip_col = table.clip_column
    pairs = pd.DataFrame(
        {
            clip_col: clip_names[pair_clip],
            "i": flat_index[a_rows],
            "j": flat_index[b_rows],
            "caption_i": texts[a_rows],
            "caption_j": texts[b_rows],
            "similarity": sims,
            "z": z,
        }
    )
    with np.errstate(invalid="ignore"):
        low, high = z <= -thr, z >= thr
        cap_low = cap_z <= -thr
    outliers = pairs[low | high].copy()
    outliers["direction"] = np.where(low[low | high], "low", "high")
    outliers = outliers.sort_values("z", kind="stable").reset_index(drop=True)

    captions = pd.DataFrame(
        {
            clip_col: clip_names[caption_clip],
            "caption_index": flat_index,
            "caption": texts,
            "mean_similarity": cap_mean,
            "z": cap_z,
            "clip_mean": clip_means[caption_clip],
            "captions_in_clip": sizes[caption_clip],
        }
    )
    caption_outliers = captions[cap_low].sort_values("z", kind="stable").reset_index(drop=True)

    overall = distribution(sims)
    chance_d = distribution(chance)
    q95 = chance_d["quantiles"]["q95"]
    below = int((sims < q95).sum()) if q95 is not None else None
    summary: dict[str, Any] = {
        "dataset": {**(dataset or {}), **table.describe()},
        "clips": len(sizes),
        "pairs": int(sims.size),
        "captions": int(sizes.sum()),
        "unique_captions": int(enc.n_unique),
        "mean": overall["mean"],
        "std": overall["std"],
        "min": overall["min"],
        "max": overall["max"],
        "quantiles": overall["quantiles"],
        "ci95": cluster_bootstrap_ci(
            clip_sums, n_pairs_clip.astype(np.float64), config.bootstrap, config.seed
        ),
        "ci_method": f"clip-level bootstrap of the mean pair similarity, {config.bootstrap} resamples, seed "
        f"{config.seed}",
        "clip_means": distribution(clip_means),
        "caption_means": distribution(cap_mean),
        "outliers": {
            "z_threshold": thr,
            "z_definition": Z_DEFINITION.format(what="pairs"),
            "low": int(low.sum()),
            "high": int(high.sum()),
            "total": int((low | high).sum()),
        },
        "caption_outliers": {
            "z_threshold": thr,
            "z_definition": Z_DEFINITION.format(what="captions")
            + "; the score is a caption's mean similarity to the other captions of its clip; flagged at "
            "z <= -threshold",
            "low": int(cap_low.sum()),
            "clips_with_flagged_caption": int(np.unique(caption_clip[cap_low]).size),
        },
        "chance": {
            **chance_d,
            "seed": config.seed,
            "method": "captions of two different clips drawn uniformly at random (seeded), as many pairs "
            f"as real pairs, at most {config.chance_cap}",
        },
        "mean_minus_chance": (
            overall["mean"] - chance_d["mean"]
            if overall["mean"] is not None and chance_d["mean"] is not None
            else None
        ),
        "pairs_below_chance_q95": {
            "count": below,
            "fraction": below / sims.size if below is not None and sims.size else None,
        },
    }
    summary["manifest"] = build_manifest(
        "clotho-refs",
        config.parameters(),
        inputs=[table.path],
        model=embedder.info(),
        truncation=enc.truncation_report(),
        wall_seconds=round(time.perf_counter() - t0, 3),
    )
    return AgreementResult(pairs, outliers, caption_outliers, summary, sims, chance)
