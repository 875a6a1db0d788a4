"""Run folders: the append-only JSONL log (fsynced per record, torn tail repaired) and ``run.json``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError, OutputExistsError
from lalm_bench.io import dumps_strict
from lalm_bench.rubrics.schema import RunRecord, RunSettings

LOG_NAME = "log.jsonl"
MANIFEST_NAME = "run.json"


def read_log(path: Path, repair: bool = True) -> list[RunRecord]:
    """The complete records of a log. A torn last line (a crash mid-write) is ignored and, with
    ``repair``, truncated away so that appending continues on a clean line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
    records = []
    for lineno, line in enumerate(data[:end].split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            records.append(RunRecord.model_validate_json(line))
        except ValueError as exc:
            raise InputError(
                f"{path}: line {lineno} is not a valid rubric record ({type(exc).__name__})"
            ) from exc
    return records


class LogWriter:
    """Appends one record per line; each record is flushed and fsynced before ``append`` returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = open(path, "ab")  # noqa: SIM115 (held open for the run)

    def append(self, record: RunRecord) -> None:
        line = dumps_strict(record.model_dump(mode="json"), indent=None)
        self._fh.write(line.encode("utf-8") + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def settings_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def check_run_folder(folder: Path, settings: RunSettings, overwrite: bool, extra: list[Path]) -> bool:
    """Decide what to do with a run folder before any work: ``True`` = resume it, ``False`` = fresh.

    A folder holding a run with other settings is refused unless ``overwrite`` (then its log,
    manifest and ``extra`` files are removed). Raising ``--limit`` extends a run (same prefix).
    """
    log, manifest = folder / LOG_NAME, folder / MANIFEST_NAME
    existing = [p for p in (log, manifest, *extra) if p.exists()]
    if not existing:
        return False
    if overwrite:
        for p in existing:
            p.unlink()
        return False
    if not log.exists() and not manifest.exists():
        raise OutputExistsError(
            f"output exists: {', '.join(map(str, existing))} (pass --overwrite to replace it)"
        )
    if not manifest.exists():
        raise OutputExistsError(
            f"{folder}: holds a log but no {MANIFEST_NAME}; pass --overwrite to replace it"
        )
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))["settings"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{manifest}: not a rubric run manifest; pass --overwrite to replace it") from exc
    new = settings.model_dump(mode="json")
    diff = settings_diff(old, new)
    if diff == [] or (
        len(diff) == 1 and diff[0].startswith("limit:") and _extends(old["limit"], new["limit"])
    ):
        return True
    raise OutputExistsError(
        f"{folder} holds a run with other settings ({'; '.join(diff)}); "
        "pass --overwrite to replace it or --run-name to start a new run"
    )


def _extends(old: int | None, new: int | None) -> bool:
    return new is None or (old is not None and new >= old)
