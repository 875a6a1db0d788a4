"""The fallbacks for answers the rules find no option in: the nearest choice by embedding, an LLM pick."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field, StrictInt

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder

from lalm_bench.accuracy.answer_text import NUMBER, lower_text, strip_md, text_tokens
from lalm_bench.accuracy.extraction import DEFAULT_MIN_MARGIN, DEFAULT_MIN_SIMILARITY, Extraction, unparsed_extraction
from lalm_bench.accuracy.rules import (
    BOLD,
    NOT_A_DECISION,
    SENTENCE_START,
    STRONG_CUE,
    WEAK_CUE,
    decision_scope,
    opens_list,
    prose_lines,
)

# -- embedding fallback --------------------------------------------------------------------------
_FOCUS_CHARS = 600


def answer_focus(answer: str) -> str:
    """The part of ``answer`` that states its pick, as plain text (what the embedding fallback encodes).

    The sentence of the last decision statement (``the answer is …``), else of the last ``Therefore …``
    outside lists, else the first non-list line with bold text, else the first non-list line;
    markdown stripped, at most 600 characters. Encoders read only their first 256–512 word pieces,
    and long answers discuss every option (often in lists) before deciding: the statement is where
    the pick is."""
    if not answer or not answer.strip():
        return ""
    low = lower_text(answer)
    prose = [line for _, line in prose_lines(answer)]
    starts = {at for at, _ in prose_lines(answer)}
    spans: list[tuple[int, int]] = []
    for cue, in_lists in ((STRONG_CUE, True), (WEAK_CUE, False)):
        for m in cue.finditer(low):
            if NOT_A_DECISION.search(low, max(0, m.start() - 8), m.start()) or opens_list(answer, m.end()):
                continue
            if not in_lists and low.rfind("\n", 0, m.start()) + 1 not in starts:
                continue
            begin, end = decision_scope(answer, m.end())
            if answer[begin:end].strip(" *_.:"):
                spans.append((m.start(), end))
        if spans:
            break
    if spans:
        start, end = max(spans)
        line_start = low.rfind("\n", 0, start) + 1
        sentence = [x.end() for x in SENTENCE_START.finditer(low, line_start, start)]
        text = answer[sentence[-1] if sentence else line_start : end]
    else:
        lines = prose or [answer]
        text = next((x for x in lines if BOLD.search(x)), lines[0])
    return " ".join(strip_md(text).split())[:_FOCUS_CHARS]


_WORDS = re.compile(r"[\w']+")


def _without_question(text: str, question_words: frozenset[str]) -> str:
    """``text`` without the words it shares with the question (unchanged if nothing would be left)."""
    if not question_words:
        return text
    kept = [w for w in text.split() if re.sub(r"[^\w']", "", w.lower()) not in question_words]
    return " ".join(kept) or text


def extract_embedding(
    answers: Sequence[str | None],
    choices: Sequence[Sequence[str]],
    embedder: Embedder,
    *,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
    min_margin: float = DEFAULT_MIN_MARGIN,
    questions: Sequence[str] | None = None,
) -> list[Extraction]:
    """Nearest choice by cosine between each answer's :func:`answer_focus` and its choices.

    Accepted (method ``embedding``, rule ``nearest-choice``) when the best cosine is at least
    ``min_similarity`` and leads the second best by at least ``min_margin``; otherwise unparsed
    (``below-threshold``); score and margin are recorded either way. With ``questions``, the words
    an answer shares with its question ("the volume level of the music …") are dropped from the
    answer's statement and from its choices before encoding, so the cosine compares what differs
    (the calibration did this; pass them). Not decided by embedding: a nearest choice that is a bare
    number (``numeric-choice``: a cosine says nothing about which number an answer meant), items
    with fewer than two choices (``single-choice``), empty answers (``empty``). Each distinct text
    is encoded once, in one :meth:`~lalm_bench.embeddings.Embedder.encode` call.

    The default thresholds were calibrated with all-MiniLM-L6-v2 (:data:`CALIBRATION_MODEL`); they do
    not transfer to another embedding model, whose cosines sit on another scale."""
    if len(answers) != len(choices):
        raise ValueError(f"{len(answers)} answers but {len(choices)} choice lists")
    if questions is not None and len(questions) != len(answers):
        raise ValueError(f"{len(answers)} answers but {len(questions)} questions")
    items: list[tuple[str, list[str]] | None] = []
    texts: dict[str, int] = {}
    item: tuple[str, list[str]] | None
    for i, (answer, cs) in enumerate(zip(answers, choices, strict=True)):
        focus = answer_focus(answer) if answer else ""
        if not focus or len(cs) < 2:
            items.append(None)
            continue
        words = frozenset(_WORDS.findall(questions[i].lower())) if questions is not None else frozenset()
        opts = [_without_question(str(c), words) if str(c).strip() else "" for c in cs]
        item = (_without_question(focus, words), opts)
        items.append(item)
        for t in (item[0], *opts):
            if t:
                texts.setdefault(t, len(texts))
    vectors = np.asarray(embedder.encode(list(texts), desc="extracting").embeddings) if texts else None
    out: list[Extraction] = []
    for answer, cs, item in zip(answers, choices, items, strict=True):
        if item is None:
            out.append(unparsed_extraction("single-choice" if answer and answer.strip() and len(cs) < 2 else "empty"))
            continue
        assert vectors is not None
        a = vectors[texts[item[0]]]
        sims = np.array([float(vectors[texts[t]] @ a) if t else -1.0 for t in item[1]])
        order = np.argsort(-sims, kind="stable")
        best, second = float(sims[order[0]]), float(sims[order[1]])
        score, margin = round(best, 6), round(best - second, 6)
        key = text_tokens(str(cs[int(order[0])])).lower()
        if NUMBER.fullmatch(key):
            out.append(unparsed_extraction("numeric-choice", score, margin))
        elif best >= min_similarity and best - second >= min_margin:
            out.append(Extraction(int(order[0]), "embedding", "nearest-choice", score, margin))
        else:
            out.append(unparsed_extraction("below-threshold", score, margin))
    return out


# -- LLM fallback --------------------------------------------------------------------------------
#: Recorded with every LLM pick and mixed into the response-cache key; change it with the prompt.
PROMPT_VERSION = "2026-11-30.1"
_LLM_ANSWER_CHARS = 12_000


class ChoicePick(BaseModel):
    """The LLM's reading of which option an answer commits to."""

    # strict: a reply {"choice": true} (or "2", or 2.0) is no option number, not option 1 (or 2)
    choice: StrictInt | None = Field(
        description="1-based number of the option the answer finally commits to; null if it commits to "
        "none, to several, or refuses."
    )
    # no maxLength: OpenAI-style strict schemas reject it; the prompt asks for a short quote
    evidence: str = Field(description="A short verbatim quote from the answer showing the pick, or empty.")


LLM_PICK_SYSTEM = (
    "You read answers to multiple-choice questions and report which option each answer picked. "
    "You never judge whether the pick is correct and never pick for the answer."
)

LLM_PICK_TEMPLATE = """A model answered a multiple-choice question. Which option did the ANSWER commit to?

QUESTION:
{question}

OPTIONS (numbered 1 to {n}, in order):
{options}

ANSWER:
<<<
{answer}
>>>

Rules:
- Report the option the answer finally commits to; a final statement ("Therefore, the answer is …")
  overrides earlier mentions. Options it lists only to reject them do not count.
- The answer may name an option by its number, by a letter (A = 1, B = 2, …) or by its text. If option
  texts are themselves numbers, a bare number in the answer is usually the value, not the position.
- Use null when the answer refuses (e.g. says it cannot hear the audio) without then picking, names
  several options without deciding between them, or picks something that is not one of the options.
- evidence: a short exact quote from the answer that shows the pick (empty when choice is null).

Reply with JSON only: {{"choice": <option number or null>, "evidence": "<quote>"}}"""


def _clip_answer(answer: str) -> str:
    if len(answer) <= _LLM_ANSWER_CHARS:
        return answer
    head, tail = _LLM_ANSWER_CHARS // 3, _LLM_ANSWER_CHARS - _LLM_ANSWER_CHARS // 3
    return f"{answer[:head]}\n[… {len(answer) - head - tail} characters omitted …]\n{answer[-tail:]}"


def llm_pick_prompt(question: str, choices: Sequence[str], answer: str) -> tuple[str, str]:
    """The (system, user) messages asking an LLM which option ``answer`` picked (:data:`PROMPT_VERSION`).

    Answers over 12,000 characters keep their first third and last two thirds (the decision is at the
    end; loops cut at max tokens are what gets omitted)."""
    options = "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1))
    user = LLM_PICK_TEMPLATE.format(
        question=question.strip(), n=len(choices), options=options, answer=_clip_answer(answer or "")
    )
    return LLM_PICK_SYSTEM, user


def pick_to_extraction(pick: ChoicePick | None, n_choices: int) -> Extraction:
    """An LLM's :class:`ChoicePick` as an :class:`Extraction`; a null, missing or out-of-range pick is unparsed."""
    if pick is None:
        return unparsed_extraction("llm-failed")
    if pick.choice is None:
        return unparsed_extraction("llm-none")
    if not 1 <= pick.choice <= n_choices:
        return unparsed_extraction("llm-out-of-range")
    return Extraction(pick.choice - 1, "llm", "llm-pick")
