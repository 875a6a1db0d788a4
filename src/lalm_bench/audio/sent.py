"""What was sent: the record of one audio part under one condition (no numpy: record schemas load fast).

Also the names of the conditions: the five base ones (:data:`CONDITIONS`) and the partial-audio ones,
written ``head:S``, ``tail:S`` (the first / last ``S`` seconds; the rest replaced by silence, or with
``:cut`` removed), ``reversed`` and ``shuffled:S`` (``S``-second segments in a seeded order). A name with
``:`` or ``.`` is not a safe file suffix, so files and run folders use :func:`condition_slug`
(``head:5`` → ``head-5``, ``head:2.5:cut`` → ``head-2p5-cut``); :func:`parse_condition` reads both spellings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

Condition = Literal["audio", "noise", "silence", "none", "mismatched"]
CONDITIONS: tuple[str, ...] = ("audio", "noise", "silence", "none", "mismatched")
#: Partial-audio kinds; ``head``/``tail``/``shuffled`` take seconds, ``reversed`` takes none.
PARTIAL_KINDS: tuple[str, ...] = ("head", "tail", "reversed", "shuffled")
PartialFill = Literal["pad", "cut"]
#: What replaces the rest of the clip under ``head:S``/``tail:S`` unless ``:cut`` is given: silence of the
#: same length, so the request carries as many seconds (and audio tokens) as under ``audio``.
DEFAULT_FILL: PartialFill = "pad"
#: The noise level sent for a digitally silent clip (RMS 0), whose RMS-matched noise would be silence again.
SILENT_CLIP_NOISE_DBFS = -60.0
NAMES = ", ".join(CONDITIONS) + ", head:S, tail:S, reversed or shuffled:S"
_SECONDS = re.compile(r"\d+(?:[.p]\d+)?")


@dataclass(frozen=True)
class PartialSpec:
    """A parsed partial-audio condition."""

    kind: str  # one of PARTIAL_KINDS
    seconds: float | None = None  # None for reversed
    fill: PartialFill | None = None  # head/tail only

    @property
    def name(self) -> str:
        """The canonical name: ``head:5``, ``tail:2.5:cut``, ``reversed``, ``shuffled:1``."""
        if self.seconds is None:
            return self.kind
        name = f"{self.kind}:{_format_seconds(self.seconds)}"
        return name + ":cut" if self.fill == "cut" else name


def _format_seconds(seconds: float) -> str:
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_partial(name: str) -> PartialSpec | None:
    """The partial-audio spec of ``name`` (canonical ``head:5`` or file spelling ``head-5``), ``None`` when
    ``name`` is no partial condition; a partial name with bad seconds raises ``ValueError``."""
    parts = re.split(r"[:\-]", name.strip().lower())
    kind = parts[0]
    if kind not in PARTIAL_KINDS:
        return None
    if kind == "reversed":
        if len(parts) != 1:
            raise ValueError(f"condition {name!r}: reversed takes no seconds")
        return PartialSpec("reversed")
    if len(parts) < 2 or not _SECONDS.fullmatch(parts[1]):
        raise ValueError(f"condition {name!r}: give the seconds, e.g. {kind}:5")
    seconds = float(parts[1].replace("p", "."))
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"condition {name!r}: the seconds must be positive")
    rest = parts[2:]
    if kind == "shuffled":
        if rest:
            raise ValueError(f"condition {name!r}: shuffled takes only the segment seconds (shuffled:S)")
        return PartialSpec("shuffled", seconds)
    if len(rest) > 1 or (rest and rest[0] not in ("pad", "cut")):
        raise ValueError(f"condition {name!r}: write {kind}:S, {kind}:S:pad or {kind}:S:cut")
    fill: PartialFill = "cut" if rest and rest[0] == "cut" else DEFAULT_FILL
    return PartialSpec(kind, seconds, fill)


def parse_condition(name: str) -> str:
    """The canonical name of a condition (base or partial, either spelling); ``ValueError`` if unknown."""
    low = name.strip().lower()
    if low in CONDITIONS:
        return low
    spec = parse_partial(low)
    if spec is None:
        raise ValueError(f"unknown condition {name!r} (use {NAMES})")
    return spec.name


def condition_slug(name: str) -> str:
    """The file-safe spelling of a condition (letters, digits, ``-``): ``head:2.5:cut`` → ``head-2p5-cut``."""
    return parse_condition(name).replace(":", "-").replace(".", "p")


def sends_audio(name: str) -> bool:
    """Whether a condition sends audio parts (every one but ``none``)."""
    return parse_condition(name) != "none"


class AudioSent(BaseModel):
    """What was sent for one audio file of one item under one condition (one entry per audio part)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    condition: str  # a base condition or a partial one (canonical name)
    seed: int
    index: int  # position of the file among the item's (or, for mismatched, the partner's) audio files
    source: str  # the file name as listed, relative to the audio root (the partner's file for mismatched)
    source_sha256: str  # SHA-256 of the source file's bytes
    partner: str | None = None  # mismatched: the item whose audio was sent
    partner_within_category: bool | None = None
    sha256: str  # SHA-256 of the WAV bytes actually sent
    format: Literal["wav"] = "wav"
    size_bytes: int
    frames: int
    seconds: float
    original_seconds: float
    sample_rate: int
    original_sample_rate: int
    channels: int
    truncated: bool
    max_seconds: float | None = None
    rms: float  # of the samples sent (over all channels)
    target_rms: float | None = None  # noise: the RMS aimed at
    noise_dbfs: float | None = None  # noise: the fixed level sent; None = matched to the real clip
    silent_source: bool = False  # noise: the clip was digitally silent, so the noise was sent at a floor level
    full_scale_samples: int  # samples at the PCM limits in what was sent (clipping, ours or the recording's)
    # partial audio (defaults: a record of a base condition, or one written before these existed)
    partial: str | None = None  # head / tail / reversed / shuffled
    partial_seconds: float | None = None  # head/tail: seconds asked to keep; shuffled: segment length
    partial_fill: PartialFill | None = None  # head/tail: the rest replaced by silence (pad) or removed (cut)
    kept_seconds: float | None = None  # seconds of the real clip (as decoded and truncated) in what was sent
    segment_order: list[int] | None = None  # shuffled: the original index of each segment as sent

    @field_validator("condition")
    @classmethod
    def _known(cls, value: str) -> str:
        return parse_condition(value)
