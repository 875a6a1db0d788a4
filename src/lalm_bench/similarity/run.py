"""The listening probe: embed each item's answer with audio and with noise, compare them per ID.

Statistics (definitions in :mod:`lalm_bench.similarity.baselines`):

* ``overall`` / ``by_category``: the matched similarity ``cos(noise_i, audio_i)`` of every item;
* ``floor``: each item's noise answer against the other audio answers of its category (deterministic);
  a floor, not a "does not listen" null: items that share a question score far above it without
  listening;
* ``same_question``: the same against the other items with the same question text;
* ``listening`` (with ``--noise-file-2``): noise-vs-noise, the ignores-audio reference, and the
  listening gap: do the answers move when real audio replaces noise?
* ``content`` (with ``--mismatched-file`` and a reference run): does the model use *what* is in the audio?
  audio-vs-mismatched (the real clip against another item's clip) against the run-to-run reference
  (audio-vs-audio repeats with ``--audio-file-2``, else noise-vs-noise): a model that only notices that
  there is sound answers the same for any clip, so its content gap is 0;
* ``controls`` (with ``--condition C=FILE`` for silence, none, head:S …): audio-vs-C per control like
  audio-vs-noise, and the paired difference (audio-vs-C) − (audio-vs-noise) (:mod:`.controls`);
* ``identical``: the share of byte-identical answers in every comparison;
* every difference (``comparison``, ``same_question.comparison``, ``listening.listening_gap``) is the
  paired mean difference with its CI (the primary statistic) over exactly the items where both sides
  are defined, plus a Wilcoxon signed-rank test with Holm-adjusted p-values per category (secondary).

CIs come from :func:`lalm_bench.stats.mean_ci` (t below 30 values or clusters, bootstrap from 30,
none below 3), clustered by ``--cluster-column`` when given.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from lalm_bench.similarity.baselines import group_codes, listening, mean_to_others
from lalm_bench.similarity.config import SimilarityConfig
from lalm_bench.similarity.controls import CONTROLS_DEFINITION, controls_doc
from lalm_bench.similarity.inputs import (
    Inputs,
    Vectors,
    embed_inputs,
    identical_answers,
    load_inputs,
    question_groups,
)
from lalm_bench.similarity.probe import (
    Grouping,
    cluster_codes,
    nan_to_none,
    plain_value,
)

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from lalm_bench.embeddings.encoder import Embedder

FORMAT = "lalm-bench/similarity/3"

FLOOR_DEFINITION = (
    "each item's noise answer against the audio answers of every other item of its category, averaged "
    "(deterministic, no seed); categories with one item have none. A floor: answers to other questions "
    "of the same kind. It is not what a model that ignores the audio scores (see same_question, listening)"
)
SAME_QUESTION_DEFINITION = (
    "for each item whose question text and choices (whitespace runs collapsed, exact match) are shared with at "
    "least one other item: its noise answer against the audio answers of the other items with that question, "
    "averaged. What answering the same question about other audio scores. Items whose question matches "
    "--exclude-questions (templates whose real question is inside the audio) are left out"
)
CONTENT_DEFINITION = (
    "audio_vs_mismatched = cos(answer with the item's audio, answer with another item's audio); reference = "
    "cos(audio answer, a repeat of the audio run) with --audio-file-2, else cos(noise answer, second noise "
    "answer); content_gap = reference - audio_vs_mismatched per item. Near 0: the answer does not depend on "
    "which clip was sent (the model may still notice that there is sound: see listening); positive: another "
    "clip changes the answer more than a rerun does, i.e. the model uses what is in the audio"
)
LISTENING_DEFINITION = (
    "noise_vs_noise = cos(noise answer, second noise answer): what a model that ignores the audio produces; "
    "audio_vs_noise = mean of cos(audio answer, noise answer) and cos(audio answer, second noise answer); "
    "listening_gap = noise_vs_noise - audio_vs_noise per item. A gap near 0: the answers move with the "
    "audio no more than with the noise; a positive gap: the audio changes the answer more than a new noise does"
)
CHANCE_ALIAS_NOTE = "deprecated alias of 'floor' (format 1 name); removed in format 4"
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
    content: dict[str, Any]
    run_to_run: dict[str, Any] | None = None  # two or more noise runs: similarity.repeats.run_to_run
    controls: dict[str, Any] | None = None  # --condition silence=…, head:S=…: similarity.controls.controls_doc
    identical: dict[str, Any]
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

    t0 = time.perf_counter()
    inputs = load_inputs(config)
    owned = embedder is None
    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    vec = embed_inputs(inputs, embedder)
    if owned:
        embedder.close()  # the vectors are in memory; release the cache (its WAL is checkpointed)
    merged, n = inputs.merged, len(inputs.merged)
    categories = merged["category"].to_numpy(dtype=object)
    clusters, clustering = _clustering(config, merged)
    g = Grouping(categories, clusters, config.bootstrap, config.seed)
    matched = g.describe(vec.sims)
    per_item: dict[str, np.ndarray] = {"similarity": vec.sims}
    floor_doc, floor_stats, comparison = _floor(g, vec, categories, per_item)
    if inputs.question_column is None:
        same_question: dict[str, Any] = {
            "available": False,
            "column": None,
            "reason": "no question column (--question-column; the noise file has no 'question' column)"
            if config.question_column is None
            else "turned off (--question-column '')",
        }
    else:
        u = vec.enc.unique_embeddings
        questions, grouping = question_groups(config, merged)
        same_question = _same_question(g, inputs.question_column, questions, u, vec.noise, vec.audio, per_item)
        same_question.update(grouping)
    listening_doc = _listening(g, inputs, vec, per_item)
    run_to_run = _run_to_run(inputs, vec)
    content_doc = _content(g, inputs, vec, per_item)
    controls = _controls(g, inputs, vec, per_item)
    identical = identical_answers(inputs)
    tokens = vec.enc.token_counts
    tok2 = np.full(n, -1, dtype=np.int64)
    tok2[vec.rows2] = tokens[2 * n : 2 * n + vec.rows2.size]
    detailed = _detailed(
        merged["id"].tolist(),
        categories,
        per_item,
        merged["cluster"].tolist() if clusters is not None else None,
        tokens[:n],
        tokens[n : 2 * n],
        tok2 if inputs.text2 is not None else None,
    )
    manifest = _manifest(config, inputs, vec, embedder, time.perf_counter() - t0)
    return SimilarityResult(
        overall=matched["overall"],
        by_category=matched["by_category"],
        floor=floor_doc,
        chance={"note": CHANCE_ALIAS_NOTE, **floor_stats},
        comparison=comparison,
        same_question=same_question,
        listening=listening_doc,
        content=content_doc,
        run_to_run=run_to_run,
        controls=controls,
        identical=identical,
        clustering=clustering,
        matching=inputs.matching,
        detailed=detailed,
        manifest=manifest,
    )


def _clustering(config: SimilarityConfig, merged: pd.DataFrame) -> tuple[np.ndarray | None, dict[str, Any] | None]:
    if not config.cluster_column:
        return None, None
    clusters, missing = cluster_codes(merged["cluster"].to_numpy(dtype=object))
    return clusters, {
        "column": config.cluster_column,
        "n_clusters": int(np.unique(clusters).size),
        "items": len(merged),
        "items_without_label": missing,
        "largest_cluster": int(np.bincount(clusters).max()),
        "note": CLUSTER_NOTE,
    }


def _floor(
    g: Grouping, vec: Vectors, categories: np.ndarray, per_item: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The floor baseline per item and matched − floor (the floor's doc, its statistics, the comparison)."""
    floor, _ = mean_to_others(vec.enc.unique_embeddings, vec.noise, vec.audio, group_codes(categories))
    per_item["floor_similarity"] = floor
    floor_stats = g.describe(floor, "one item in this category: no other item to compare with")
    floor_doc: dict[str, Any] = {
        "definition": FLOOR_DEFINITION,
        "items": int((~np.isnan(floor)).sum()),
        "items_without": int(np.isnan(floor).sum()),
        "categories_without": [c for c in g.cats if int((categories == c).sum()) < 2],
        **floor_stats,
    }
    comparison = g.compare(vec.sims, floor, ("matched", "floor"), "one item in this category: no floor")
    comparison["definition"] = (
        "matched - floor over the items that have a floor; primary: the paired mean difference and its CI"
    )
    return floor_doc, floor_stats, comparison


def _listening(g: Grouping, inputs: Inputs, vec: Vectors, per_item: dict[str, np.ndarray]) -> dict[str, Any]:
    """Noise-vs-noise against audio-vs-noise, with a second noise run."""
    if inputs.text2 is None:
        return {
            "available": False,
            "reason": "no second noise run (--noise-file-2): the ignores-audio reference needs one",
        }
    n, rows2 = len(inputs.merged), vec.rows2
    lst = listening(vec.enc.unique_embeddings, vec.noise[rows2], vec.audio[rows2], vec.noise2)
    for key, vals in lst.items():
        per_item[key] = np.full(n, np.nan)
        per_item[key][rows2] = vals
    missing2 = "no item of this category in --noise-file-2"
    identical = inputs.matching["noise_2"]["identical_to_noise"]
    return {
        "available": True,
        "noise_file_2": str(inputs.noise2_path),
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


def _run_to_run(inputs: Inputs, vec: Vectors) -> dict[str, Any] | None:
    """The spread across the noise runs (``noise``, ``noise@1`` = --noise-file-2, ``noise@2`` …)."""
    if inputs.text2 is None:
        return None
    from lalm_bench.similarity.repeats import run_to_run

    n = len(inputs.merged)
    runs = {"noise": vec.noise}
    second = np.full(n, -1, dtype=np.int64)
    second[vec.rows2] = vec.noise2
    runs["noise@1"] = second
    for name, (rows, uniq) in vec.extra.items():
        if name.startswith("noise@"):
            runs[name] = np.full(n, -1, dtype=np.int64)
            runs[name][rows] = uniq
    return run_to_run(vec.enc.unique_embeddings, vec.audio, runs)


def _content(g: Grouping, inputs: Inputs, vec: Vectors, per_item: dict[str, np.ndarray]) -> dict[str, Any]:
    """Does the answer depend on which clip was sent? audio-vs-mismatched against the run-to-run reference."""
    if "mismatched" not in inputs.extra:
        return {
            "available": False,
            "reason": "no mismatched run (--mismatched-file: predict's mismatched condition, another item's audio)",
        }
    n, u = len(inputs.merged), vec.enc.unique_embeddings
    rows_m, uniq_m = vec.extra["mismatched"]
    avm = np.full(n, np.nan)
    avm[rows_m] = _cos(u, vec.audio[rows_m], uniq_m)
    per_item["audio_vs_mismatched"] = avm
    reference = (
        "audio_vs_audio" if "audio_2" in inputs.extra else "noise_vs_noise" if inputs.text2 is not None else None
    )
    missing = "no item of this category in --mismatched-file"
    doc: dict[str, Any] = {
        "available": reference is not None,
        "definition": CONTENT_DEFINITION,
        "mismatched_file": str(inputs.extra["mismatched"][0]),
        "audio_vs_mismatched": g.describe(avm, missing),
        "reference": reference,
    }
    if reference is None:
        doc["reason"] = (
            "no run-to-run reference: give --audio-file-2 (a repeat of the audio run) or --noise-file-2 (a second "
            "noise run); audio_vs_mismatched alone cannot tell a model that ignores the clip from a deterministic one"
        )
        return doc
    if reference == "audio_vs_audio":
        rows_a, uniq_a = vec.extra["audio_2"]
        ref = np.full(n, np.nan)
        ref[rows_a] = _cos(u, vec.audio[rows_a], uniq_a)
        per_item["audio_vs_audio"] = ref
        doc["audio_file_2"] = str(inputs.extra["audio_2"][0])
    else:
        ref = per_item["noise_vs_noise"]
    doc["reference_similarity"] = g.describe(ref, "no reference answer for this category")
    doc["content_gap"] = g.compare(ref, avm, (reference, "audio_vs_mismatched"), missing)
    return doc


def _controls(g: Grouping, inputs: Inputs, vec: Vectors, per_item: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """audio-vs-C for each control C, and its paired difference to audio-vs-noise (similarity.controls)."""
    n, u = len(inputs.merged), vec.enc.unique_embeddings
    found: dict[str, tuple[Path, np.ndarray, dict[str, Any]]] = {}
    audio_texts = inputs.merged["text_audio"].tolist()
    for name, (path, texts) in inputs.controls.items():
        rows, uniq = vec.controls[name]
        avc = np.full(n, np.nan)
        avc[rows] = _cos(u, vec.audio[rows], uniq)
        same = sum(audio_texts[k] == texts[k] for k in rows.tolist())
        found[name] = (path, avc, {**inputs.control_matching[name], "identical_to_audio": int(same)})
    return controls_doc(g, vec.sims, found, per_item)


def _cos(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip(np.einsum("ij,ij->i", u[a], u[b], dtype=np.float64), -1.0, 1.0)


def _manifest(
    config: SimilarityConfig, inputs: Inputs, vec: Vectors, embedder: Embedder, seconds: float
) -> dict[str, Any]:
    from lalm_bench.manifest import build_manifest

    enc, n = vec.enc, len(inputs.merged)
    truncated, tokens = enc.truncated, enc.token_counts
    truncation = {
        "max_seq_length": enc.max_seq_length,
        "noise": int(truncated[:n].sum()),
        "audio": int(truncated[n : 2 * n].sum()),
        "unique_texts": enc.n_unique,
        "max_tokens": int(tokens.max()) if n else 0,
        "note": "texts longer than max_seq_length were embedded from their first max_seq_length tokens",
    }
    if inputs.text2 is not None:
        truncation["noise_2"] = int(truncated[2 * n : 2 * n + vec.rows2.size].sum())
    start = 2 * n + vec.rows2.size
    for name, (present, _) in vec.extra.items():
        truncation[name] = int(truncated[start : start + present.size].sum())
        start += present.size
    for name, (present, _) in vec.controls.items():
        truncation[name] = int(truncated[start : start + present.size].sum())
        start += present.size
    return build_manifest(
        "similarity",
        config.parameters(),
        inputs=[
            p
            for p in (
                inputs.noise_path,
                inputs.audio_path,
                inputs.noise2_path,
                *(x[0] for x in inputs.extra.values()),
                *(x[0] for x in inputs.controls.values()),
            )
            if p is not None
        ],
        model=embedder.info(),
        truncation=truncation,
        baselines={
            "floor": FLOOR_DEFINITION,
            "same_question": SAME_QUESTION_DEFINITION,
            "listening": LISTENING_DEFINITION,
            "content": CONTENT_DEFINITION,
            **({"controls": CONTROLS_DEFINITION} if inputs.controls else {}),
            "question_column": inputs.question_column,
            "cluster_column": config.cluster_column,
        },
        wall_seconds=round(seconds, 3),
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
        row: dict[str, Any] = {"id": plain_value(item), "category": categories[k]}
        for key, values in per_item.items():
            if key == "same_question_items":
                row[key] = int(values[k])
            else:
                row[key] = nan_to_none(values[k])
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
