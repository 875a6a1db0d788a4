"""``similarity --condition NAME=FILE``: repeats and controls named as in ``accuracy`` (``noise@1``, ``noise@2`` …,
``audio@1``, ``mismatched``), mapped onto the files the probe takes (``--noise-file-2``, ``--audio-file-2``,
``--mismatched-file`` stay as spellings of the first three; ``noise@2`` and later go to ``noise_repeats``; the
controls ``silence``, ``head:S`` … to :mod:`lalm_bench.similarity.controls`), and
the run-to-run spread across the noise runs (:func:`run_to_run`)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench import stats
from lalm_bench.errors import InputError
from lalm_bench.similarity.controls import CONTROL_NAMES, control_name

#: condition name -> (the SimilarityConfig field, the older flag)
CONDITION_FIELDS = {
    "noise@1": ("noise_file_2", "--noise-file-2"),
    "audio@1": ("audio_file_2", "--audio-file-2"),
    "mismatched": ("mismatched_file", "--mismatched-file"),
}


def condition_files(specs: list[str] | None, given: dict[str, Path | None]) -> dict[str, Path | None]:
    """The config fields named by ``--condition`` specs, merged with ``given`` (field -> path of the older
    flags); a condition given twice, or by both spellings with different files, is refused in one line."""
    out = dict(given)
    seen: set[str] = set()
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise InputError(f"--condition {spec!r}: expected NAME=FILE (e.g. noise@1=preds_noise_seed2.parquet)")
        if name.startswith("noise@") and name[6:].isdigit() and int(name[6:]) >= 2:
            continue  # further noise repeats: noise_repeat_files
        if name not in CONDITION_FIELDS and control_name(name) is not None:
            continue  # silence, none, head:S …: controls.control_files
        if name not in CONDITION_FIELDS:
            more = "; similarity takes noise@1, noise@2 … and one repeat of audio (audio@1)" if "@" in name else ""
            raise InputError(
                f"--condition {name}: expected one of {', '.join(CONDITION_FIELDS)}, or a control ({CONTROL_NAMES})"
                + more
            )
        if name in seen:
            raise InputError(f"--condition {name} is given twice")
        seen.add(name)
        field, flag = CONDITION_FIELDS[name]
        old = out.get(field)
        if old is not None and Path(old).resolve() != Path(path).resolve():
            raise InputError(f"--condition {name}={path} and {flag} {old} disagree: give one")
        out[field] = Path(path)
    return out


def noise_repeat_files(specs: list[str] | None) -> tuple[Path, ...]:
    """The files of ``noise@2``, ``noise@3`` … given by ``--condition`` (in order of k; ``noise@1`` is
    ``--noise-file-2``); a gap in the numbering is refused."""
    found: dict[int, Path] = {}
    for spec in specs or []:
        name, _, path = spec.partition("=")
        name = name.strip()
        if name.startswith("noise@") and name[6:].isdigit() and int(name[6:]) >= 2:
            k = int(name[6:])
            if k in found:
                raise InputError(f"--condition {name} is given twice")
            found[k] = Path(path.strip())
    for k in found:
        if k > 2 and k - 1 not in found:
            raise InputError(f"--condition noise@{k}: noise@{k - 1} is missing (number the repeats 1, 2, 3 …)")
    return tuple(found[k] for k in sorted(found))


def run_to_run(
    unique_embeddings: np.ndarray, audio: np.ndarray, noise_runs: dict[str, np.ndarray]
) -> dict[str, Any] | None:
    """Run-to-run spread over two or more noise runs, on the items every run answered.

    ``audio`` holds each item's row of the embedding table, ``noise_runs`` each noise run's (-1: no answer).
    Returns, per noise run, the mean audio-vs-noise similarity (the audio − noise comparison of that run),
    per pair of runs the mean noise-vs-noise similarity (what re-running alone changes) and the listening gap
    of the pair, and the range and SD of each across runs or pairs."""
    if len(noise_runs) < 2:
        return None
    names = list(noise_runs)
    rows = np.ones(audio.size, dtype=bool)
    for idx in noise_runs.values():
        rows &= idx >= 0
    u = unique_embeddings

    def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.clip(np.einsum("ij,ij->i", u[a[rows]], u[b[rows]], dtype=np.float64), -1.0, 1.0)

    avn = {c: float(cos(audio, noise_runs[c]).mean()) if rows.any() else None for c in names}
    nvn: dict[str, float | None] = {}
    gaps: dict[str, float | None] = {}
    for x, y in combinations(names, 2):
        key = f"{x} vs {y}"
        nvn[key] = float(cos(noise_runs[x], noise_runs[y]).mean()) if rows.any() else None
        ax, ay, nn = avn[x], avn[y], nvn[key]
        gaps[key] = None if nn is None or ax is None or ay is None else nn - (ax + ay) / 2
    return {
        "runs": names,
        "items": int(rows.sum()),
        "audio_vs_noise": avn,
        "audio_vs_noise_spread": stats.spread(list(avn.values())),
        "noise_vs_noise": nvn,
        "noise_vs_noise_spread": stats.spread(list(nvn.values())),
        "listening_gap": gaps,
        "listening_gap_spread": stats.spread(list(gaps.values())),
        "definition": "on the items every noise run answered: audio_vs_noise per noise run (mean cosine of the "
        "answer with audio and with that run's noise), noise_vs_noise per pair of runs, and the pair's listening "
        "gap = noise_vs_noise - mean of the two audio_vs_noise; *_spread: min, max, range, SD across runs or pairs",
    }


def summary_line(doc: dict[str, Any] | None) -> str | None:
    """One terminal line: the spread of audio-vs-noise across noise runs next to noise-vs-noise."""
    if not doc or not doc.get("items"):
        return None
    a, n = doc["audio_vs_noise_spread"], doc["noise_vs_noise_spread"]
    return (
        f"run-to-run ({len(doc['runs'])} noise runs, {doc['items']} items): audio vs noise {a['min']:.3f} to "
        f"{a['max']:.3f} across runs; noise vs noise {n['min']:.3f} to {n['max']:.3f} across pairs"
    )
