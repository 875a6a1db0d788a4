"""``similarity --condition NAME=FILE`` for the controls ``predict`` writes besides noise: ``silence``, ``none``
and the partial-audio ones (``head:S``, ``head:S:cut``, ``tail:S``, ``reversed``, ``shuffled:S``; either spelling,
``head:0.5`` or the file-safe ``head-0p5``). For each control C: audio-vs-C (the answer with the real audio
against the answer under C), like audio-vs-noise, and the paired difference (audio-vs-C) − (audio-vs-noise)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench.audio.sent import condition_slug, parse_condition
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    from lalm_bench.similarity.probe import Grouping

#: base conditions that are no control here: the two main files, and mismatched (the content probe)
NOT_CONTROLS = {"audio": "--audio-file", "noise": "--noise-file", "mismatched": "--condition mismatched=FILE"}

CONTROL_NAMES = "silence, none, head:S, head:S:cut, tail:S, tail:S:cut, reversed, shuffled:S"

CONTROLS_DEFINITION = (
    "per control C (a prediction file of predict --condition C): audio_vs_control = cos(answer with the item's "
    "audio, answer under C), on the matched items that C answered; minus_noise = audio_vs_control - audio_vs_noise "
    "per item (the paired difference, same items). Above 0: the answer under C is closer to the full-audio answer "
    "than the answer under noise is (C keeps some of what the model uses); near 0: C moves the answer as much as "
    "noise does"
)


def control_name(name: str) -> str | None:
    """The canonical name of a control (``head-0p5`` → ``head:0.5``), ``None`` for a name that is no condition
    of ``predict`` (the repeats ``noise@k``, ``audio@k``); a condition that is no control here is refused."""
    try:
        canonical = parse_condition(name)
    except ValueError as exc:
        if "@" in name or "unknown condition" in str(exc):
            return None
        raise InputError(f"--condition {name}: {exc}") from None
    if canonical in NOT_CONTROLS:
        if canonical == "mismatched":
            return None  # a repeat-style file of repeats.CONDITION_FIELDS
        raise InputError(f"--condition {name}=…: give the {canonical} run as {NOT_CONTROLS[canonical]}")
    return canonical


def control_files(specs: list[str] | None) -> tuple[tuple[str, Path], ...]:
    """``(canonical name, file)`` of each control among the ``--condition NAME=FILE`` specs, in the order given;
    the same control twice (in either spelling) is refused."""
    out: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            continue  # repeats.condition_files reports the malformed spec
        canonical = control_name(name)
        if canonical is None:
            continue
        if canonical in out:
            raise InputError(f"--condition {name}: the control {canonical} is given twice")
        out[canonical] = Path(path)
    return tuple(out.items())


def controls_doc(
    g: Grouping,
    audio_vs_noise: np.ndarray,
    controls: dict[str, tuple[Path, np.ndarray, dict[str, Any]]],
    per_item: dict[str, np.ndarray],
) -> dict[str, Any] | None:
    """The ``controls`` field: per control, its file and matching, audio-vs-C overall and per category, and
    the paired difference to audio-vs-noise. ``controls`` maps the name to (file, audio-vs-C per matched row,
    NaN where C has no answer, matching report with ``identical_to_audio``: the byte-identical answers); the
    per-item values go to ``per_item``."""
    if not controls:
        return None
    out: dict[str, Any] = {"definition": CONTROLS_DEFINITION, "names": list(controls), "by_control": {}}
    for name, (path, avc, matching) in controls.items():
        per_item[f"audio_vs_{name}"] = avc
        missing = f"no item of this category in the {name} file"
        out["by_control"][name] = {
            "file": str(path),
            "slug": condition_slug(name),
            "items": int((~np.isnan(avc)).sum()),
            "matching": matching,
            "audio_vs_control": g.describe(avc, missing),
            "minus_noise": g.compare(avc, audio_vs_noise, ("audio_vs_control", "audio_vs_noise"), missing),
        }
    return out


def summary_lines(doc: dict[str, Any] | None) -> list[str]:
    """One terminal line per control: audio-vs-C with its CI and (audio-vs-C) − (audio-vs-noise) with its CI."""
    if not doc:
        return []

    def ci(d: dict[str, Any]) -> str:
        c = d.get("ci95")
        return f"[{c[0]:.3f}, {c[1]:.3f}]" if c else "[–]"

    lines = []
    for name, d in doc["by_control"].items():
        a, m = d["audio_vs_control"]["overall"], d["minus_noise"]["overall"]
        if a["mean"] is None:
            lines.append(f"control {name}: no matched item answered")
            continue
        diff = "–" if m["mean_difference"] is None else f"{m['mean_difference']:+.3f} {ci(m)}"
        lines.append(
            f"control {name} ({a['count']} items): audio vs {name} {a['mean']:.3f} {ci(a)}; minus audio vs noise {diff}"
        )
    return lines
