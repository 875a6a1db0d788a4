"""The append-only JSONL run log: one pydantic record per line, fsynced, torn tail repaired."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from lalm_bench.errors import InputError
from lalm_bench.io import dumps_strict

R = TypeVar("R", bound=BaseModel)


def read_records(
    path: Path,
    model: type[R],
    *,
    key: Callable[[R], Hashable] | None = None,
    repair: bool = True,
    what: str = "record",
) -> list[R]:
    """The complete records of a log (``[]`` if there is none).

    A torn last line (a crash mid-write) is ignored and, with ``repair``, cut away so that appending
    continues on a clean line. A line that is not a valid record, or two records with the same
    ``key`` (two processes wrote one run), is an :class:`InputError` naming the line."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
    records: list[R] = []
    seen: dict[Hashable, int] = {}
    for lineno, line in enumerate(data[:end].split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            record = model.model_validate_json(line)
        except ValidationError as exc:
            raise InputError(f"{path}: line {lineno} is not a valid {what} ({type(exc).__name__})") from exc
        if key is not None:
            k = key(record)
            if k in seen:
                raise InputError(
                    f"{path}: lines {seen[k]} and {lineno} hold the same {what} ({k!r}): two processes wrote "
                    "this run; pass --overwrite to redo it"
                )
            seen[k] = lineno
        records.append(record)
    return records


class RunLog(Generic[R]):
    """Appends records to a JSONL log; each is flushed and fsynced before :meth:`append` returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh = open(path, "ab")  # noqa: SIM115 (held open for the run)
        self.appended = 0

    def append(self, record: R) -> None:
        line = dumps_strict(record.model_dump(mode="json"), indent=None)
        self._fh.write(line.encode("utf-8") + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.appended += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RunLog[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
