"""Reference agreement: embed every caption once, compare the captions within each clip, find outliers.

The computations and the rules that flag disagreement (pair z, chance quantile, clip, caption) are
described in :mod:`lalm_bench.clotho_refs.agreement`; this module reads the captions, embeds them and
assembles the result.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats
from lalm_bench.clotho_refs.agreement import (
    MIN_CLIPS,
    chance_pairs,
    chance_rank,
    clip_pair_similarities,
    distribution,
    flags_follow_difficulty,
    leave_one_out,
    max_abs_z,
    monte_carlo_error,
    z_rule,
)
from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.clotho_refs.inputs import InputPlan, plan_inputs

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.datasets.captions import CaptionTable
    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/clotho-refs/3"


@dataclass
class ClothoRefsResult:
    """What ``clotho-refs`` writes: three tables and the summary (which carries ``format``)."""

    pairs: pd.DataFrame  # one row per caption pair
    outliers: pd.DataFrame  # pairs with |z| >= threshold, with direction
    caption_outliers: pd.DataFrame  # captions with z <= -threshold
    clips: pd.DataFrame  # one row per clip: mean pair similarity, its z and robust z, the flags of every rule
    summary: dict[str, Any]
    pair_similarities: np.ndarray = field(repr=False)
    chance_similarities: np.ndarray = field(repr=False)
    plan: InputPlan | None = field(default=None, repr=False)

    @property
    def format(self) -> str:
        return str(self.summary.get("format", FORMAT))


def run_clotho_refs(
    config: ClothoRefsConfig,
    *,
    plan: InputPlan | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> ClothoRefsResult:
    """Find and read the captions, then :func:`measure_agreement` (no files written)."""
    from lalm_bench.embeddings.options import build_embedder

    plan = plan or plan_inputs(config)
    config = replace(config, split=plan.label)
    table = plan.load(config)
    owned = embedder is None
    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    try:
        result = measure_agreement(table, config, embedder, plan.dataset)
    finally:
        if owned:
            embedder.close()
    result.plan = plan
    return result


@dataclass(frozen=True)
class _Captions:
    """Every caption of the table in clip order, with its embedding."""

    sizes: np.ndarray  # captions per clip
    clip_names: np.ndarray
    texts: np.ndarray
    index: np.ndarray  # each caption's position in its clip as listed
    clip: np.ndarray  # each caption's clip
    emb: np.ndarray
    n_unique: int
    truncation: dict[str, Any]


@dataclass(frozen=True)
class _Pairs:
    """Every within-clip caption pair: its clip, its rows in :class:`_Captions`, its similarity."""

    clip: np.ndarray
    a_rows: np.ndarray
    b_rows: np.ndarray
    sims: np.ndarray
    caption_mean: np.ndarray  # each caption's mean similarity to the others of its clip
    per_clip: np.ndarray  # pairs per clip
    clip_sums: np.ndarray
    clip_means: np.ndarray


def _embed(table: CaptionTable, embedder: Embedder) -> _Captions:
    sizes = np.asarray(table.sizes, dtype=np.int64)
    flat = [c for caps in table.captions for c in caps]
    enc = embedder.encode(flat, desc="embedding captions")
    return _Captions(
        sizes=sizes,
        clip_names=np.asarray(table.clips, dtype=object),
        texts=np.asarray(flat, dtype=object),
        index=np.asarray([n for idx in table.caption_index for n in idx], dtype=np.int64),
        clip=np.repeat(np.arange(len(sizes)), sizes),
        emb=enc.embeddings,
        n_unique=int(enc.n_unique),
        truncation=enc.truncation_report(),
    )


def _within_clips(c: _Captions) -> _Pairs:
    pair_clip, pi, pj, sims, cap_mean = clip_pair_similarities(c.emb, c.sizes)
    starts = np.concatenate([[0], np.cumsum(c.sizes)[:-1]])
    per_clip = c.sizes * (c.sizes - 1) // 2
    clip_sums = np.bincount(pair_clip, weights=sims, minlength=len(c.sizes))
    return _Pairs(
        pair_clip, starts[pair_clip] + pi, starts[pair_clip] + pj, sims, cap_mean, per_clip, clip_sums,
        clip_sums / per_clip,
    )  # fmt: skip


def _chance_similarities(c: _Captions, config: ClothoRefsConfig) -> np.ndarray:
    ca, cb = chance_pairs(c.clip, int(config.chance_cap), config.seed)
    chance = np.empty(ca.size, dtype=np.float64)
    for lo in range(0, ca.size, 8192):  # chunked: 100,000 gathered pairs would take ~300 MB at 384 dims
        hi = lo + 8192
        chance[lo:hi] = np.einsum("ij,ij->i", c.emb[ca[lo:hi]], c.emb[cb[lo:hi]], dtype=np.float64)
    return np.clip(chance, -1.0, 1.0, out=chance)


def _pair_z_rule(p: _Pairs, thr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Rule 1: pair z (the original scripts' rule, kept for compatibility)."""
    z, low, high, doc = z_rule(p.sims, thr, "pairs")
    doc["clips"] = int(np.unique(p.clip[low | high]).size)
    doc["finds"] = (
        "pairs far below (or above) the split's mean pair similarity, in units of its std. Not a tail "
        f"probability: the distribution is bounded by 1 and left-skewed, so |z| >= {thr:g} flags "
        f"{_pct(doc.get('fraction_flagged'))} of the pairs here where a normal distribution would "
        f"put {_pct(_normal_tail(thr))} beyond it"
    )
    return z, low, high, doc


def _chance_rule(p: _Pairs, chance: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Rule 2: below a quantile of the chance distribution (as dissimilar as unrelated captions)."""
    rank = chance_rank(p.sims, chance)
    below = rank < q if chance.size else np.zeros(p.sims.size, dtype=bool)
    doc: dict[str, Any] = {
        "quantile": q,
        "threshold": float(np.quantile(chance, q)) if chance.size else None,
        "definition": f"a pair is flagged when its similarity is below the {q:g} quantile of the chance "
        f"distribution (captions of different clips): a share {1 - q:.3g} of unrelated caption pairs are more "
        "similar than it, i.e. it is as dissimilar as unrelated captions (0.5: less similar than the typical "
        "unrelated pair). chance_rank in the pairs table: share of chance pairs below the pair's similarity",
        "pairs": int(below.sum()) if chance.size else None,
        "fraction": float(below.mean()) if chance.size and p.sims.size else None,
        "clips": int(np.unique(p.clip[below]).size) if chance.size else None,
        "reason": None if chance.size else "no chance pairs (a single clip)",
    }
    return rank, below, doc


def _clip_rule(clip_means: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Rule 3: clip-level outliers (each clip's mean pair similarity)."""
    clip_z = stats.zscores(clip_means)
    clip_rz = stats.robust_z(clip_means)
    with np.errstate(invalid="ignore"):
        clip_low = clip_rz <= -thr
        clip_low_z = clip_z <= -thr
    doc: dict[str, Any] = {
        "score": "robust z of each clip's mean pair similarity: (x - median) / (1.4826 · MAD) over the clips",
        "z_threshold": thr,
        "n": int(clip_means.size),
        "low": int(clip_low.sum()),
        "low_by_z": int(clip_low_z.sum()),
        "reason": None,
        "definition": "a clip is flagged when its robust z <= -threshold: its captions agree far less than "
        "those of a typical clip. The robust z is not inflated by the outliers it looks for; low_by_z counts "
        "the plain z (sample std) for comparison",
    }
    if clip_means.size < MIN_CLIPS or np.isnan(clip_rz).all():
        doc["low"] = None
        doc["reason"] = (
            f"{clip_means.size} clip(s): too few for a clip-level rule (needs {MIN_CLIPS})"
            if clip_means.size < MIN_CLIPS
            else "robust z undefined: more than half of the clips have the same mean similarity (MAD 0)"
        )
        clip_low = np.zeros_like(clip_low)
    if clip_means.size < 2 or np.isnan(clip_z).all() or max_abs_z(int(clip_means.size)) < thr:
        doc["low_by_z"] = None
    return clip_z, clip_rz, clip_low, doc


@dataclass(frozen=True)
class _CaptionFlags:
    z: np.ndarray
    low: np.ndarray
    leave_one_out: np.ndarray
    per_clip: np.ndarray  # flagged captions per clip
    low_agreement: np.ndarray  # clips with two or more flagged captions
    doc: dict[str, Any]


def _clip_relative_rule(loo: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Captions scored against their own clip: the robust z (over all captions) of the leave-one-out score,
    the caption's mean similarity to the others minus the mean similarity among the others."""
    rz = stats.robust_z(loo)
    with np.errstate(invalid="ignore"):
        low = rz <= -thr
    low = np.where(np.isnan(rz), False, low)
    doc: dict[str, Any] = {
        "rule": "clip",
        "z_threshold": thr,
        "n": int(np.count_nonzero(~np.isnan(loo))),
        "low": int(low.sum()),
        "total": int(low.sum()),
        "reason": None,
        "z_definition": "robust z over the captions of the split of leave_one_out, the caption's mean similarity to "
        "the other captions of its clip minus the mean similarity among those others: a caption is compared "
        "with its own clip's level, so hard clips (low agreement overall) are not flagged for being hard",
    }
    if np.isnan(rz).all():
        doc["low"] = doc["total"] = None
        doc["reason"] = "robust z undefined (fewer than 3 captions per clip, or MAD 0)"
    return rz, low, doc


def _caption_rule(c: _Captions, p: _Pairs, thr: float, rule: str = "split") -> _CaptionFlags:
    """Rule 4: captions (mean similarity to the other captions of the clip), and low-agreement clips."""
    loo = leave_one_out(p.caption_mean, c.sizes, p.clip_sums)
    if rule == "clip":
        cap_z, cap_low, doc = _clip_relative_rule(loo, thr)
    else:
        cap_z, cap_low, _, doc = z_rule(p.caption_mean, thr, "captions", low_only=True)
    per_clip = np.bincount(c.clip[cap_low], minlength=len(c.sizes))
    low_agreement = per_clip >= 2
    doc["clips_with_flagged_caption"] = int((per_clip >= 1).sum())
    doc["low_agreement_clips"] = int(low_agreement.sum())
    doc["captions_in_low_agreement_clips"] = int(per_clip[low_agreement].sum())
    doc["single_flagged_captions"] = int((per_clip == 1).sum())
    if doc["low"] is None:
        for key in ("clips_with_flagged_caption", "low_agreement_clips", "captions_in_low_agreement_clips"):
            doc[key] = None
        doc["single_flagged_captions"] = None
    if rule != "clip":
        doc["rule"] = "split"
        doc["z_definition"] += (
            "; the score is a caption's mean similarity to the other captions of its clip; flagged at z <= -threshold"
        )
    doc["follows_clip_difficulty"] = flags_follow_difficulty(c.clip[cap_low], p.clip_means)
    doc["definition"] = (
        "a flagged caption alone in its clip is a likely bad reference (single_flagged_captions); a clip with "
        "two or more flagged captions is a low-agreement clip, not several bad references. leave_one_out: the "
        "caption's mean similarity to the others minus the mean similarity among the others (null with 2 captions)"
    )
    return _CaptionFlags(cap_z, cap_low, loo, per_clip, low_agreement, doc)


def measure_agreement(
    table: CaptionTable, config: ClothoRefsConfig, embedder: Embedder, dataset: dict[str, Any] | None = None
) -> ClothoRefsResult:
    """Embed every caption (each distinct text once) and measure agreement within clips."""
    import pandas as pd

    t0 = time.perf_counter()
    thr = float(config.z_threshold)
    c = _embed(table, embedder)
    p = _within_clips(c)
    chance = _chance_similarities(c, config)
    z, low, high, pair_doc = _pair_z_rule(p, thr)
    flagged = low | high
    rank, below, chance_rule = _chance_rule(p, chance, float(config.chance_quantile))
    clip_z, clip_rz, clip_low, clip_doc = _clip_rule(p.clip_means, thr)
    cap = _caption_rule(c, p, thr, config.caption_rule)

    clip_col = table.clip_column
    pairs = pd.DataFrame(
        {
            clip_col: c.clip_names[p.clip],
            "i": c.index[p.a_rows],
            "j": c.index[p.b_rows],
            "caption_i": c.texts[p.a_rows],
            "caption_j": c.texts[p.b_rows],
            "similarity": p.sims,
            "z": z,
            "chance_rank": rank,
            "below_chance": below,
        }
    )
    outliers = pairs[flagged].drop(columns=["chance_rank", "below_chance"]).copy()
    outliers["direction"] = np.where(low[flagged], "low", "high")
    outliers = outliers.sort_values("z", kind="stable").reset_index(drop=True)
    captions = pd.DataFrame(
        {
            clip_col: c.clip_names[c.clip],
            "caption_index": c.index,
            "caption": c.texts,
            "mean_similarity": p.caption_mean,
            "z": cap.z,
            "leave_one_out": cap.leave_one_out,
            "clip_mean": p.clip_means[c.clip],
            "captions_in_clip": c.sizes[c.clip],
            "flagged_in_clip": cap.per_clip[c.clip],
            "low_agreement_clip": cap.low_agreement[c.clip],
        }
    )
    caption_outliers = captions[cap.low].sort_values("z", kind="stable").reset_index(drop=True)
    clips = pd.DataFrame(
        {
            clip_col: c.clip_names,
            "captions": c.sizes,
            "pairs": p.per_clip,
            "mean_similarity": p.clip_means,
            "z": clip_z,
            "robust_z": clip_rz,
            "clip_outlier": clip_low,
            "pair_outliers": np.bincount(p.clip[flagged], minlength=len(c.sizes)),
            "pairs_below_chance": np.bincount(p.clip[below], minlength=len(c.sizes)),
            "flagged_captions": cap.per_clip,
            "low_agreement": cap.low_agreement,
        }
    )
    rules = {"pair_z": pair_doc, "chance_quantile": chance_rule, "clip": clip_doc, "caption": cap.doc}
    summary = _summary(table, config, c, p, chance, rules, dataset)
    summary["manifest"] = _manifest(table, config, embedder, c, time.perf_counter() - t0)
    summary["format"] = FORMAT
    return ClothoRefsResult(pairs, outliers, caption_outliers, clips, summary, p.sims, chance)


def _summary(
    table: CaptionTable,
    config: ClothoRefsConfig,
    c: _Captions,
    p: _Pairs,
    chance: np.ndarray,
    rules: dict[str, dict[str, Any]],
    dataset: dict[str, Any] | None,
) -> dict[str, Any]:
    overall = distribution(p.sims)
    chance_doc = distribution(chance)
    q95 = chance_doc["quantiles"]["q95"]
    below95 = int((p.sims < q95).sum()) if q95 is not None else None
    not_above = {
        "count": below95,
        "fraction": below95 / p.sims.size if below95 is not None and p.sims.size else None,
        "definition": "within-clip pairs whose similarity is below the 95th percentile of the chance distribution: "
        "pairs that one unrelated caption pair in twenty beats, i.e. not clearly more alike than chance",
    }
    mc = monte_carlo_error(chance, exact=chance.size == _cross_pairs(c.sizes))
    ci = stats.cluster_mean_ci(
        p.clip_sums, p.per_clip.astype(np.float64), n_resamples=config.bootstrap, seed=config.seed, bounds=(-1.0, 1.0)
    )
    pair_doc, chance_rule, clip_doc, cap_doc = (rules[k] for k in ("pair_z", "chance_quantile", "clip", "caption"))
    return {
        "dataset": {**(dataset or {}), **table.describe()},
        "clips": len(c.sizes),
        "pairs": int(p.sims.size),
        "captions": int(c.sizes.sum()),
        "unique_captions": c.n_unique,
        "mean": overall["mean"],
        "std": overall["std"],
        "min": overall["min"],
        "max": overall["max"],
        "quantiles": overall["quantiles"],
        "ci95": None if ci["low"] is None else [ci["low"], ci["high"]],
        "ci_method": ci["method"],
        "ci_description": stats.CI_METHODS.get(ci["method"] or "", None),
        "ci_note": ci["reason"] if ci["low"] is None or ci["low"] == ci["high"] else None,
        "ci_clusters": ci["n_clusters"],
        "ci_resamples": config.bootstrap if ci["method"] == "cluster-bootstrap" else None,
        "clip_means": distribution(p.clip_means),
        "caption_means": distribution(p.caption_mean),
        "rules": rules,
        "counts": {
            "pair_z": pair_doc["total"],
            "pair_z_clips": pair_doc["clips"] if pair_doc["total"] is not None else None,
            "chance_quantile": chance_rule["pairs"],
            "clip": clip_doc["low"],
            "caption": cap_doc["low"],
            "low_agreement_clips": cap_doc["low_agreement_clips"],
        },
        "outliers": pair_doc,
        "caption_outliers": cap_doc,
        "chance": {
            **chance_doc,
            "seed": config.seed,
            "method": "captions of two different clips: every such pair when there are at most "
            f"{config.chance_cap}, else {config.chance_cap} drawn uniformly at random (seeded)",
            "monte_carlo": mc,
        },
        "mean_minus_chance": (
            overall["mean"] - chance_doc["mean"]
            if overall["mean"] is not None and chance_doc["mean"] is not None
            else None
        ),
        "pairs_not_above_chance_q95": not_above,
        "pairs_below_chance_q95": {**not_above, "note": "deprecated alias of pairs_not_above_chance_q95"},
    }


def _cross_pairs(sizes: np.ndarray) -> int:
    """The number of caption pairs from different clips."""
    total = int(sizes.sum())
    return (total * total - int((sizes.astype(np.int64) ** 2).sum())) // 2


def _manifest(
    table: CaptionTable, config: ClothoRefsConfig, embedder: Embedder, c: _Captions, seconds: float
) -> dict[str, Any]:
    from lalm_bench.manifest import build_manifest

    return build_manifest(
        "clotho-refs",
        config.parameters(),
        inputs=[table.path],
        model=embedder.info(),
        truncation=c.truncation,
        wall_seconds=round(seconds, 3),
    )


def _normal_tail(threshold: float) -> float:
    """P(|Z| >= threshold) for a standard normal Z."""
    return math.erfc(threshold / math.sqrt(2.0))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"
