"""The append-only JSONL run log: one pydantic record per line, fsynced, torn tail repaired."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from lalm_bench.errors import InputError, LalmBenchError
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


class RunLogFullError(LalmBenchError):
    """The run log cannot grow (disk full, file size limit, quota, read-only now): the run stops."""


class RunLog(Generic[R]):
    """Appends records to a JSONL log; each is written whole (unbuffered) and fsynced before
    :meth:`append` returns. A write the file system refuses (``ENOSPC``, ``EFBIG``, ``EDQUOT``, ...)
    stops the run with :class:`RunLogFullError`; a line it cut short is the torn tail that the next
    :func:`read_records` repairs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.appended = 0

    def append(self, record: R) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: the run log is closed")
        data = (dumps_strict(record.model_dump(mode="json"), indent=None) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise RunLogFullError(
                f"cannot add to the run log {self.path}: {reason}; the {self.appended} record(s) written by this "
                "call and every earlier one are kept: make room and rerun the same command to resume"
            ) from None
        self.appended += 1

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> RunLog[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
