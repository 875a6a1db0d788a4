"""A run folder: an exclusive lock, the settings that identify the run (``run.json``) and its log.

Two processes never write one run: :meth:`RunFolder.acquire` takes a non-blocking file lock and a
second process gets a one-line error naming the holder. ``--overwrite`` never loses a finished run
to a failed start: the old files are moved aside into ``.replaced/`` and removed only once the new
run has written its first record; a run that stops before that gets them back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError, OutputExistsError, RunLockedError, resumable

LOCK_NAME = ".lock"
OWNER_NAME = ".lock.owner"
ASIDE_NAME = ".replaced"
STAGING_NAME = ".replaced.partial"
#: Settings recorded for information only: a change does not make the run another run.
INFORMATIONAL = ("base_url", "base_urls")


def settings_diff(old: dict[str, Any], new: dict[str, Any], ignore: Sequence[str] = ()) -> list[str]:
    keys = sorted((set(old) | set(new)) - set(ignore))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


class RunFolder:
    """One run's folder. Use as ``with RunFolder(path) as run: resume = run.check(settings, ...)``."""

    def __init__(
        self,
        folder: Path,
        *,
        manifest_name: str = "run.json",
        log_name: str = "log.jsonl",
        extra: Sequence[Path] = (),
        another_run: str = "--run-name",
    ) -> None:
        """``another_run``: how the command that owns the folder starts a separate run (named in messages:
        ``--run-name`` for ``rubrics generate``, another ``--output`` for ``predict`` ...)."""
        self.folder = Path(folder)
        self.another_run = another_run
        self.manifest_path = self.folder / manifest_name
        self.log_path = self.folder / log_name
        self.extra = [Path(p) for p in extra]
        self._lock: Any = None
        self._created = False
        self._aside: Path | None = None

    # -- lock ----------------------------------------------------------------------------------
    def acquire(self) -> RunFolder:
        """Take the run's lock (or raise :class:`RunLockedError`) and finish an interrupted overwrite."""
        from filelock import FileLock, Timeout

        self._created = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create run folder {self.folder} ({exc.strerror or exc})") from exc
        lock = FileLock(str(self.folder / LOCK_NAME), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunLockedError(
                f"{self.folder} is being written by another process ({self._holder()}); wait for it to end "
                f"or stop it, or use {self.another_run} for another run"
            ) from None
        self._lock = lock
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv[1:4]}
        (self.folder / OWNER_NAME).write_text(json.dumps(owner), encoding="utf-8")
        resumable()
        self._recover_aside()
        return self

    def _holder(self) -> str:
        try:
            owner = json.loads((self.folder / OWNER_NAME).read_text(encoding="utf-8"))
            return f"pid {owner['pid']} on {owner['host']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "unknown process"

    def release(self) -> None:
        """Restore a replaced run if the new one wrote nothing; drop the lock (and an unused folder)."""
        if self._lock is None:
            return
        if self._aside is not None:
            self._restore_aside()
        for name in (OWNER_NAME,):
            (self.folder / name).unlink(missing_ok=True)
        self._lock.release()
        self._lock = None
        if self._created and not any(p.name != LOCK_NAME for p in self.folder.iterdir()):
            (self.folder / LOCK_NAME).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.folder.rmdir()

    def __enter__(self) -> RunFolder:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- settings ------------------------------------------------------------------------------
    def check(
        self,
        settings: dict[str, Any],
        *,
        overwrite: bool,
        compatible: Callable[[dict[str, Any], dict[str, Any], list[str]], bool] | None = None,
        kind: str = "run",
    ) -> bool:
        """Before any work: ``True`` to resume this run, ``False`` to start it afresh.

        A folder holding a run with other settings is refused unless ``overwrite`` (its files are
        then moved aside until the new run has written its first record). ``compatible(old, new,
        diff)`` may accept some differences (a raised ``--limit``, say)."""
        existing = [p for p in (self.log_path, self.manifest_path, *self.extra) if p.exists()]
        if not existing:
            return False
        if overwrite:
            self._move_aside(existing)
            return False
        if not self.log_path.exists() and not self.manifest_path.exists():
            raise OutputExistsError(f"output exists: {', '.join(map(str, existing))} (pass --overwrite to replace it)")
        if not self.manifest_path.exists():
            raise OutputExistsError(
                f"{self.folder}: holds a log but no {self.manifest_path.name}; pass --overwrite to replace it"
            )
        old = self.read_settings()
        if old is None:
            raise InputError(f"{self.manifest_path}: not a {kind} manifest; pass --overwrite to replace it")
        diff = settings_diff(old, settings, ignore=INFORMATIONAL)
        if not diff or (compatible is not None and compatible(old, settings, diff)):
            return True
        raise OutputExistsError(
            f"{self.folder} holds a {kind} with other settings ({'; '.join(diff)}); "
            f"pass --overwrite to replace it or {self.another_run} to start a new run"
        )

    def read_settings(self) -> dict[str, Any] | None:
        try:
            settings = json.loads(self.manifest_path.read_text(encoding="utf-8"))["settings"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return settings if isinstance(settings, dict) else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        from lalm_bench.io import write_json

        write_json(self.manifest_path, manifest)

    # -- --overwrite without losing a finished run -----------------------------------------------
    def _move_aside(self, paths: list[Path]) -> None:
        # Files go into a staging folder that becomes .replaced/ in one rename: a kill in between
        # leaves either the staging folder (old files only, put back on the next acquire) or the
        # complete .replaced/, never a mix that recovery could confuse with the new run.
        aside = self.folder / ASIDE_NAME
        staging = self.folder / STAGING_NAME
        if aside.exists():
            shutil.rmtree(aside)
        staging.mkdir(exist_ok=True)
        for p in paths:
            os.replace(p, staging / p.name)
        os.replace(staging, aside)
        self._aside = aside

    def record_written(self) -> None:
        """The new run has its first record: the replaced run can go."""
        if self._aside is not None:
            shutil.rmtree(self._aside, ignore_errors=True)
            self._aside = None

    def _home(self, name: str) -> Path:
        """Where a file moved aside came from (``extra`` files may lie outside the run folder)."""
        return next((p for p in (self.log_path, self.manifest_path, *self.extra) if p.name == name), self.folder / name)

    def _restore_aside(self) -> None:
        assert self._aside is not None
        for p in self._aside.iterdir():
            os.replace(p, self._home(p.name))
        self._aside.rmdir()
        self._aside = None
        print(f"warning: the new run wrote nothing; the earlier run in {self.folder} is kept", file=sys.stderr)

    def _recover_aside(self) -> None:
        """What a killed overwrite left: a half-made move is undone; a ``.replaced/`` is kept only while
        the new log holds no record."""
        staging = self.folder / STAGING_NAME
        if staging.is_dir():
            for p in staging.iterdir():
                os.replace(p, self._home(p.name))
            staging.rmdir()
        aside = self.folder / ASIDE_NAME
        if not aside.is_dir():
            return
        self._aside = aside
        if self.log_path.exists() and b"\n" in self.log_path.read_bytes()[:1_000_000]:
            self.record_written()
        else:
            for p in (self.log_path, self.manifest_path):  # the new run's (a run without records writes no extra)
                p.unlink(missing_ok=True)
            self._restore_aside()
