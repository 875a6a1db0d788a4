"""The prompt of ``predict``: the question and its choices, from a versioned template.

A template is text with the placeholders ``{question}``, ``{choices}`` and ``{category}``; any other
``{word}`` is refused (a typo would otherwise reach the model verbatim), other braces are literal. A line
``=== without choices ===`` splits it: the part above is used for items with two or more choices, the part
below for the others (open questions; an item with a single choice is open too, because MMAU-Pro stores
the reference answer of its open questions as their one choice). ``{choices}`` becomes one line per
choice, ``(A) text``, ``(B) text`` …, numbered ``(1)`` … when there are more than 26.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lalm_bench.errors import InputError

SEPARATOR = "=== without choices ==="
PLACEHOLDERS = ("question", "choices", "category")
MIN_CHOICES = 2  # fewer choices than this: the item is asked as an open question

DEFAULT_NAME = "predict-default"
DEFAULT_VERSION = "1"
DEFAULT_TEMPLATE = f"""{{question}}

Choices:
{{choices}}

Answer with the letter and the text of the correct choice.
{SEPARATOR}
{{question}}
"""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed template: its parts, where it came from, and the identity recorded in outputs."""

    name: str
    version: str
    text: str
    with_choices: str
    without_choices: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def describe(self) -> dict[str, str | None]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "text": self.text}

    def render(self, question: str, choices: Sequence[str], category: str | None) -> str:
        """The user text of one item."""
        values = {"question": question, "category": category or "", "choices": format_choices(choices)}
        if len(choices) >= MIN_CHOICES:
            template = self.with_choices
        else:
            if self.without_choices is None:
                raise InputError(f"prompt template {self.name!r} has no '{SEPARATOR}' part for open questions")
            template = self.without_choices
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template).strip()


def format_choices(choices: Sequence[str]) -> str:
    labels = string.ascii_uppercase if len(choices) <= 26 else [str(i) for i in range(1, len(choices) + 1)]
    return "\n".join(f"({label}) {text}" for label, text in zip(labels, choices, strict=False))


def parse_template(text: str, *, name: str, version: str) -> PromptTemplate:
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
    if unknown:
        raise InputError(
            f"prompt template {name}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)} "
            f"(known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
        )
    lines = text.splitlines()
    cut = [i for i, line in enumerate(lines) if line.strip() == SEPARATOR]
    if len(cut) > 1:
        raise InputError(f"prompt template {name}: '{SEPARATOR}' occurs {len(cut)} times; give it once")
    with_choices = "\n".join(lines[: cut[0]]) if cut else text
    without = "\n".join(lines[cut[0] + 1 :]) if cut else None
    if "{question}" not in with_choices or (without is not None and "{question}" not in without):
        raise InputError(f"prompt template {name}: every part needs the {{question}} placeholder")
    if "{choices}" not in with_choices:
        raise InputError(
            f"prompt template {name}: the part for items with choices needs {{choices}} (put the text for open "
            f"questions below a line '{SEPARATOR}')"
        )
    if without is not None and "{choices}" in without:
        raise InputError(f"prompt template {name}: the part below '{SEPARATOR}' is for items without choices")
    return PromptTemplate(name=name, version=version, text=text, with_choices=with_choices, without_choices=without)


def default_template() -> PromptTemplate:
    return parse_template(DEFAULT_TEMPLATE, name=DEFAULT_NAME, version=DEFAULT_VERSION)


def load_template(path: Path | None) -> PromptTemplate:
    """The default template, or the one in ``path`` (its version is the first 12 hex digits of its SHA-256)."""
    if path is None:
        return default_template()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"--prompt-template {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--prompt-template {path}: cannot read ({exc})") from None
    if not text.strip():
        raise InputError(f"--prompt-template {path}: the file is empty")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return parse_template(text, name=str(path), version=f"sha256:{digest[:12]}")
