"""``similarity --condition NAME=FILE``: repeats and controls named as in ``accuracy`` (``noise@1``, ``audio@1``,
``mismatched``), mapped onto the files the probe takes (``--noise-file-2``, ``--audio-file-2``,
``--mismatched-file``, which stay as spellings of the same thing)."""

from __future__ import annotations

from pathlib import Path

from lalm_bench.errors import InputError

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
        if name not in CONDITION_FIELDS:
            more = (
                "; similarity takes one repeat of noise and of audio (the listening gap and the content reference "
                "are pairwise); accuracy takes any number"
                if "@" in name
                else ""
            )
            raise InputError(f"--condition {name}: expected one of {', '.join(CONDITION_FIELDS)}{more}")
        if name in seen:
            raise InputError(f"--condition {name} is given twice")
        seen.add(name)
        field, flag = CONDITION_FIELDS[name]
        old = out.get(field)
        if old is not None and Path(old).resolve() != Path(path).resolve():
            raise InputError(f"--condition {name}={path} and {flag} {old} disagree: give one")
        out[field] = Path(path)
    return out
