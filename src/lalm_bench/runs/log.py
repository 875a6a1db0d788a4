"""The append-only JSONL run log: one pydantic record per line, written whole at once, fsynced in groups,
torn tail repaired."""

from __future__ import annotations

import os
import threading
import time
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


#: Longest a written record waits for its fsync (group commit; see :class:`RunLog`).
SYNC_INTERVAL_S = 0.5


class RunLog(Generic[R]):
    """Appends records to a JSONL log.

    Each record is written whole with one unbuffered ``write`` before :meth:`append` returns, so it is in
    the file for any process that reads it next, a killed one's successor included (``kill -9`` loses
    nothing that was appended). Durability against a machine crash comes in groups: the first record is
    fsynced at once, later ones by a background thread at most :data:`SYNC_INTERVAL_S` after they were
    written (one ``fsync`` per group instead of one per record, which kept the event loop waiting on the
    disk for every item), and everything at :meth:`close`. A crash of the machine can thus lose the last
    half second of records, never a record's middle: a torn tail is what the next :func:`read_records`
    repairs. A write or fsync the file system refuses (``ENOSPC``, ``EFBIG``, ``EDQUOT``, ``EIO`` ...)
    stops the run with :class:`RunLogFullError`."""

    def __init__(self, path: Path, *, sync_interval_s: float = SYNC_INTERVAL_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.appended = 0
        self.synced = 0  # records known to be on stable storage
        self.sync_interval_s = sync_interval_s
        self._dirty = threading.Event()
        self._stop = False
        self._lock = threading.Lock()  # one fsync at a time; ``_fd`` closed only under it
        self._sync_error: OSError | None = None
        self._syncer: threading.Thread | None = None

    def append(self, record: R) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: the run log is closed")
        if self._sync_error is not None:
            self._raise_full(self._sync_error)
        data = (dumps_strict(record.model_dump(mode="json"), indent=None) + "\n").encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._raise_full(exc)
        self.appended += 1
        if self.appended == 1 or self.sync_interval_s <= 0:
            self._sync()
            if self._sync_error is not None:
                self._raise_full(self._sync_error)
            return
        if self._syncer is None:
            self._syncer = threading.Thread(target=self._sync_loop, name="lalm-bench-log-sync", daemon=True)
            self._syncer.start()
        self._dirty.set()

    def _raise_full(self, exc: OSError) -> None:
        reason = exc.strerror or type(exc).__name__
        raise RunLogFullError(
            f"cannot add to the run log {self.path}: {reason}; the {self.appended} record(s) written by this "
            "call and every earlier one are kept: make room and rerun the same command to resume"
        ) from None

    def _sync(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            target = self.appended
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._sync_error = self._sync_error or exc
                return
            self.synced = max(self.synced, target)

    def _sync_loop(self) -> None:
        while True:
            self._dirty.wait()
            if self._stop:
                return
            time.sleep(self.sync_interval_s)  # gather the records written meanwhile into one fsync
            if self._stop:
                return
            self._dirty.clear()
            self._sync()

    def close(self) -> None:
        """Fsync what is left and close (idempotent); an fsync error is raised as :class:`RunLogFullError`."""
        if self._fd is None:
            return
        self._stop = True
        self._dirty.set()
        if self.synced < self.appended:
            self._sync()
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        if self._sync_error is not None and self.synced < self.appended:
            self._raise_full(self._sync_error)

    def __enter__(self) -> RunLog[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
