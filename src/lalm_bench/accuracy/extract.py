"""Which choice did a free-text answer pick? Rules first, then an embedding or LLM fallback.

The public names live here; the work is split by responsibility: :mod:`.extraction` (the record),
:mod:`.answer_text` (normalised texts), :mod:`.rules` (the rules), :mod:`.fallback` (embedding and LLM).

Every answer yields an :class:`Extraction` recording the method and rule that decided, so an
accuracy table can say how each item was read. An answer that nothing resolves is ``unparsed``:
it is reported, never scored as a guess (no random letter, no "A", no 3.0).

* :func:`extract_rules`: plain regular expressions (option letters and numbers, choice texts, the
  final statement); the precedence is in its docstring and in ``docs/accuracy-extraction.md``.
* :func:`extract_embedding`: the nearest choice by cosine with an :class:`~lalm_bench.embeddings.Embedder`,
  accepted above calibrated similarity and margin thresholds (:data:`DEFAULT_MIN_SIMILARITY`,
  :data:`DEFAULT_MIN_MARGIN`, calibrated for all-MiniLM-L6-v2 only).
* :class:`ChoicePick` / :func:`llm_pick_prompt` / :func:`pick_to_extraction`: a schema-constrained
  LLM pick.
"""

from __future__ import annotations

from lalm_bench.accuracy.extraction import (
    CALIBRATION_MODEL,
    DEFAULT_MIN_MARGIN,
    DEFAULT_MIN_SIMILARITY,
    FALLBACK_RULES,
    Extraction,
    Method,
    needs_fallback,
)
from lalm_bench.accuracy.fallback import (
    LLM_PICK_SYSTEM,
    LLM_PICK_TEMPLATE,
    PROMPT_VERSION,
    ChoicePick,
    answer_focus,
    extract_embedding,
    llm_pick_prompt,
    pick_to_extraction,
)
from lalm_bench.accuracy.rules import extract_rules

__all__ = [
    "CALIBRATION_MODEL",
    "DEFAULT_MIN_MARGIN",
    "DEFAULT_MIN_SIMILARITY",
    "FALLBACK_RULES",
    "LLM_PICK_SYSTEM",
    "LLM_PICK_TEMPLATE",
    "PROMPT_VERSION",
    "ChoicePick",
    "Extraction",
    "Method",
    "answer_focus",
    "extract_embedding",
    "extract_rules",
    "llm_pick_prompt",
    "needs_fallback",
    "pick_to_extraction",
]
