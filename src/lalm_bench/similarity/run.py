"""The listening probe: embed each item's answer with audio and with noise, compare them per ID."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from lalm_bench import stats
from lalm_bench.similarity.config import SimilarityConfig
from lalm_bench.similarity.probe import (
    _compare,
    _plain,
    chance_partners,
    check_texts,
    load_predictions,
    match_predictions,
    summarize,
)

if TYPE_CHECKING:
    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/similarity/1"


class SimilarityResult(BaseModel):
    """What ``similarity`` writes: statistics overall and per category, chance, tests, rows, manifest."""

    format: str = FORMAT
    overall: dict[str, Any]
    by_category: dict[str, dict[str, Any]]
    chance: dict[str, Any]
    comparison: dict[str, Any]
    matching: dict[str, Any]
    detailed: list[dict[str, Any]]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python")


def run_similarity(
    config: SimilarityConfig, *, embedder: Embedder | None = None, progress: bool = True
) -> SimilarityResult:
    """Run the listening probe (no files written)."""
    from lalm_bench.embeddings.options import build_embedder
    from lalm_bench.manifest import build_manifest

    t0 = time.perf_counter()
    noise = load_predictions(
        Path(config.noise_file), config.id_column, config.text_column, config.category_column, True
    )
    audio = load_predictions(
        Path(config.audio_file), config.id_column, config.text_column, config.category_column, False
    )
    merged, matching = match_predictions(noise, audio)
    matching["empty_texts"] = check_texts(merged, noise.path, audio.path, config.allow_empty)

    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    n = len(merged)
    enc = embedder.encode(merged["text_noise"].tolist() + merged["text_audio"].tolist())
    rows = np.arange(n)
    sims = enc.cosines(rows, rows + n)
    categories = merged["category"].to_numpy(dtype=object)

    partners = chance_partners(categories, config.seed)
    has_partner = partners >= 0
    chance = np.full(n, np.nan)
    chance[has_partner] = enc.cosines(rows[has_partner], partners[has_partner] + n)

    overall, by_category = summarize(sims, categories, config.bootstrap, config.seed)
    chance_overall, chance_by_cat = summarize(
        chance[has_partner], categories[has_partner], config.bootstrap, config.seed
    )
    comparison: dict[str, Any] = {"overall": _compare(sims[has_partner], chance[has_partner])}
    comparison["by_category"] = {
        cat: _compare(sims[has_partner & (categories == cat)], chance[has_partner & (categories == cat)])
        for cat in by_category
    }
    for cat in by_category:  # categories of one row have no mismatched partner
        chance_by_cat.setdefault(cat, stats.describe([], config.bootstrap, config.seed))

    truncated = enc.truncated
    detailed = [
        {
            "id": _plain(i),
            "category": c,
            "similarity": float(s),
            "chance_similarity": None if np.isnan(ch) else float(ch),
            "noise_tokens": int(tn),
            "audio_tokens": int(ta),
        }
        for i, c, s, ch, tn, ta in zip(
            merged["id"], categories, sims, chance, enc.token_counts[:n], enc.token_counts[n:], strict=True
        )
    ]
    manifest = build_manifest(
        "similarity",
        config.parameters(),
        inputs=[noise.path, audio.path],
        model=embedder.info(),
        truncation={
            "max_seq_length": enc.max_seq_length,
            "noise": int(truncated[:n].sum()),
            "audio": int(truncated[n:].sum()),
            "unique_texts": enc.n_unique,
            "max_tokens": int(enc.token_counts.max()) if n else 0,
            "note": "texts longer than max_seq_length were embedded from their first max_seq_length tokens",
        },
        chance_baseline=(
            "noise output of each item vs the audio output of another item of the same category "
            "(seeded derangement within category); categories with one item have none"
        ),
        wall_seconds=round(time.perf_counter() - t0, 3),
    )
    return SimilarityResult(
        overall=overall,
        by_category=by_category,
        chance={"overall": chance_overall, "by_category": chance_by_cat},
        comparison=comparison,
        matching=matching,
        detailed=detailed,
        manifest=manifest,
    )
