"""How an answer stands towards its pick: refusals (it cannot hear or judge), hedges (it guesses) and negated
mentions ("there is no rain", "the answer is not A"), which the rules of :mod:`.rules` consult."""

from __future__ import annotations

import re

import numpy as np

from lalm_bench.accuracy.answer_text import MARKDOWN, Choices, lower_text, strip_md

REFUSAL = re.compile(
    r"\bi\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|am\s+not\s+able\s+to|do\s+not|don't)\s+"
    r"(?:hear|listen|access|play|process|analy[sz]e|see|have\s+access)"
    r"|\bunable\s+to\s+(?:hear|listen|access|play|process)"
    r"|\bno\s+audio\b|\bwithout\s+(?:the\s+|any\s+)?audio\b|\bplease\s+provide\b|\bonce\s+you\s+provide\b"
    r"|\bi\s+need\s+(?:to\s+(?:hear|listen|know|see)\b|the\s+(?:actual\s+)?(?:audio|clips?|files?|urls?)\b)"
    r"|\baudio\s+(?:file|clip|content)?s?\s*(?:was|were|is|are|has|have)\s+not\s+(?:been\s+)?(?:provided|included)"
    r"|\b(?:impossible|not\s+possible)\s+to\s+(?:\w+ly\s+)?(?:determine|say|tell|answer|estimate|know|identify)"
    r"|\bcannot\s+(?:be\s+)?(?:definitively\s+)?(?:determined?|answered|confirmed)"
    r"|\bi\s+(?:cannot|can't)\s+(?:definitively\s+|confidently\s+)?(?:say|tell|answer|determine|choose|select)"
    r"|\b(?:correct\s+)?answer\s+is\s+not\s+(?:listed|among|one\s+of|available)"
)
# a choice that itself abstains ("Not enough information"): saying so is picking it, not refusing
ABSTAIN = re.compile(
    r"\b(?:not\s+enough\s+information|can(?:no|\s+no)?t\s+be\s+determined|cannot\s+tell|not\s+possible\s+to\s+tell|unknown)\b"
)
# "none of the options …" is a refusal unless a choice itself says "none of …"
NONE_OF_OPTIONS = re.compile(
    r"\bnone\s+of\s+the\s+(?:provided\s+|given\s+|listed\s+|available\s+)?(?:options|choices|answers|descriptions)\b"
    r"|\bneither\s+of\s+the\s+(?:options|choices)\b"
)
# a pick made while guessing or while saying the audio cannot be heard or judged is flagged ``hedged``
HEDGED = re.compile(
    r"\bi(?:'d|'ll|\s+would|\s+will|\s+could|\s+can|\s+have\s+to|\s+must)?\s+(?:only\s+)?guess\b"
    r"|\bmy\s+(?:best\s+)?guess\b|\b(?:educated|best|wild|random)\s+guess\b|\bspeculat(?:ive|ion)\b"
    r"|\bif\s+(?:i|we)\s+(?:had|have|must)\s+to\b|\bif\s+(?:i|we)\s+must\b|\bat\s+random\b"
    r"|\bsounds?\s+(?:like|as\s+if\s+it\s+is)\s+(?:\w+\s+){0,2}(?:noise|static|hiss)\b"
    r"|\b(?:only|just)\s+(?:\w+\s+)?(?:noise|static)\b"
    r"|\bi(?:'m|\s+am)\s+(?:not\s+(?:entirely\s+|completely\s+|100%\s+)?(?:sure|certain)|uncertain|unsure)\b"
    r"|\b(?:hard|difficult|impossible)\s+to\s+(?:tell|say|determine|be\s+(?:100%\s+)?(?:certain|sure))\b"
    r"|\bwithout\s+(?:the\s+|any\s+|hearing\s+(?:the\s+)?)?audio\b|\bno\s+audio\b"
    r"|\b(?:i|we)\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|are\s+unable\s+to)\s+(?:hear|listen\s+to)\s+"
    r"(?:it|the\s+(?:audio|sound|clip|recording))\b"
)
# a mention inside a negated clause is no pick: "there is no rain", "does not contain a cat", "the answer
# is not A" (from the cue to the clause's end; "no" only before a word, so the choice "No." is no cue) ...
NEGATED_BEFORE = re.compile(
    r"\b(?:not|never|without|neither|nor|none\s+of|absence\s+of|lack\s+of|rather\s+than|instead\s+of"
    r"|rules?\s+out|ruled\s+out|\w+n['’]t)\b(?!\s+(?:only|a\s+doubt|doubt)\b)"
    r"|\bno(?=\s+[a-z])(?!\s+(?:doubt|question)\b)",
    re.IGNORECASE,
)
# ... and a mention that the clause then denies: "Option (A) Yes is incorrect" (from the clause's start)
NEGATED_AFTER = re.compile(
    r"\s*(?:is|are|seems|appears|would\s+be|can\s+be)\s+(?:\w+ly\s+)?(?:incorrect|wrong|unlikely|false|ruled\s+out"
    r"|not\s+(?:correct|right|the\s+(?:answer|case)|likely|present|supported|heard|audible))\b",
    re.IGNORECASE,
)
CLAUSE_END = re.compile(r"[.;:!?\n]|,?\s+(?:but|whereas|however|while)\b", re.IGNORECASE)


def negated_spans(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that deny what they name (:data:`NEGATED_BEFORE`, :data:`NEGATED_AFTER`)."""
    spans = []
    for m in NEGATED_BEFORE.finditer(text):
        end = CLAUSE_END.search(text, m.end())
        spans.append((m.start(), end.start() if end else len(text)))
    for m in NEGATED_AFTER.finditer(text):
        starts = [x.end() for x in CLAUSE_END.finditer(text, 0, m.start())]
        spans.append((starts[-1] if starts else 0, m.end()))
    return spans


def split_negated(text: str) -> tuple[str, str]:
    """``text`` with its negated spans blanked, and the negated spans alone (blanks elsewhere)."""
    spans = negated_spans(text)
    if not spans:
        return text, ""
    mask = np.zeros(len(text), dtype=bool)
    for a, b in spans:
        mask[a:b] = True
    kept = "".join(" " if m else ch for ch, m in zip(text, mask, strict=True))
    denied = "".join(ch if m else " " for ch, m in zip(text, mask, strict=True))
    return kept, denied


def is_hedged(answer: str) -> bool:
    """Whether ``answer`` guesses or says it cannot hear or judge the audio (a pick in it is ``hedged``)."""
    return bool(HEDGED.search(strip_md(lower_text(answer))))


def refusal_at(low: str, cs: Choices) -> int | None:
    """Where the answer first says it cannot hear or judge (an index into ``low``), if it does.

    Never, when a choice itself abstains ("Not enough information"): saying so picks that choice."""
    if any(k and ABSTAIN.search(k) for k in cs.keys):
        return None
    flat = strip_md(low)
    hits = [m.start() for m in REFUSAL.finditer(flat)][:1]
    if not any(k and k.startswith(("none", "neither")) for k in cs.keys):
        hits += [m.start() for m in NONE_OF_OPTIONS.finditer(flat)][:1]
    if not hits:
        return None
    at, removed = min(hits), 0  # back from the markdown-free text to the answer's own index
    for m in MARKDOWN.finditer(low):
        if m.start() - removed > at:
            break
        removed += m.end() - m.start()
    return at + removed
