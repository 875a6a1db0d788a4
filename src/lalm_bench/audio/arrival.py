"""Did the audio arrive? Per item, from the prompt tokens a server reports (``predict``), read back by the
probes (``accuracy``, ``similarity``).

An item's prompt tokens under a condition that sends audio, minus the same item's under ``none`` (text
only: the same prompt and chat template), is what the server's encoder made of the audio: the
*observed* audio tokens. The table of :mod:`lalm_bench.audio.tokens` gives the *expected* tokens of the
clip's duration. The flag (column :data:`ARRIVAL_COLUMN` of ``predict``'s tables):

* ``dropped``: observed ≤ the slack (:data:`~lalm_bench.audio.tokens.SPECIAL_TOKENS_PER_CLIP` per clip):
  the server answered without the audio;
* ``cut``: a clip longer than :data:`CUT_SECONDS` (or the encoder's own maximum) whose observed tokens
  match the first seconds only; or observed well below expected (below ``expected - tolerance``);
  or, from the table alone, a clip longer than what the model's processor takes (Qwen2-Audio, Qwen2.5-Omni,
  Gemma 3n: 30 s), or, without ``none``, fewer prompt tokens in all than the audio alone needs;
* ``ok``: observed ≥ ``expected - tolerance`` (or, without a table entry, clearly above the slack: then
  a cut cannot be seen);
* ``unknown``: no ``none`` run and nothing provable from the table, or audio too short to tell
  (expected below twice the slack; without a table, under :data:`MIN_SECONDS`).

Tolerance = slack + :data:`REL_TOL` × expected: chat-template tokens are identical between the
conditions of one item, so the difference is the audio's own tokens plus a few markers per clip; the
relative part absorbs rounding of the encoders' length formulas and resampling. Prompt tokens cannot
show a cut that the server hides (audio cut but usage counted in full); a cut inside a fixed-size
encoder (Gemma 3n) shows only through the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lalm_bench.audio.tokens import SPECIAL_TOKENS_PER_CLIP, AudioEncoder

ARRIVAL_COLUMN = "audio_arrival"
OBSERVED_COLUMN = "audio_tokens"  # prompt tokens minus the same item's under none
EXPECTED_COLUMN = "audio_tokens_expected"  # from the clip's duration and the encoder table
FLAGS = ("ok", "cut", "dropped", "unknown")
UNARRIVED = ("dropped", "cut")  # what accuracy and similarity leave out unless --keep-unarrived
REL_TOL = 0.10
CUT_SECONDS = 30.0  # where servers are known to cut audio (sglang, mlx-vlm, Whisper-style windows)
MIN_SECONDS = 1.0  # without a table entry, shorter audio is not judged
RULE = (
    f"observed = prompt tokens - the same item's under none; dropped: observed <= {SPECIAL_TOKENS_PER_CLIP} per "
    f"clip; ok: observed >= expected - ({SPECIAL_TOKENS_PER_CLIP} per clip + {REL_TOL:.0%} of expected); cut: a "
    f"clip over {CUT_SECONDS:g} s (or the encoder's maximum) whose tokens match the first seconds, observed below "
    "that, or a clip longer than the model's processor takes; unknown: nothing provable (no none run and no table "
    "entry, or audio too short)"
)


@dataclass(frozen=True)
class Arrival:
    """The verdict on one item under one condition."""

    flag: str
    observed: int | None  # audio tokens seen (None without a none run)
    expected: float | None  # audio tokens the duration implies (None without a table entry)
    reason: str


def classify(
    prompt_tokens: int, none_tokens: int | None, clips: Sequence[float], encoder: AudioEncoder | None
) -> Arrival:
    """The flag of one item: its prompt tokens with audio, without (``none``; ``None`` when not run), the
    duration of each clip as sent, and the model's encoder (``None`` when unknown). See the module docstring."""
    n = max(len(clips), 1)
    slack = SPECIAL_TOKENS_PER_CLIP * n
    observed = None if none_tokens is None else prompt_tokens - none_tokens
    expected = None if encoder is None else sum(encoder.tokens(s) for s in clips)
    limit = None if encoder is None else encoder.max_seconds
    over_limit = limit is not None and any(s > limit + 1e-6 for s in clips)
    if encoder is not None and expected is not None:
        tol = slack + REL_TOL * expected
        if observed is None:
            if over_limit:
                return Arrival("cut", None, expected, f"a clip is longer than the {limit:g} s {encoder.name} takes")
            if prompt_tokens < expected - tol:
                return Arrival(
                    "cut",
                    None,
                    expected,
                    f"{prompt_tokens} prompt tokens in all, fewer than the {expected:.0f} the audio alone needs "
                    "(dropped or cut; run none to tell)",
                )
            return Arrival("unknown", None, expected, "no none run to compare with")
        if expected < 2 * slack:
            return Arrival("unknown", observed, expected, "audio too short to tell")
        if observed <= slack:
            return Arrival("dropped", observed, expected, f"{observed} audio tokens of {expected:.0f} expected")
        if observed >= expected - tol:
            if over_limit:
                return Arrival("cut", observed, expected, f"a clip is longer than the {limit:g} s {encoder.name} takes")
            return Arrival("ok", observed, expected, "")
        window = limit if limit is not None else CUT_SECONDS
        if encoder.shows_cuts and any(s > window + 1e-6 for s in clips):
            at_window = sum(encoder.tokens(min(s, window)) for s in clips)
            if abs(observed - at_window) <= slack + REL_TOL * at_window:
                return Arrival("cut", observed, expected, f"tokens match the first {window:g} s of the audio")
        return Arrival("cut", observed, expected, f"{observed} audio tokens of {expected:.0f} expected")
    if observed is None:
        return Arrival("unknown", None, None, "no none run and no tokens-per-second for this model")
    if sum(clips) < MIN_SECONDS:
        return Arrival("unknown", observed, None, "audio too short to tell without the encoder's rate")
    if observed <= slack:
        return Arrival("dropped", observed, None, f"{observed} audio tokens")
    return Arrival("ok", observed, None, "arrived; not checked against the duration (no tokens-per-second)")


def counts(flags: Iterable[str | None]) -> dict[str, int]:
    """``{flag: n}`` for every flag of :data:`FLAGS` (rows without a flag are not counted)."""
    c = Counter(f for f in flags if f is not None)
    return {f: c.get(f, 0) for f in FLAGS}


# ---- reading the flag back (accuracy, similarity) ---------------------------------------------------


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def read_flags(path: str | Path, id_column: str) -> dict[Any, str | None] | None:
    """``{item id: flag}`` of a prediction file, or ``None`` when it has no :data:`ARRIVAL_COLUMN` (files not
    written by ``predict``, or by an older version)."""
    from lalm_bench.datasets.predictions import read_prediction_table, split_orders

    frame, _ = split_orders(read_prediction_table(path), Path(path))  # the benchmark's option order (judged)
    if ARRIVAL_COLUMN not in frame.columns or id_column not in frame.columns:
        return None
    out: dict[Any, str | None] = {}
    for i, f in zip(frame[id_column].tolist(), frame[ARRIVAL_COLUMN].tolist(), strict=True):
        out[_plain(i)] = f if isinstance(f, str) else None
    return out


def unarrived(
    files: Sequence[tuple[str, str | Path]], id_column: str, ids: Sequence[Any], *, keep: bool
) -> tuple[list[bool], dict[str, Any]]:
    """Which of ``ids`` to leave out (flagged ``dropped`` or ``cut`` in any of the ``(condition, file)``
    pairs; none when ``keep``), and the account: flags counted per condition (``None`` for a file without
    the column), the items flagged, those left out."""
    flagged = [False] * len(ids)
    by_condition: dict[str, dict[str, int] | None] = {}
    examples: list[dict[str, Any]] = []
    for name, path in files:
        flags = read_flags(path, id_column)
        if flags is None:
            by_condition[name] = None
            continue
        mine = [flags.get(_plain(i)) for i in ids]
        by_condition[name] = counts(mine) | {"unflagged": sum(f is None for f in mine)}
        for k, f in enumerate(mine):
            if f in UNARRIVED:
                if not flagged[k] and len(examples) < 10:
                    examples.append({"id": _plain(ids[k]), "condition": name, "flag": f})
                flagged[k] = True
    n = sum(flagged)
    info = {
        "column": ARRIVAL_COLUMN,
        "read": any(v is not None for v in by_condition.values()),
        "by_condition": by_condition,
        "flagged": n,
        "excluded": 0 if keep else n,
        "kept": keep,
        "rule": f"items flagged {' or '.join(UNARRIVED)} under any condition are "
        + ("kept (--keep-unarrived)" if keep else "left out (--keep-unarrived keeps them)"),
        "examples": examples,
    }
    return ([False] * len(ids) if keep else flagged), info


def describe(info: Mapping[str, Any]) -> str | None:
    """One line for a report (``None`` when no file carried the flag)."""
    if not info.get("read"):
        return None
    per = ", ".join(
        f"{c}: {v['dropped']} dropped, {v['cut']} cut"
        for c, v in info["by_condition"].items()
        if v is not None and any(v[f] for f in FLAGS)  # a none file carries the column, never a flag
    )
    action = "kept (--keep-unarrived)" if info["kept"] else "left out (--keep-unarrived keeps them)"
    return f"audio that never arrived ({per}): {info['flagged']} item(s) {action}"
