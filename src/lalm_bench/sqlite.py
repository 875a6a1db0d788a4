"""The SQLite files the caches keep: schema versions, damage detection, read-only opening, set-up retries.

Both caches (embeddings and LLM replies) build on :class:`SqliteStore`, so a damaged or foreign file is
handled the same way everywhere: one line naming it, and the job goes on without the cache.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError, first_line


def sqlite_schema_version(conn: Any, *, version: int, tables: Sequence[str], path: Path, what: str) -> bool:
    """Check (before creating tables) the schema version of a SQLite cache in ``PRAGMA user_version``.

    Returns ``True`` when the caller should create its tables and then :func:`set_sqlite_version`.
    A file from before versioning (``user_version`` 0) holding exactly our tables is the version-1
    layout and is adopted; a newer version, or a file that is not ours, is refused in one line."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if current == version:
        return True
    if current == 0 and (not present or set(tables) <= present):
        return True
    if current > version:
        raise InputError(
            f"{what} {path} has schema version {current}, written by a newer lalm-bench (this one reads "
            f"version {version}); upgrade lalm-bench or use another cache location"
        )
    raise InputError(
        f"{path} is not a valid {what} for this lalm-bench (schema version {current}, tables "
        f"{', '.join(sorted(present)) or 'none'}); delete it or use another cache location"
    )


def set_sqlite_version(conn: Any, version: int) -> None:
    conn.execute(f"PRAGMA user_version = {int(version)}")


_SQLITE_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def is_sqlite_damage(exc: BaseException) -> bool:
    """Whether a ``sqlite3`` error means the database file is damaged (or is no database at all), as
    opposed to a busy, locked, read-only or full one."""
    import sqlite3

    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (int(code) & 0xFF) in _SQLITE_DAMAGE_CODES
    text = str(exc).lower()
    return type(exc) is sqlite3.DatabaseError or "malformed" in text or "not a database" in text


def sqlite_damage(conn: Any) -> str | None:
    """``PRAGMA quick_check`` of an open database: ``None`` when sound, else the first problem found."""
    import sqlite3

    try:
        rows = conn.execute("PRAGMA quick_check(3)").fetchall()
    except sqlite3.DatabaseError as exc:
        return first_line(exc)
    problems = [" ".join(str(r[0]).replace("***", " ").split()) for r in rows if str(r[0]).lower() != "ok"]
    return "; ".join(problems)[:300] if problems else None


def connect_sqlite_read_only(path: Path, timeout: float = 30.0) -> Any:
    """Open an existing SQLite database for reading without writing anything beside it.

    A WAL database whose ``-wal`` file exists (a writer is connected, or one crashed) is opened
    ``mode=ro``, which reads the WAL; otherwise it is opened ``immutable``, because a ``mode=ro``
    reader would create the ``-wal``/``-shm`` files (and cannot, in a read-only folder)."""
    import sqlite3

    uri = Path(path).resolve().as_uri()
    if Path(f"{path}-wal").exists():
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout, check_same_thread=False)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            pass
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=timeout, check_same_thread=False)


def remove_sqlite_files(path: Path) -> list[Path]:
    """Delete a SQLite database and its ``-wal``/``-shm``/``-journal`` companions; returns what went."""
    gone = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        f = Path(f"{path}{suffix}")
        if f.exists() or f.is_symlink():
            f.unlink()
            gone.append(f)
    return gone


def sqlite_retry(step: Any, *, timeout_s: float) -> Any:
    """``step()``, run again while SQLite reports the database locked or busy, until ``timeout_s``.

    Setting up a new cache (WAL mode, tables, version) in two processes at once can fail at once with
    "database is locked": SQLite skips the busy handler where waiting could deadlock."""
    import sqlite3
    import time

    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(0.5, delay * 2)


class SqliteStore:
    """What the SQLite caches share: a connection that a damaged file disables, with one warning naming it.

    Subclasses set ``path``, ``warn``, ``_conn`` and the class attributes ``what`` (e.g. "embedding
    cache") and ``clear_hint`` (how to remove a damaged file)."""

    what = "cache"
    clear_hint = "delete the file"
    path: Path
    warn: bool = True
    damaged: str | None = None
    _conn: Any = None
    _warned: bool = False

    def _close_quietly(self) -> None:
        import sqlite3

        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _mark_damaged(self, exc: BaseException | str) -> None:
        """Stop using a damaged database (once), with a warning that names it."""
        from lalm_bench.errors import first_line

        reason = exc if isinstance(exc, str) else first_line(exc)
        detail = sqlite_damage(self._conn) if self._conn is not None and not isinstance(exc, str) else None
        self._close_quietly()
        if self.damaged is None:
            self.damaged = reason + (f"; quick_check: {detail}" if detail and detail not in reason else "")
        if self.warn and not self._warned:
            self._warned = True
            print(
                f"warning: the {self.what} {self.path} is damaged ({self.damaged}); continuing without it "
                f"({self.clear_hint})",
                file=sys.stderr,
            )

    def _handle(self, exc: Exception) -> None:
        """A SQLite error in use: damage disables the store; anything else is raised."""
        import sqlite3

        if isinstance(exc, sqlite3.DatabaseError) and is_sqlite_damage(exc):
            self._mark_damaged(exc)
            return
        raise exc
