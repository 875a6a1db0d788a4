"""The rules that read an answer's pick: option forms, decision statements, refusals (:func:`extract_rules`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass

from lalm_bench.accuracy.answer_text import LETTERS, Choices, lower_text, prepare, strip_md, text_tokens
from lalm_bench.accuracy.extraction import Extraction, unparsed_extraction
from lalm_bench.accuracy.stance import is_hedged, refusal_at, split_negated

_OPTION_WORD = re.compile(
    r"\b(?:option|choice)\s*(?:is\s+|number\s+|no\.\s*|#\s*)?\(?(\d{1,2}|(?-i:[A-Z]))\)?(?!\w|\.\d)",
    re.IGNORECASE,
)
_PAREN = re.compile(r"(?<![\w.,/&+\-])\(?(\d{1,2}|[A-Z])\)(?![\w\-])")
_WORD_BEFORE = re.compile(r"([A-Za-z]+)[ \t]?\(?$")
# words after which "3)" still reads as an option ("the answer is 3)", "either 2) or 3)"); after any
# other word it belongs to a name or a count ("song 3)", "(Speaker 2)")
_MARKER_AFTER = frozenset(
    "is are be was were answer option choice select choose pick and or either between towards toward with "  # noqa: SIM905
    "likely probably correct then thus therefore so hence definitely clearly".split()
)
_FILLER = re.compile(
    r"^(?:\s|[:=,]|\b(?:likely|probably|most|definitely|clearly|thus|then|therefore|the|number|"
    r"option|choice|answer|correct|is)\b)*",
    re.IGNORECASE,
)
# a bare number or letter is an option only when nothing but punctuation or a reason follows it
# ("the answer is 2.", "answer: B because …"), not in "the answer is 3 asking and 5 answering"
_BARE = re.compile(
    r"\(?(\d{1,2}|[A-Z])\)?(?:[.:,;!)]+(?:\s.*)?|\s+(?:because|since|as|which|[-–—(]).*|\s*)$", re.DOTALL
)


def _option_index(token: str, cs: Choices) -> int | None:
    """A 1-based number or a letter as a 0-based index; ``None`` out of range or with letters off."""
    if token.isdigit():
        k = int(token)
        return k - 1 if 1 <= k <= cs.n else None
    if cs.letters and len(token) == 1 and token.isupper():
        k = LETTERS.index(token)
        return k if k < cs.n else None
    return None


def _refs(text: str, cs: Choices, *, strong: bool, decision: bool) -> set[int]:
    """Indices of the options ``text`` names.

    Explicit option forms (``option 3``, ``3)``, ``(B)``) are read and masked first; then choice
    texts (longest first, so a choice inside a longer one does not win; numbers inside a choice text
    stay part of it); then, in a decision statement, a bare number or letter right after the cue,
    unless some choice is a number (a bare number is then matched as that choice's text, a value)."""
    plain = strip_md(text)
    found: set[int] = set()

    def take(m: re.Match[str]) -> str:
        idx = _option_index(m.group(1), cs)
        if idx is not None:
            found.add(idx)
        return " " * len(m.group(0))

    def take_paren(m: re.Match[str]) -> str:
        before = _WORD_BEFORE.search(m.string, max(0, m.start() - 30), m.start())
        if before and before.group(1).lower() not in _MARKER_AFTER:
            return m.group(0)
        return take(m)

    rest = _PAREN.sub(take_paren, _OPTION_WORD.sub(take, plain))
    pattern = cs.strong_re if strong else cs.free_re
    if pattern is not None:
        for m in pattern.finditer(text_tokens(rest, ordinals=not cs.numeric)):
            idx = cs.lookup.get(m.group(0).lower())
            if idx is not None:
                found.add(idx)
    if decision and not found and not cs.numeric:
        bare = _BARE.match(rest, _FILLER.match(rest).end())  # type: ignore[union-attr]
        if bare:
            idx = _option_index(bare.group(1), cs)
            if idx is not None:
                found.add(idx)
    return found


# -- the answer's structure ----------------------------------------------------------------------
# Cue patterns are lower case and run on the lower-cased answer.
STRONG_CUE = re.compile(
    r"\b(?:answer|option|choice|response|selection|description|statement)\b(?:\s+(?:choice|option))?"
    r"(?:,[^,.\n]{1,60},|\s+(?:based\s+on|for|to|given|in|among|from)\b[^,.\n]{1,60}?)?\**\s*\**"
    r"(?:would\s+be|should\s+be|must\s+be|will\s+be|is|=|:|remains|seems\s+to\s+be|appears\s+to\s+be)"
    r"|\bi(?:'d|'ll|\s+would|\s+will)?\s+(?:choose|select|pick|go\s+with|opt\s+for)\b"
    r"|\bi(?:'d|\s+would|'m|\s+am)?\s+(?:lean|leaning)\s+(?:\w+\s+)?towards?\b"
    r"|\bmy\s+(?:best\s+)?guess\s+(?:is|would\s+be)\b"
    r"|\bi(?:'d|\s+would|\s+will|'ll)?\s+(?:have\s+to\s+)?guess\b"
    r"|\bif\s+i\s+[*_]*(?:had|have)[*_]*\s+to\s+(?:make\s+a\s+)?[*_]*(?:guess|choose|pick|select)\b[^,.\n]{0,40},?"
    r"|\bfinal\s+answer\b"
)
# "each option is", "this option is incorrect", "the other options:" are not decisions
NOT_A_DECISION = re.compile(r"\b(?:each|other|these|every|this|that|any|an|one|no)\s+$")
# "X is the most likely answer": the option is named before the cue, in the same sentence
_REVERSED_CUE = re.compile(
    r"\b(?:is|are|seems|appears|remains)\s+(?:to\s+be\s+)?(?:the\s+|my\s+)?"
    r"(?:(?:most|more)\s+\w+|correct|best|right|likely|final|only|closest)(?:\s+and\s+(?:most\s+)?\w+)?\s+"
    r"(?:answer|option|choice|description|statement)\b"
)
WEAK_CUE = re.compile(
    r"\b(?:therefore|thus|hence|in\s+conclusion|in\s+summary|to\s+summarize|overall|ultimately|consequently)\b"
)
_BOXED = re.compile(r"\\boxed\{\s*((?:[^{}]|\{[^{}]*\})*)\}")
SENTENCE_START = re.compile(r"[.!?]\s|\n")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_LEAD = re.compile(r"[\s:*_]*")
_NEGATION = re.compile(r",?\s+(?:not|rather\s+than|instead\s+of|as\s+opposed\s+to|but)\b", re.IGNORECASE)
_NEGATIVE_START = re.compile(
    r"^[\s*_:]*(?:\w+ly\s+)?(?:not|incorrect|wrong|unlikely|less\s+likely|false|ruled\s+out)\b", re.IGNORECASE
)
_HEDGE = re.compile(r"\*\*[^*\n]+\*\*,?\s+or\s+(?:an?\s+|the\s+)?\*\*", re.IGNORECASE)  # "**X** or **Y**"
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_BOLD_NUMBER = re.compile(r"\*\*\s*(\d+)(?:\s+\w+)?\s*\*\*")
_BULLET = re.compile(r"^\s*(?:[*\-•+]\s|\d{1,2}\.\s|#+\s)")
_MARKER_LINE = re.compile(r"^\s*\**\s*\(?(?:\d{1,2}|[A-Z])[).]")
_QUOTE = re.compile(r"\"[^\"\n]*\"|“[^”\n]*”")


def _unquote(line: str) -> str:
    """``line`` without its long quotes (of the audio, of lyrics), unless a quote is itself bold."""

    def drop(m: re.Match[str]) -> str:
        bold = line[max(0, m.start() - 2) : m.start()] == "**" and line[m.end() : m.end() + 2] == "**"
        return m.group(0) if len(m.group(0)) < 27 or bold else " "

    return _QUOTE.sub(drop, line)


_UNNAMED = -1  # stands for an alternative the statement offers that is not one of the choices


def decision_scope(text: str, start: int) -> tuple[int, int]:
    """Span of the statement after a cue: to the end of its sentence or line, a bold span kept whole."""
    begin = _LEAD.match(text, start).end()  # type: ignore[union-attr]
    line_start = text.rfind("\n", 0, begin) + 1
    limit = min(len(text), begin + 800)
    for end in _SENTENCE_END.finditer(text, begin, limit):
        if end.start() == begin:
            continue
        if end.group(0) == "\n" or text.count("**", line_start, end.start()) % 2 == 0:
            return begin, end.start()
    return begin, limit


def _decide(scope: str, cs: Choices, before: str = "", option_cue: bool = False) -> set[int]:
    """Options named by the decision statement ``scope``; ``before`` is the answer's text before it,
    ``option_cue`` whether the cue itself says "option" or "choice" ("the correct option is **4**")."""
    if _NEGATIVE_START.match(scope):
        return set()
    found = _refs(scope, cs, strong=True, decision=True)
    if len(found) > 1:  # "the answer is 2) X, not 3) Y"
        cut = _NEGATION.search(scope)
        if cut:
            head = _refs(scope[: cut.start()], cs, strong=True, decision=True)
            if len(head) == 1:
                return head
    if len(found) == 1 and _HEDGE.search(scope):
        return found | {_UNNAMED}
    if cs.numeric and len(found) == 1:
        # with numeric choices a bare number is a value, except after "the correct option is" and when the
        # answer stated option N's value, and never N itself, before: "**3 years** … the correct answer is
        # **2**" with choices ["half a year", "3", "2", "1"] reads option 2
        plain = strip_md(scope)
        bare = _BARE.match(plain, _FILLER.match(plain).end())  # type: ignore[union-attr]
        if bare and bare.group(1).isdigit():
            opt = _option_index(bare.group(1), cs)
            if opt is not None and opt not in found and cs.keys[opt]:
                if option_cue:
                    return {opt}
                stated = {m.group(1) for m in _BOLD_NUMBER.finditer(before)}
                if cs.keys[opt] in stated and bare.group(1) not in stated:
                    return {opt}
    return found


def opens_list(answer: str, end: int) -> bool:
    """The cue ends its line and a list follows ("you can choose the correct option:\\n* 1) …")."""
    nl = answer.find("\n", end)
    if nl < 0 or answer[end:nl].strip(" \t:*_"):
        return False
    following = [x for x in answer[nl:].split("\n", 6)[1:] if x.strip()][:2]
    if not following:
        return False
    if _BULLET.match(following[0]):
        return True
    return (
        bool(_MARKER_LINE.match(following[0]))
        and len(following) > 1
        and bool(_MARKER_LINE.match(following[1]) or _BULLET.match(following[1]))
    )


@dataclass(frozen=True)
class _Statement:
    start: int  # where the cue starts in the answer
    span: tuple[int, int]  # the statement's text, cue included
    found: frozenset[int]


def _statements(answer: str, low: str, cs: Choices, cue: re.Pattern[str]) -> list[_Statement]:
    out = []
    for m in cue.finditer(low):
        if NOT_A_DECISION.search(low, max(0, m.start() - 8), m.start()) or opens_list(answer, m.end()):
            continue
        begin, end = decision_scope(answer, m.end())
        option_cue = "option" in m.group(0) or "choice" in m.group(0)
        found = _decide(answer[begin:end], cs, answer[: m.start()], option_cue)
        if found:
            out.append(_Statement(m.start(), (m.start(), end), frozenset(found)))
    return out


def _reversed_statements(answer: str, low: str, cs: Choices) -> list[_Statement]:
    out = []
    for m in _REVERSED_CUE.finditer(low):
        lo = max(0, m.start() - 600)
        # the sentence holding the cue; a full stop inside a bold choice text does not end it
        starts = [x.end() for x in SENTENCE_START.finditer(low, lo, m.start())]
        starts = [p for p in starts if low.count("**", p, m.start()) % 2 == 0]
        begin = starts[-1] if starts else lo
        found = _refs(answer[begin : m.start()], cs, strong=True, decision=False)
        if found:
            out.append(_Statement(m.start(), (begin, m.end()), frozenset(found)))
    return out


def _final_statements(answer: str, low: str, cs: Choices) -> list[_Statement]:
    """Decision statements (strong cues, reversed cues, ``\\boxed{}``) in the answer, in text order."""
    found = _statements(answer, low, cs, STRONG_CUE) + _reversed_statements(answer, low, cs)
    for m in _BOXED.finditer(answer):
        f = _decide(m.group(1), cs, answer[: m.start()])
        if f:
            found.append(_Statement(m.start(), m.span(), frozenset(f)))
    return sorted(found, key=lambda s: s.start)


def prose_lines(answer: str) -> list[tuple[int, str]]:
    """(offset, line) of the lines that are not list items (bullets, numbered lists, runs of ``N)`` lines)."""
    lines = answer.split("\n")
    offsets = np.cumsum([0] + [len(x) + 1 for x in lines[:-1]])
    marker = [bool(_MARKER_LINE.match(x)) for x in lines]
    bullet = [bool(_BULLET.match(x)) for x in lines]
    nonempty = [i for i, x in enumerate(lines) if x.strip()]
    out = []
    for pos, i in enumerate(nonempty):
        if bullet[i]:
            continue
        if marker[i]:
            prev = nonempty[pos - 1] if pos > 0 else None
            nxt = nonempty[pos + 1] if pos + 1 < len(nonempty) else None
            if any(j is not None and (marker[j] or bullet[j]) for j in (prev, nxt)):
                continue
        out.append((int(offsets[i]), lines[i]))
    return out


def _whole(answer: str, cs: Choices) -> int | None:
    """The answer is nothing but an option (``B``, ``(2)``, ``**2) text**``, the text of a choice)."""
    if len(answer) > 400 or "\n" in answer.strip():
        return None
    plain = strip_md(answer).strip().strip(".!:;,\"' ")
    if not plain:
        return None
    found = _refs(plain, cs, strong=True, decision=True)
    if len(found) != 1:
        return None
    idx = next(iter(found))
    rest = text_tokens(_PAREN.sub(" ", _OPTION_WORD.sub(" ", plain))).lower().split()
    key = (cs.keys[idx] or "").split()
    if key and rest[: len(key)] == key:
        rest = rest[len(key) :]
    return idx if len(rest) <= 1 else None


def extract_rules(answer: str | None, choices: Sequence[str]) -> Extraction:
    """Read the option ``answer`` picks among ``choices`` with rules alone (:func:`_extract_rules`), a pick
    flagged ``hedged`` where the answer guesses or says it cannot hear or judge the audio."""
    ex = _extract_rules(answer, choices)
    if ex.parsed and answer is not None and (ex.rule == "refusal-final-statement" or is_hedged(answer)):
        return replace(ex, hedged=True)
    return ex


def _extract_rules(answer: str | None, choices: Sequence[str]) -> Extraction:
    """Read the option ``answer`` picks among ``choices`` with rules alone (method ``rules`` or ``unparsed``).

    Precedence (the first rule that applies decides; ``rule`` names it):

    1. ``whole-answer``: the answer is only an option: ``B``, ``(B)``, ``2.``, ``**2) text**``, a choice.
    2. ``final-statement``: the last decision statement that names an option overrides every earlier
       mention: ``the (correct) answer/option is …``, ``Final Answer``, ``\\boxed{…}``, ``I choose …``,
       ``I'd lean towards …``, ``X is the most likely answer``. If it names several options (``1) or
       3)``, ``**X** or **Y**``) the answer is unparsed (``several-options``); a statement that
       starts with "not"/"incorrect" or opens a list of options is no decision.
    3. ``conclusion``: the last ``Therefore / Thus / In conclusion …`` sentence outside lists,
       naming one option.
    4. ``bold-option``: the first non-list line with bold text naming an option (lists and quotes
       are skipped: they discuss rejected options or quote the audio); two options there: unparsed.
    5. ``option-marker`` / ``choice-text``: option forms or the text of exactly one choice in the
       non-list lines. Short or generic choices (``2``, ``A``, ``yes``, ``left``) count only in 1–4.

    A refusal ("I cannot hear the audio", "impossible to determine", "none of the options …"): a
    decision statement after it still picks (rule ``refusal-final-statement``), a pick made before
    it (rules 3–4) stands, anything else is unparsed (``refusal``). Where a choice itself abstains
    ("Not enough information") refusal phrases are not refusals: they pick that choice.

    Within a statement, ``3)``, ``(3)``, ``option 3``, ``(B)`` are option numbers or letters (1-based,
    in choice order), the verbatim text of a choice (case, spacing and punctuation normalised) is that
    choice, and a bare number is an option number unless some choice is itself a number: then it is
    that choice's value (``the answer is **3**`` with choices ``["1", "3", "0"]`` reads ``"3"``) —
    except after "the correct option is", and when the answer stated option N's value before and
    never N (``**3 years** … the answer is **2**`` with ``["half a year", "3", "2", "1"]`` reads
    option 2). Letters are off when a choice is itself a letter (musical keys, ``"A, C"``).
    """
    if answer is None or not answer.strip():
        return unparsed_extraction("empty")
    if len(choices) == 0:
        return unparsed_extraction("no-choices")
    cs = prepare(tuple("" if c is None else str(c) for c in choices))
    whole = _whole(answer, cs)
    if whole is not None:
        return Extraction(whole, "rules", "whole-answer")
    low = lower_text(answer)
    refusal = refusal_at(low, cs)
    final = _final_statements(answer, low, cs)
    if final:
        found = final[-1].found
        if len(found) == 1:
            rule = "refusal-final-statement" if refusal is not None and refusal < final[-1].start else "final-statement"
            return Extraction(next(iter(found)), "rules", rule)
        return unparsed_extraction("several-options")
    # below, a pick counts only where the answer makes it before any refusal ("2) X ... without hearing
    # the original it's impossible to say" picks 2; "I cannot determine ... 1) first: if ..." picks nothing)
    before = len(answer) if refusal is None else refusal
    prose = [(at, _unquote(line)) for at, line in prose_lines(answer)]
    starts = {at for at, _ in prose}
    weak = [s for s in _statements(answer, low, cs, WEAK_CUE) if low.rfind("\n", 0, s.start) + 1 in starts]
    if weak and len(weak[-1].found) == 1 and weak[-1].span[1] <= before:
        return Extraction(next(iter(weak[-1].found)), "rules", "conclusion")
    for at, line in prose:
        bold: set[int] = set()
        last = at
        for m in BOLD.finditer(line):
            named = _refs(m.group(1), cs, strong=True, decision=False)
            bold |= named
            last = at + m.end() if named else last
        if bold and last > before:
            break
        if len(bold) == 1:
            return Extraction(next(iter(bold)), "rules", "bold-option")
        if bold:
            return unparsed_extraction("several-options")
    if refusal is not None:
        return unparsed_extraction("refusal")
    text, denied = split_negated(strip_md("\n".join(line for _, line in prose)))
    free = _refs(text, cs, strong=False, decision=False)
    if len(free) == 1:
        marker = bool(_OPTION_WORD.search(text) or _PAREN.search(text))
        return Extraction(next(iter(free)), "rules", "option-marker" if marker else "choice-text")
    if free:
        return unparsed_extraction("several-options")
    if denied and (_refs(denied, cs, strong=True, decision=False) or _negated_decision(answer, low, cs)):
        return unparsed_extraction("negated")
    return unparsed_extraction("no-option")


def _negated_decision(answer: str, low: str, cs: Choices) -> bool:
    """A decision statement that denies an option: "the answer is not A"."""
    for m in STRONG_CUE.finditer(low):
        begin, end = decision_scope(answer, m.end())
        scope = answer[begin:end]
        neg = _NEGATIVE_START.match(scope)
        if neg and _refs(scope[neg.end() :], cs, strong=True, decision=True):
            return True
    return False
