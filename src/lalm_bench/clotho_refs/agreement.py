"""The computations of reference agreement: within-clip caption pairs, chance pairs, outlier rules.

For every clip with k >= 2 captions, all k(k-1)/2 caption pairs get the cosine similarity of their
normalized embeddings, clipped to [-1, 1] (Clotho: 5 captions, 10 pairs per clip). Rules that flag
disagreement, reported separately:

* pair z (the original scripts' rule, kept for compatibility): ``z = (s - mean) / std`` over all pairs of the
  split (sample std); flagged at ``|z| >= z_threshold``. On this bounded, left-skewed distribution
  ``mean + 2·std`` passes 1, so high outliers cannot exist (``null`` with a reason, not 0), and
  ``|z| >= 2`` is not a 5% tail;
* chance quantile: pairs below the ``chance_quantile`` quantile of the chance distribution (caption
  pairs of different clips), i.e. as dissimilar as unrelated captions;
* clip: the robust z of each clip's mean pair similarity (median and MAD over clips), flagged at
  ``<= -z_threshold``;
* caption: each caption's mean similarity to the other captions of its clip, z over all captions,
  flagged at ``z <= -z_threshold`` (with a leave-one-out column); a clip with two or more flagged
  captions is a low-agreement clip, not several bad references.

Degenerate inputs (all values equal, too few values for a z to reach the threshold) give ``null``
with a reason, never "0 outliers". The CI of the mean pair similarity is clustered by clip
(:func:`lalm_bench.stats.cluster_mean_ci`: cluster bootstrap from 30 clips, cluster-robust t below,
none below 3), since the pairs of a clip share captions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lalm_bench import stats

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
CHANCE_CAP = 100_000
MIN_CLIPS = 3  # a clip-level rule needs at least this many clips
Z_DEFINITION = "z = (x - mean) / std over all {what} of the split; std is the sample std (ddof=1)"


def clip_pair_similarities(
    embeddings: np.ndarray, sizes: list[int] | np.ndarray, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All within-clip pair similarities, and each caption's mean similarity to its clip's other captions.

    ``embeddings`` holds the captions clip after clip (``sizes[c]`` rows for clip c, each >= 2).
    Returns ``(pair_clip, pair_i, pair_j, pair_sim, caption_mean)``: pairs ordered by clip then
    (i, j) with i < j (0-based positions inside the clip); similarities clipped to [-1, 1].
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
            np.clip(sim, -1.0, 1.0, out=sim)  # unit vectors' dot products pass 1 by float error
            where = pair_starts[clips][:, None] + np.arange(len(iu))
            pair_clip[where] = clips[:, None]
            pair_i[where] = iu
            pair_j[where] = ju
            pair_sim[where] = sim[:, iu, ju]
            caption_mean[rows] = (sim.sum(axis=2) - sim[:, diag, diag]) / (k - 1)
    return pair_clip, pair_i, pair_j, pair_sim, caption_mean


def chance_pairs(caption_clip: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Caption pairs (a, b) from different clips: all of them when there are at most ``n``, else ``n``
    drawn uniformly (seeded; with replacement)."""
    caption_clip = np.asarray(caption_clip)
    size = caption_clip.size
    if n <= 0 or np.unique(caption_clip).size < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    _, counts = np.unique(caption_clip, return_counts=True)
    cross = (size * size - int((counts.astype(np.int64) ** 2).sum())) // 2
    if cross <= n:  # every cross-clip pair once: caption a with each caption of a later clip
        order = np.argsort(caption_clip, kind="stable")
        labels = caption_clip[order]
        end = np.searchsorted(labels, labels, side="right")  # end of each caption's clip run
        per = size - end
        a = np.repeat(np.arange(size), per)
        offsets = np.repeat(np.cumsum(per) - per, per)
        b = np.repeat(end, per) + (np.arange(a.size) - offsets)
        return order[a].astype(np.int64), order[b].astype(np.int64)
    rng = np.random.default_rng(seed)
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


def max_abs_z(n: int) -> float:
    """The largest |z| any value can reach among ``n`` values with the sample std: ``(n - 1) / √n``."""
    return (n - 1) / math.sqrt(n) if n >= 2 else 0.0


def z_rule(
    values: np.ndarray, threshold: float, what: str, *, low_only: bool = False, bounds: tuple[float, float] = (-1, 1)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """z-scores over ``values`` and the masks ``z <= -threshold`` (low) and ``z >= threshold`` (high).

    The summary gives ``null`` with a reason, never 0, where a direction cannot flag anything: z undefined
    (fewer than two values, or all equal), ``|z|`` unable to reach the threshold with so few values
    (``(n-1)/√n < threshold``), or the cut ``mean ± threshold·std`` outside ``bounds`` (cosines cannot
    pass 1, so on a left-skewed similarity distribution with ``mean + 2·std > 1`` no high outlier exists).
    """
    values = np.asarray(values, dtype=np.float64)
    n = int(values.size)
    z = stats.zscores(values)
    with np.errstate(invalid="ignore"):
        low, high = z <= -threshold, z >= threshold
    doc: dict[str, Any] = {
        "z_threshold": threshold,
        "z_definition": Z_DEFINITION.format(what=what),
        "n": n,
        "low": None,
        "high": None,
        "total": None,
        "reason": None,
    }
    if n < 2 or np.isnan(z).all():
        doc["reason"] = f"z undefined: {'fewer than two ' + what if n < 2 else 'all ' + what + ' are equal'}"
        return z, np.zeros_like(low), np.zeros_like(high), doc
    if max_abs_z(n) < threshold:
        doc["reason"] = (
            f"{n} {what}: |z| can reach at most (n-1)/√n = {max_abs_z(n):.3f} < {threshold}, so no outlier can exist"
        )
        return z, np.zeros_like(low), np.zeros_like(high), doc
    m, sd = float(values.mean()), float(values.std(ddof=1))
    cut_low, cut_high = m - threshold * sd, m + threshold * sd
    doc["cut_low"] = cut_low
    doc["low"] = int(low.sum())
    if cut_low < bounds[0]:
        doc["low"] = None
        doc["low_reason"] = f"mean - {threshold}·std = {cut_low:.4f} < {bounds[0]}: no value can be that low"
    if not low_only:
        doc["cut_high"] = cut_high
        doc["high"] = int(high.sum())
        if cut_high > bounds[1]:
            doc["high"] = None
            doc["high_reason"] = (
                f"mean + {threshold}·std = {cut_high:.4f} > {bounds[1]} (the largest cosine): no value can be a "
                "high outlier"
            )
    counted = [v for v in (doc["low"], doc["high"]) if v is not None]
    doc["total"] = sum(counted) if counted else None
    doc["fraction_flagged"] = doc["total"] / n if doc["total"] is not None else None
    return z, low, high, doc


def chance_rank(values: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """Share of the chance similarities strictly below each value (NaN without chance pairs)."""
    values = np.asarray(values, dtype=np.float64)
    if not chance.size:
        return np.full(values.shape, np.nan)
    ordered = np.sort(np.asarray(chance, dtype=np.float64))
    return np.searchsorted(ordered, values, side="left") / ordered.size


def leave_one_out(caption_mean: np.ndarray, sizes: np.ndarray, clip_sums: np.ndarray) -> np.ndarray:
    """Per caption: its mean similarity to the other captions of its clip minus the mean similarity among
    those others (their pairs without it). NaN in clips of two captions (the others form no pair).

    With k captions, pair sum P and the caption's mean m: its k-1 pairs sum to (k-1)·m, so the others'
    (k-1)(k-2)/2 pairs sum to P - (k-1)·m.
    """
    k = np.repeat(np.asarray(sizes, dtype=np.int64), sizes)
    p = np.repeat(np.asarray(clip_sums, dtype=np.float64), sizes)
    n_others = (k - 1) * (k - 2) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        others = np.where(n_others > 0, (p - (k - 1) * caption_mean) / np.where(n_others > 0, n_others, 1), np.nan)
    return caption_mean - others


def monte_carlo_error(chance: np.ndarray, exact: bool, quantiles: tuple[float, ...] = QUANTILES) -> dict[str, Any]:
    """How far the sampled chance quantities may be from those of every cross-clip pair: the standard error of
    the mean and a distribution-free 95% interval of each quantile (order statistics of the binomial count
    below it). ``exact``: every cross-clip pair was used, so there is no Monte Carlo error."""
    n = int(chance.size)
    if exact or n < 2:
        return {"exact": bool(exact), "n": n, "mean_se": 0.0 if exact else None, "quantile_ci95": None}
    ordered = np.sort(np.asarray(chance, dtype=np.float64))
    ci: dict[str, list[float]] = {}
    for q in quantiles:
        half = 1.959963984540054 * math.sqrt(n * q * (1 - q))
        lo, hi = max(0, math.floor(n * q - half)), min(n - 1, math.ceil(n * q + half))
        ci[f"q{round(100 * q):02d}"] = [float(ordered[lo]), float(ordered[hi])]
    std = stats.sample_std(ordered)
    return {
        "exact": False,
        "n": n,
        "mean_se": None if std is None else std / math.sqrt(n),
        "quantile_ci95": ci,
        "method": "pairs drawn uniformly with replacement: SE of the mean = std / sqrt(n); each quantile's 95% "
        "interval from the order statistics at n·q ± 1.96·sqrt(n·q·(1−q))",
    }


def flags_follow_difficulty(flagged_clip: np.ndarray, clip_means: np.ndarray) -> dict[str, Any]:
    """How far caption flags follow clip difficulty: the share of flagged captions in clips whose agreement
    is below the median clip's (about 0.5 if flags were independent of the clip's level)."""
    flagged_clip = np.asarray(flagged_clip, dtype=np.int64)
    if not flagged_clip.size or not clip_means.size:
        return {"flagged": int(flagged_clip.size), "in_clips_below_median": None, "share": None}
    below = clip_means < float(np.median(clip_means))
    k = int(below[flagged_clip].sum())
    return {
        "flagged": int(flagged_clip.size),
        "in_clips_below_median": k,
        "share": k / flagged_clip.size,
        "clips_below_median": int(below.sum()),
        "note": "a share near 1: the caption rule mostly finds hard clips (low agreement overall), not bad "
        "captions; the clip-relative rule (--caption-rule clip) scores each caption against its own clip",
    }
