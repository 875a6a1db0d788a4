"""The listening probe: embed each item's answer with audio and with noise, compare them per ID.

Statistics (definitions in :mod:`lalm_bench.similarity.baselines`):

* ``overall`` / ``by_category``: the matched similarity ``cos(noise_i, audio_i)`` of every item;
* ``floor``: each item's noise answer against the other audio answers of its category (deterministic);
  a floor, not a "does not listen" null: items that share a question score far above it without
  listening;
* ``same_question``: the same against the other items with the same question text;
* ``listening`` (with ``--noise-file-2``): noise-vs-noise, the ignores-audio reference, and the
  listening gap;
* every difference (``comparison``, ``same_question.comparison``, ``listening.listening_gap``) is the
  paired mean difference with its CI (the primary statistic) over exactly the items where both sides
  are defined, plus a Wilcoxon signed-rank test with Holm-adjusted p-values per category (secondary).

CIs come from :func:`lalm_bench.stats.mean_ci` (t below 30 values or clusters, bootstrap from 30,
none below 3), clustered by ``--cluster-column`` when given.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from lalm_bench.errors import InputError
from lalm_bench.similarity.baselines import group_codes, listening, mean_to_others
from lalm_bench.similarity.config import SimilarityConfig
from lalm_bench.similarity.probe import (
    Grouping,
    _none,
    _plain,
    check_texts,
    check_texts_2,
    cluster_codes,
    load_predictions,
    match_predictions,
    match_second_noise,
)

if TYPE_CHECKING:
    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/similarity/2"
DEFAULT_QUESTION_COLUMN = "question"

FLOOR_DEFINITION = (
    "each item's noise answer against the audio answers of every other item of its category, averaged "
    "(deterministic, no seed); categories with one item have none. A floor: answers to other questions "
    "of the same kind. It is not what a model that ignores the audio scores (see same_question, listening)"
)
SAME_QUESTION_DEFINITION = (
    "for each item whose question text (whitespace runs collapsed, exact match) is shared with at least "
    "one other item: its noise answer against the audio answers of the other items with that question, "
    "averaged. What answering the same question about other audio scores"
)
LISTENING_DEFINITION = (
    "noise_vs_noise = cos(noise answer, second noise answer): what a model that ignores the audio produces; "
    "audio_vs_noise = mean of cos(audio answer, noise answer) and cos(audio answer, second noise answer); "
    "listening_gap = noise_vs_noise - audio_vs_noise per item. A gap near 0: the answers move with the "
    "audio no more than with the noise; a positive gap: the audio changes the answer more than a new noise does"
)
CHANCE_ALIAS_NOTE = "deprecated alias of 'floor' (format 1 name); removed in format 3"
CLUSTER_NOTE = (
    "CIs resample whole clusters (or use the cluster-robust t below 30 clusters); items without a label are "
    "clusters of their own. Wilcoxon p-values still treat items as independent: read the clustered CIs"
)


class SimilarityResult(BaseModel):
    """What ``similarity`` writes: matched statistics, baselines, paired comparisons, rows, manifest."""

    format: str = FORMAT
    overall: dict[str, Any]
    by_category: dict[str, dict[str, Any]]
    floor: dict[str, Any]
    chance: dict[str, Any]
    comparison: dict[str, Any]
    same_question: dict[str, Any]
    listening: dict[str, Any]
    clustering: dict[str, Any] | None
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
    extra = {k: c for k, c in (("question", config.question_column), ("cluster", config.cluster_column)) if c}
    optional = {"question": DEFAULT_QUESTION_COLUMN} if config.question_column is None else {}
    noise = load_predictions(
        Path(config.noise_file), config.id_column, config.text_column, config.category_column, True, extra, optional
    )
    q_col = (config.question_column or DEFAULT_QUESTION_COLUMN) if "question" in noise.frame.columns else None
    audio = load_predictions(
        Path(config.audio_file), config.id_column, config.text_column, config.category_column, False
    )
    merged, matching = match_predictions(noise, audio)
    matching["empty_texts"] = check_texts(merged, noise.path, audio.path, config.allow_empty)

    text2: np.ndarray | None = None
    noise2_path: Path | None = None
    if config.noise_file_2 is not None:
        noise2_path = Path(config.noise_file_2)
        if noise2_path.resolve() == noise.path.resolve():
            raise InputError(f"--noise-file-2 {noise2_path} is the --noise-file itself: give a second noise run")
        noise2 = load_predictions(noise2_path, config.id_column, config.text_column, config.category_column, False)
        text2, report2 = match_second_noise(merged, noise2)
        report2["empty_texts"] = check_texts_2(text2, noise2_path, config.allow_empty)
        has2 = np.array([t is not None for t in text2.tolist()], dtype=bool)
        report2["identical_to_noise"] = int(
            sum(t == u for t, u, h in zip(text2.tolist(), merged["text_noise"].tolist(), has2, strict=True) if h)
        )
        matching["noise_2"] = report2

    owned = embedder is None
    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    n = len(merged)
    texts = merged["text_noise"].tolist() + merged["text_audio"].tolist()
    rows2 = np.empty(0, dtype=np.int64)
    if text2 is not None:
        rows2 = np.flatnonzero(np.array([t is not None for t in text2.tolist()], dtype=bool))
        texts += [str(t) for t in text2[rows2].tolist()]
    enc = embedder.encode(texts)
    if owned:
        embedder.close()  # the vectors are in memory; release the cache (its WAL is checkpointed)
    u, inv = enc.unique_embeddings, enc.inverse
    rows = np.arange(n)
    noise_u, audio_u = inv[rows], inv[rows + n]
    sims = enc.cosines(rows, rows + n)
    categories = merged["category"].to_numpy(dtype=object)

    clusters: np.ndarray | None = None
    clustering: dict[str, Any] | None = None
    if config.cluster_column:
        clusters, missing = cluster_codes(merged["cluster"].to_numpy(dtype=object))
        clustering = {
            "column": config.cluster_column,
            "n_clusters": int(np.unique(clusters).size),
            "items": n,
            "items_without_label": missing,
            "largest_cluster": int(np.bincount(clusters).max()),
            "note": CLUSTER_NOTE,
        }

    g = Grouping(categories, clusters, config.bootstrap, config.seed)
    matched = g.describe(sims)
    floor, _ = mean_to_others(u, noise_u, audio_u, group_codes(categories))
    floor_stats = g.describe(floor, "one item in this category: no other item to compare with")
    floor_doc: dict[str, Any] = {
        "definition": FLOOR_DEFINITION,
        "items": int((~np.isnan(floor)).sum()),
        "items_without": int(np.isnan(floor).sum()),
        "categories_without": [c for c in g.cats if int((categories == c).sum()) < 2],
        **floor_stats,
    }
    comparison = g.compare(sims, floor, ("matched", "floor"), "one item in this category: no floor")
    comparison["definition"] = (
        "matched - floor over the items that have a floor; primary: the paired mean difference and its CI"
    )
    per_item: dict[str, np.ndarray] = {"similarity": sims, "floor_similarity": floor}
    if q_col is None:
        same_question: dict[str, Any] = {
            "available": False,
            "column": None,
            "reason": "no question column (--question-column; the noise file has no 'question' column)"
            if config.question_column is None
            else "turned off (--question-column '')",
        }
    else:
        same_question = _same_question(
            g, q_col, merged["question"].to_numpy(dtype=object), u, noise_u, audio_u, per_item
        )
    if text2 is None:
        listening_doc: dict[str, Any] = {
            "available": False,
            "reason": "no second noise run (--noise-file-2): the ignores-audio reference needs one",
        }
    else:
        lst = listening(u, noise_u[rows2], audio_u[rows2], inv[2 * n + np.arange(rows2.size)])
        for key, vals in lst.items():
            per_item[key] = np.full(n, np.nan)
            per_item[key][rows2] = vals
        missing2 = "no item of this category in --noise-file-2"
        identical = matching["noise_2"]["identical_to_noise"]
        listening_doc = {
            "available": True,
            "noise_file_2": str(noise2_path),
            "definition": LISTENING_DEFINITION,
            "items": int(rows2.size),
            "identical_to_noise": identical,
            "note": (
                "every answer of the second noise run equals the first: noise_vs_noise is 1 and the gap is "
                "1 - matched. Right for a model that no noise moves; check that --noise-file-2 is another run"
                if rows2.size and identical == rows2.size
                else None
            ),
            "noise_vs_noise": g.describe(per_item["noise_vs_noise"], missing2),
            "audio_vs_noise": g.describe(per_item["audio_vs_noise"], missing2),
            "listening_gap": g.compare(
                per_item["noise_vs_noise"], per_item["audio_vs_noise"], ("noise_vs_noise", "audio_vs_noise"), missing2
            ),
        }

    truncated = enc.truncated
    tokens = enc.token_counts
    tok2 = np.full(n, -1, dtype=np.int64)
    tok2[rows2] = tokens[2 * n :]
    detailed = _detailed(
        merged["id"].tolist(),
        categories,
        per_item,
        merged["cluster"].tolist() if clusters is not None else None,
        tokens[:n],
        tokens[n : 2 * n],
        tok2 if text2 is not None else None,
    )

    truncation = {
        "max_seq_length": enc.max_seq_length,
        "noise": int(truncated[:n].sum()),
        "audio": int(truncated[n : 2 * n].sum()),
        "unique_texts": enc.n_unique,
        "max_tokens": int(tokens.max()) if n else 0,
        "note": "texts longer than max_seq_length were embedded from their first max_seq_length tokens",
    }
    if text2 is not None:
        truncation["noise_2"] = int(truncated[2 * n :].sum())
    manifest = build_manifest(
        "similarity",
        config.parameters(),
        inputs=[p for p in (noise.path, audio.path, noise2_path) if p is not None],
        model=embedder.info(),
        truncation=truncation,
        baselines={
            "floor": FLOOR_DEFINITION,
            "same_question": SAME_QUESTION_DEFINITION,
            "listening": LISTENING_DEFINITION,
            "question_column": q_col,
            "cluster_column": config.cluster_column,
        },
        wall_seconds=round(time.perf_counter() - t0, 3),
    )
    return SimilarityResult(
        overall=matched["overall"],
        by_category=matched["by_category"],
        floor=floor_doc,
        chance={"note": CHANCE_ALIAS_NOTE, **floor_stats},
        comparison=comparison,
        same_question=same_question,
        listening=listening_doc,
        clustering=clustering,
        matching=matching,
        detailed=detailed,
        manifest=manifest,
    )


def _same_question(
    g: Grouping,
    column: str,
    questions: np.ndarray,
    u: np.ndarray,
    noise_u: np.ndarray,
    audio_u: np.ndarray,
    per_item: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The same-question baseline (adds its per-item values to ``per_item``)."""
    codes = group_codes(questions)
    same_q, sizes = mean_to_others(u, noise_u, audio_u, codes)
    per_item["same_question_similarity"] = same_q
    per_item["same_question_items"] = sizes
    group_sizes = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0, np.int64)
    none = "no item of this category shares its question text with another item"
    return {
        "available": True,
        "column": column,
        "definition": SAME_QUESTION_DEFINITION,
        "items": int((~np.isnan(same_q)).sum()),
        "groups": int((group_sizes >= 2).sum()),
        "largest_group": int(group_sizes.max()) if group_sizes.size else 0,
        "items_without_question": int((codes < 0).sum()),
        **g.describe(same_q, none),
        "comparison": g.compare(per_item["similarity"], same_q, ("matched", "same_question"), none),
        "above_floor": g.compare(same_q, per_item["floor_similarity"], ("same_question", "floor"), none),
    }


def _detailed(
    ids: list[Any],
    categories: np.ndarray,
    per_item: dict[str, np.ndarray],
    clusters: list[Any] | None,
    noise_tokens: np.ndarray,
    audio_tokens: np.ndarray,
    noise2_tokens: np.ndarray | None,
) -> list[dict[str, Any]]:
    """One row per item: its numbers (``null`` where undefined), cluster label and token counts."""
    rows = []
    for k, item in enumerate(ids):
        row: dict[str, Any] = {"id": _plain(item), "category": categories[k]}
        for key, values in per_item.items():
            if key == "same_question_items":
                row[key] = int(values[k])
            else:
                row[key] = _none(values[k])
            if key == "floor_similarity":
                row["chance_similarity"] = row[key]  # the format-1 name
        if clusters is not None:
            row["cluster"] = clusters[k]
        row["noise_tokens"] = int(noise_tokens[k])
        row["audio_tokens"] = int(audio_tokens[k])
        if noise2_tokens is not None:
            row["noise_2_tokens"] = None if noise2_tokens[k] < 0 else int(noise2_tokens[k])
        rows.append(row)
    return rows
