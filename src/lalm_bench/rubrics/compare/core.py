"""Stability of rubrics across generation runs (the core of ``lalm-bench rubrics compare``).

Criteria of two rubrics are matched one-to-one by embedding cosine: a Hungarian assignment on
``1 - cosine`` in which a criterion may stay unmatched instead of being force-matched, so that the
matching maximises the total excess of cosine over the threshold, and no pair below it is kept.
From the matches of each pair of rubrics: precision, recall, F1, soft Jaccard, Spearman
correlation of the matched weights, and the weight mass covered. Across all
rubrics: clusters of criteria (at most one per rubric) and the ones that survive in every run.

Texts are compared case- and whitespace-insensitively (normalised before embedding, each distinct
text embedded once). Undefined statistics are ``None``, never NaN. The matching threshold depends
on the embedding model's cosine scale; :func:`calibrate_threshold` chooses it on the paraphrase
calibration set shipped as ``calibration.json`` (see ``docs/rubrics-compare.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lalm_bench.errors import InputError
from lalm_bench.rubrics.compare.calibrate import (
    CALIBRATION_FILE,
    CALIBRATION_FORMAT,
    CALIBRATION_LABELS,
    calibrate_threshold,
    load_calibration,
)
from lalm_bench.rubrics.compare.match import (
    Encoder,
    Item,
    Match,
    as_items,
    check_threshold,
    cosine_matrix,
    embed_rubrics,
    encode_texts,
    match_rubrics,
    match_similarity,
    normalize_text,
    pair_metrics,
)
from lalm_bench.rubrics.compare.survival import SURVIVAL_RULE, growth_curve, survival

__all__ = [
    "CALIBRATION_FILE",
    "CALIBRATION_FORMAT",
    "CALIBRATION_LABELS",
    "SURVIVAL_RULE",
    "Encoder",
    "Item",
    "Match",
    "as_items",
    "calibrate_threshold",
    "compare_rubrics",
    "cosine_matrix",
    "embed_rubrics",
    "encode_texts",
    "growth_curve",
    "load_calibration",
    "match_rubrics",
    "match_similarity",
    "normalize_text",
    "pair_metrics",
    "survival",
]


def compare_rubrics(
    rubrics: Mapping[str, Sequence[Any]],
    embedder: Encoder,
    threshold: float | str | None = "auto",
    sensitivity: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Compare two or more rubrics (label -> criteria): every pair of inputs in the given order, the
    F1 matrix, and survival. ``threshold``: a cosine, or ``"auto"``/None for :func:`calibrate_threshold`
    with this embedder (its result is returned under ``threshold.calibration``).

    ``threshold.sensitivity``: the mean F1, Jaccard and matched count over all pairs at the threshold
    and at each of ``sensitivity`` (default with ``auto``: the ends of the calibration's bootstrap 95%
    interval), to show how much the figures depend on the threshold."""
    labels = list(rubrics)
    if len(labels) < 2:
        raise InputError(f"compare needs two or more rubrics, got {len(labels)}")
    items = {label: as_items(rubrics[label]) for label in labels}
    if threshold is None or (isinstance(threshold, str) and threshold.strip().lower() == "auto"):
        calibrated = calibrate_threshold(embedder)
        calibration: dict[str, Any] | None = calibrated
        t, source = float(calibrated["threshold"]), "auto"
    else:
        try:
            t = check_threshold(float(threshold))
        except ValueError as exc:
            raise InputError(f"--threshold must be a number or auto, got {threshold!r}") from exc
        calibration, source = None, "given"
    emb = embed_rubrics(items, embedder)

    pairs, matches = [], {}
    # the diagonal is 1 by construction (every criterion matches itself at cosine 1); None when empty
    f1: list[list[float | None]] = [
        [(1.0 if items[label] else None) if x == y else None for y in range(len(labels))]
        for x, label in enumerate(labels)
    ]
    for x in range(len(labels)):
        for y in range(x + 1, len(labels)):
            la, lb = labels[x], labels[y]
            matches[(la, lb)] = ms = match_rubrics(emb[la], emb[lb], t)
            metrics = pair_metrics(items[la], items[lb], ms)
            pairs.append({"a": la, "b": lb, **metrics})
            f1[x][y] = f1[y][x] = metrics["f1"]
    if sensitivity is None:
        sensitivity = (calibration or {}).get("threshold_ci95") or []
    checks = []
    for u in sorted({t, *(check_threshold(x) for x in sensitivity)}):
        runs = [
            pair_metrics(items[la], items[lb], ms if u == t else match_rubrics(emb[la], emb[lb], u))
            for (la, lb), ms in matches.items()
        ]
        checks.append(
            {
                "threshold": u,
                "mean_f1": _mean([r["f1"] for r in runs]),
                "mean_jaccard": _mean([r["jaccard"] for r in runs]),
                "mean_matched": _mean([r["matched"] for r in runs]),
            }
        )
    return {
        "rubrics": [
            {"label": label, "size": len(items[label]), "total_weight": sum(it.weight for it in items[label])}
            for label in labels
        ],
        "pairs": pairs,
        "f1_matrix": {"labels": labels, "values": f1},
        "survival": survival(items, emb, t, matches=matches),
        "threshold": {"value": t, "source": source, "calibration": calibration, "sensitivity": checks},
    }


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
