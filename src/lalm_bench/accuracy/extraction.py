"""What an extraction records: the choice read, the method and rule that decided, the thresholds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    pass


Method = Literal["rules", "embedding", "llm", "unparsed"]

#: Embedding acceptance thresholds, calibrated by ``benchmarks/extractor_calibration.py`` on the real
#: MMAU-Pro prediction files with :data:`CALIBRATION_MODEL`. Cosine scales differ between models: for
#: any other embedding model (e.g. the default BAAI/bge-base-en-v1.5) these numbers are not valid and
#: must be recalibrated with that script.
DEFAULT_MIN_SIMILARITY = 0.5
DEFAULT_MIN_MARGIN = 0.05
CALIBRATION_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: Unparsed rule verdicts that a fallback may still try: the rules found no option at all. A refusal
#: (``refusal``), an answer naming several options without deciding (``several-options``) or naming
#: options only to deny them (``negated``: "there is no rain", "the answer is not A") is a reading of
#: the answer, not a failure to read it, and stays unparsed.
FALLBACK_RULES = frozenset({"no-option"})


@dataclass(frozen=True)
class Extraction:
    """The choice read from one answer (0-based, ``None`` when unparsed) and how it was decided.

    ``rule`` names the rule that decided (``final-statement``, ``bold-option``, ``choice-text`` …)
    or, when unparsed, why nothing was read (``refusal``, ``several-options``, ``negated``,
    ``no-option``, ``empty``, ``below-threshold`` …). ``score`` and ``margin`` are the embedding
    fallback's best cosine and its lead over the second best. ``hedged``: a pick made while the answer
    guesses or says it cannot hear or judge the audio ("I would guess (A)", "sounds like noise. (B)")."""

    choice: int | None
    method: Method
    rule: str | None = None
    score: float | None = None
    margin: float | None = None
    hedged: bool = False

    @property
    def parsed(self) -> bool:
        return self.choice is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def needs_fallback(extraction: Extraction) -> bool:
    """Whether an :func:`extract_rules` result should go to the embedding or LLM fallback."""
    return extraction.method == "unparsed" and extraction.rule in FALLBACK_RULES


def unparsed_extraction(rule: str | None, score: float | None = None, margin: float | None = None) -> Extraction:
    return Extraction(None, "unparsed", rule, score, margin)
