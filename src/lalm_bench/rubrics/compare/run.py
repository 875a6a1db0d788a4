"""``rubrics compare``: how stable rubrics are across runs (the core is :mod:`lalm_bench.rubrics.compare.core`).

Every input is loaded by :mod:`lalm_bench.rubrics.common.rubric_files`; the comparison (matching, pair metrics,
F1 matrix, survival, threshold) is :func:`~lalm_bench.rubrics.compare.core.compare_rubrics`; run folders
(and record lists) add their growth curve: the rubric size after each clip of the log. A failed clip
leaves the rubric as it was (its record carries the rubric unchanged), so it counts as a clip that
added nothing; the number of failed clips is reported beside the curve.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lalm_bench.errors import InputError
from lalm_bench.rubrics.common.rubric_files import LoadedRubric, load_rubrics
from lalm_bench.rubrics.compare.config import CompareConfig

if TYPE_CHECKING:
    from lalm_bench.rubrics.compare.core import Encoder

FORMAT = "lalm-bench/rubrics-compare/1"
GROWTH_NOTE = "a failed clip leaves the rubric unchanged: it counts as a clip that added nothing"


class CompareResult(BaseModel):
    """What ``rubrics compare`` writes (see ``docs/rubrics-compare.md``)."""

    format: str = FORMAT
    rubrics: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    f1_matrix: dict[str, Any]
    survival: dict[str, Any]
    growth: dict[str, Any]
    threshold: dict[str, Any]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python")


def parse_threshold(value: str | float) -> str | float:
    """``"auto"`` or a finite cosine in [-1, 1]."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise InputError(f"--threshold must be auto or a number, got {value!r}") from None
    if not math.isfinite(t) or not -1.0 <= t <= 1.0:
        raise InputError(f"--threshold must be auto or a cosine between -1 and 1, got {value!r}")
    return t


def load_inputs(config: CompareConfig) -> list[LoadedRubric]:
    """Every input rubric (checked before any model work)."""
    if len(config.inputs) < 2:
        raise InputError(f"rubrics compare needs two or more rubrics, got {len(config.inputs)}")
    parse_threshold(config.threshold)
    return load_rubrics(config.inputs)


def growth(rubrics: list[LoadedRubric]) -> dict[str, Any]:
    from lalm_bench.rubrics.compare.core import growth_curve

    curves = {
        r.label: {**growth_curve(r.sizes), "failed_clips": r.failed_clips} for r in rubrics if r.sizes is not None
    }
    return {"note": GROWTH_NOTE, "curves": curves}


def run_compare(
    config: CompareConfig,
    *,
    rubrics: list[LoadedRubric] | None = None,
    embedder: Encoder | None = None,
    progress: bool = True,
) -> CompareResult:
    """Load the inputs (unless given), embed, match, and return the result (no files written)."""
    from lalm_bench.embeddings.options import build_embedder
    from lalm_bench.manifest import build_manifest
    from lalm_bench.rubrics.compare.core import compare_rubrics

    t0 = time.perf_counter()
    rubrics = rubrics if rubrics is not None else load_inputs(config)
    owned = embedder is None
    if embedder is None:
        embedder = build_embedder(config.embedding, progress=progress)
    try:
        out = compare_rubrics({r.label: list(r.items) for r in rubrics}, embedder, parse_threshold(config.threshold))
    finally:
        if owned:
            embedder.close()  # type: ignore[union-attr]
    for entry, r in zip(out["rubrics"], rubrics, strict=True):
        entry.update(r.identity())
    info = getattr(embedder, "info", None)
    manifest = build_manifest(
        "rubrics compare",
        config.parameters(),
        inputs=[r.path for r in rubrics],
        model=info() if callable(info) else {"name": type(embedder).__name__},
        rubrics=[r.identity() for r in rubrics],
        threshold={k: v for k, v in out["threshold"].items() if k != "sensitivity"},
        wall_seconds=round(time.perf_counter() - t0, 3),
    )
    return CompareResult(
        rubrics=out["rubrics"],
        pairs=out["pairs"],
        f1_matrix=out["f1_matrix"],
        survival=out["survival"],
        growth=growth(rubrics),
        threshold=out["threshold"],
        manifest=manifest,
    )
