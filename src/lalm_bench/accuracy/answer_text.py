"""Answer and choice texts as the rules read them: normalised tokens, markdown stripped, choice keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


# -- text normalisation --------------------------------------------------------------------------
_APOS = re.compile(r"['’‘`´]\s*")
_DASH = re.compile(r"[‐‑‒–—−]")
# words (hyphenated compounds kept whole), numbers (3.5, 1,000, 0:42) and the symbols that tell
# choices apart (C vs C#, 1.013 vs -1.013, 4/4); other punctuation is dropped
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:-[^\W_]+)*|[#+\-/%=<>&♯♭]")
MARKDOWN = re.compile(r"\*\*|__|[*`$]|\\text\{|\\mathrm\{")
NUMBER = re.compile(r"[-+]?\s?\d+(?:[.,]\d+)?")


_ORDINAL = re.compile(r"\b(1st|2nd|3rd|[4-9]th|10th)\b", re.IGNORECASE)
_ORDINAL_WORDS = dict(
    zip(
        ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th"],
        ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"],
        strict=True,
    )
)


def text_tokens(text: str, ordinals: bool = True) -> str:
    """Case-kept tokens joined by single spaces: what choice texts are matched on (``4th`` reads
    ``fourth`` unless ``ordinals`` is off: with numeric choices "**4th** position" is the value 4)."""
    text = _APOS.sub("", _DASH.sub("-", text))
    if ordinals:
        text = _ORDINAL.sub(lambda m: _ORDINAL_WORDS[m.group(1).lower()], text)
    return " ".join(_TOKEN.findall(text))


def strip_md(text: str) -> str:
    return MARKDOWN.sub("", text)


def lower_text(text: str) -> str:
    """Lower case with every index kept (cue patterns run on it, spans are cut from the original)."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# Words and short forms common in ordinary prose: as choices they count only where the answer
# commits (a decision statement, a bold span, the whole answer), never in a passing sentence.
_GENERIC = frozenset(
    "yes no none both neither either all first second third fourth last left right center centre middle "  # noqa: SIM905
    "front back behind high low medium true false same different one two three four five more less".split()
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Choices:
    n: int
    keys: tuple[str | None, ...]  # lower-cased token string of each choice (None: empty or ambiguous)
    numeric: bool  # some choice is a number: a bare number is then a value, not an option number
    letters: bool  # option letters are read (off when a choice is itself a letter: "A", "C#", "B, C")
    strong_re: re.Pattern[str] | None  # every choice text
    free_re: re.Pattern[str] | None  # the choice texts that may count in passing prose
    lookup: dict[str, int]


# a one-letter token, a letter with an accidental or mode ("C", "C#", "Bb", "Am") or two capitals ("AB"),
# not a short word ("No", "Up")
_LETTERISH_TOKEN = re.compile(r"[A-Ga-g](?:[b#♯♭m]|#m)?|[A-Za-z]|[A-Z]{2}|[#♯♭]")


def _is_letterish(choice: str) -> bool:
    toks = _TOKEN.findall(choice)
    return bool(toks) and all(_LETTERISH_TOKEN.fullmatch(t) for t in toks) and any(t[0].isalpha() for t in toks)


@lru_cache(maxsize=8192)
def prepare(choices: tuple[str, ...]) -> Choices:
    keys: list[str | None] = []
    lookup: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, c in enumerate(choices):
        k = text_tokens(c).lower() or None
        if k is not None and k in first:  # two choices read the same once normalised: neither is matched
            keys[first[k]] = None
            lookup.pop(k, None)
            k = None
        elif k is not None:
            first[k] = i
            lookup[k] = i
        keys.append(k)

    def alternation(idx: list[int]) -> re.Pattern[str] | None:
        if not idx:
            return None
        parts = []
        for i in sorted(idx, key=lambda j: -len(keys[j] or "")):  # longest first: "milk tea" before "milk"
            k = keys[i] or ""
            # a one-letter choice ("A") must be an upper-case letter in the answer, not the article
            parts.append(f"(?-i:{re.escape(k.upper())})" if len(k) == 1 and k.isalpha() else re.escape(k))
        return re.compile(r"(?<![^ ])(?:" + "|".join(parts) + r")(?![^ ])", re.IGNORECASE)

    valid = [i for i, k in enumerate(keys) if k]
    free = [
        i
        for i in valid
        if not NUMBER.fullmatch(keys[i] or "")
        and not _is_letterish(choices[i])
        and len(keys[i] or "") > 3
        and keys[i] not in _GENERIC
    ]
    return Choices(
        n=len(choices),
        keys=tuple(keys),
        numeric=any(k is not None and NUMBER.fullmatch(k) for k in keys),  # "3", "-1.013", "$3"
        letters=not any(_is_letterish(c) for c in choices) and len(choices) <= len(LETTERS),
        strong_re=alternation(valid),
        free_re=alternation(free),
        lookup=lookup,
    )


# -- option references inside one piece of text -------------------------------------------------
