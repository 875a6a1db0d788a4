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
    leave_one_out,
    max_abs_z,
    z_rule,
)
from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.clotho_refs.inputs import InputPlan, plan_inputs

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.datasets.captions import CaptionTable
    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/clotho-refs/2"


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


def measure_agreement(
    table: CaptionTable, config: ClothoRefsConfig, embedder: Embedder, dataset: dict[str, Any] | None = None
) -> ClothoRefsResult:
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
    thr = float(config.z_threshold)
    q = float(config.chance_quantile)

    enc = embedder.encode(flat, desc="embedding captions")
    emb = enc.embeddings
    pair_clip, pi, pj, sims, cap_mean = clip_pair_similarities(emb, sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    a_rows, b_rows = starts[pair_clip] + pi, starts[pair_clip] + pj

    n_pairs_clip = sizes * (sizes - 1) // 2
    clip_sums = np.bincount(pair_clip, weights=sims, minlength=len(sizes))
    clip_means = clip_sums / n_pairs_clip

    ca, cb = chance_pairs(caption_clip, int(config.chance_cap), config.seed)
    chance = np.empty(ca.size, dtype=np.float64)
    for lo in range(0, ca.size, 8192):  # chunked: 100,000 gathered pairs would take ~300 MB at 384 dims
        chance[lo : lo + 8192] = np.einsum(
            "ij,ij->i", emb[ca[lo : lo + 8192]], emb[cb[lo : lo + 8192]], dtype=np.float64
        )
    np.clip(chance, -1.0, 1.0, out=chance)

    # rule 1: pair z (the seed's rule, kept for compatibility)
    z, low, high, pair_doc = z_rule(sims, thr, "pairs")
    flagged = low | high
    pair_doc["clips"] = int(np.unique(pair_clip[flagged]).size)
    pair_doc["finds"] = (
        "pairs far below (or above) the split's mean pair similarity, in units of its std. Not a tail "
        f"probability: the distribution is bounded by 1 and left-skewed, so |z| >= {thr:g} flags "
        f"{_pct(pair_doc.get('fraction_flagged'))} of the pairs here where a normal distribution would "
        f"put {_pct(_normal_tail(thr))} beyond it"
    )

    # rule 2: below a quantile of the chance distribution (as dissimilar as unrelated captions)
    rank = chance_rank(sims, chance)
    chance_doc = distribution(chance)
    cut = float(np.quantile(chance, q)) if chance.size else None
    below = rank < q if chance.size else np.zeros(sims.size, dtype=bool)
    chance_rule: dict[str, Any] = {
        "quantile": q,
        "threshold": cut,
        "definition": f"a pair is flagged when its similarity is below the {q:g} quantile of the chance "
        f"distribution (captions of different clips): a share {1 - q:.3g} of unrelated caption pairs are more "
        "similar than it, i.e. it is as dissimilar as unrelated captions (0.5: less similar than the typical "
        "unrelated pair). chance_rank in the pairs table: share of chance pairs below the pair's similarity",
        "pairs": int(below.sum()) if chance.size else None,
        "fraction": float(below.mean()) if chance.size and sims.size else None,
        "clips": int(np.unique(pair_clip[below]).size) if chance.size else None,
        "reason": None if chance.size else "no chance pairs (a single clip)",
    }

    # rule 3: clip-level outliers (each clip's mean pair similarity)
    clip_z = stats.zscores(clip_means)
    clip_rz = stats.robust_z(clip_means)
    with np.errstate(invalid="ignore"):
        clip_low = clip_rz <= -thr
        clip_low_z = clip_z <= -thr
    clip_doc: dict[str, Any] = {
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
        clip_doc["low"] = None
        clip_doc["reason"] = (
            f"{clip_means.size} clip(s): too few for a clip-level rule (needs {MIN_CLIPS})"
            if clip_means.size < MIN_CLIPS
            else "robust z undefined: more than half of the clips have the same mean similarity (MAD 0)"
        )
        clip_low = np.zeros_like(clip_low)
    if clip_means.size < 2 or np.isnan(clip_z).all() or max_abs_z(int(clip_means.size)) < thr:
        clip_doc["low_by_z"] = None

    # rule 4: captions (mean similarity to the other captions of the clip), and low-agreement clips
    cap_z, cap_low, _, cap_doc = z_rule(cap_mean, thr, "captions", low_only=True)
    loo = leave_one_out(cap_mean, sizes, clip_sums)
    flagged_per_clip = np.bincount(caption_clip[cap_low], minlength=len(sizes))
    low_agreement = flagged_per_clip >= 2
    cap_doc["clips_with_flagged_caption"] = int((flagged_per_clip >= 1).sum())
    cap_doc["low_agreement_clips"] = int(low_agreement.sum())
    cap_doc["captions_in_low_agreement_clips"] = int(flagged_per_clip[low_agreement].sum())
    cap_doc["single_flagged_captions"] = int((flagged_per_clip == 1).sum())
    if cap_doc["low"] is None:
        for key in ("clips_with_flagged_caption", "low_agreement_clips", "captions_in_low_agreement_clips"):
            cap_doc[key] = None
        cap_doc["single_flagged_captions"] = None
    cap_doc["z_definition"] += (
        "; the score is a caption's mean similarity to the other captions of its clip; flagged at z <= -threshold"
    )
    cap_doc["definition"] = (
        "a flagged caption alone in its clip is a likely bad reference (single_flagged_captions); a clip with "
        "two or more flagged captions is a low-agreement clip, not several bad references. leave_one_out: the "
        "caption's mean similarity to the others minus the mean similarity among the others (null with 2 captions)"
    )

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
            "chance_rank": rank,
            "below_chance": below,
        }
    )
    outliers = pairs[flagged].drop(columns=["chance_rank", "below_chance"]).copy()
    outliers["direction"] = np.where(low[flagged], "low", "high")
    outliers = outliers.sort_values("z", kind="stable").reset_index(drop=True)

    captions = pd.DataFrame(
        {
            clip_col: clip_names[caption_clip],
            "caption_index": flat_index,
            "caption": texts,
            "mean_similarity": cap_mean,
            "z": cap_z,
            "leave_one_out": loo,
            "clip_mean": clip_means[caption_clip],
            "captions_in_clip": sizes[caption_clip],
            "flagged_in_clip": flagged_per_clip[caption_clip],
            "low_agreement_clip": low_agreement[caption_clip],
        }
    )
    caption_outliers = captions[cap_low].sort_values("z", kind="stable").reset_index(drop=True)
    clips = pd.DataFrame(
        {
            clip_col: clip_names,
            "captions": sizes,
            "pairs": n_pairs_clip,
            "mean_similarity": clip_means,
            "z": clip_z,
            "robust_z": clip_rz,
            "clip_outlier": clip_low,
            "pair_outliers": np.bincount(pair_clip[flagged], minlength=len(sizes)),
            "pairs_below_chance": np.bincount(pair_clip[below], minlength=len(sizes)),
            "flagged_captions": flagged_per_clip,
            "low_agreement": low_agreement,
        }
    )

    overall = distribution(sims)
    q95 = chance_doc["quantiles"]["q95"]
    below95 = int((sims < q95).sum()) if q95 is not None else None
    ci = stats.cluster_mean_ci(
        clip_sums,
        n_pairs_clip.astype(np.float64),
        n_resamples=config.bootstrap,
        seed=config.seed,
        bounds=(-1.0, 1.0),
    )
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
        "ci95": None if ci["low"] is None else [ci["low"], ci["high"]],
        "ci_method": ci["method"],
        "ci_description": stats.CI_METHODS.get(ci["method"] or "", None),
        "ci_note": ci["reason"] if ci["low"] is None or ci["low"] == ci["high"] else None,
        "ci_clusters": ci["n_clusters"],
        "ci_resamples": config.bootstrap if ci["method"] == "cluster-bootstrap" else None,
        "clip_means": distribution(clip_means),
        "caption_means": distribution(cap_mean),
        "rules": {
            "pair_z": pair_doc,
            "chance_quantile": chance_rule,
            "clip": clip_doc,
            "caption": cap_doc,
        },
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
        },
        "mean_minus_chance": (
            overall["mean"] - chance_doc["mean"]
            if overall["mean"] is not None and chance_doc["mean"] is not None
            else None
        ),
        "pairs_below_chance_q95": {
            "count": below95,
            "fraction": below95 / sims.size if below95 is not None and sims.size else None,
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
    summary["format"] = FORMAT
    return ClothoRefsResult(pairs, outliers, caption_outliers, clips, summary, sims, chance)


def _normal_tail(threshold: float) -> float:
    """P(|Z| >= threshold) for a standard normal Z."""
    return math.erfc(threshold / math.sqrt(2.0))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"
