"""Reference agreement: embed every caption once, compare the captions within each clip, find outliers.

For every clip with k >= 2 captions, all k(k-1)/2 caption pairs get the cosine similarity of their
normalized embeddings (Clotho: 5 captions, 10 pairs per clip). Statistics:

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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats
from lalm_bench.references.agreement import (
    Z_DEFINITION,
    chance_pairs,
    clip_pair_similarities,
    distribution,
)
from lalm_bench.references.config import ReferenceConfig
from lalm_bench.references.inputs import InputPlan, plan_inputs

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.datasets.captions import CaptionTable
    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/clotho-refs/1"


@dataclass
class ReferencesResult:
    """What ``clotho-refs`` writes: three tables and the summary (which carries ``format``)."""

    pairs: pd.DataFrame  # one row per caption pair
    outliers: pd.DataFrame  # pairs with |z| >= threshold, with direction
    caption_outliers: pd.DataFrame  # captions with z <= -threshold
    summary: dict[str, Any]
    pair_similarities: np.ndarray = field(repr=False)
    chance_similarities: np.ndarray = field(repr=False)
    plan: InputPlan | None = field(default=None, repr=False)

    @property
    def format(self) -> str:
        return str(self.summary.get("format", FORMAT))


def run_references(
    config: ReferenceConfig,
    *,
    plan: InputPlan | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> ReferencesResult:
    """Find and read the captions, then :func:`measure_agreement` (no files written)."""
    from lalm_bench.embeddings.options import build_embedder

    plan = plan or plan_inputs(config)
    config = replace(config, split=plan.label)
    table = plan.load(config)
    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    result = measure_agreement(table, config, embedder, plan.dataset)
    result.plan = plan
    return result


def measure_agreement(
    table: CaptionTable, config: ReferenceConfig, embedder: Embedder, dataset: dict[str, Any] | None = None
) -> ReferencesResult:
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
        "ci95": stats.cluster_bootstrap_ci(clip_sums, n_pairs_clip.astype(np.float64), config.bootstrap, config.seed),
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
            overall["mean"] - chance_d["mean"] if overall["mean"] is not None and chance_d["mean"] is not None else None
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
    summary["format"] = FORMAT
    return ReferencesResult(pairs, outliers, caption_outliers, summary, sims, chance)
