"""Content-addressed response cache on disk (SQLite in WAL mode).

The key is the SHA-256 of canonical JSON over everything that determines a reply: model, base URL
(without credentials), messages (audio replaced by the SHA-256 of its bytes), sampling parameters,
the schema and ``cache_key_extra`` (prompt version; run identity and seed for stochastic calls).

What is cached (see :func:`is_cacheable`): deterministic calls (temperature 0) always; stochastic
calls only when ``cache_key_extra`` names their run (``run`` or ``seed`` key), so rerunning a run
resumes it from the cache while different runs still get different samples. Errors are never
cached. Each entry is written in one SQLite transaction, so concurrent processes may share a
cache file and a killed process leaves it consistent. A damaged cache file never stops a job: a
one-line warning names it and the job goes on without the cache (delete the file, or run
``lalm-bench cache clear --llm``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import InputError, first_line
from lalm_bench.llm.errors import LLMConfigError
from lalm_bench.llm.interface import AudioPart, Message, Sampling, TextPart, Usage
from lalm_bench.llm.urls import redact_url
from lalm_bench.sqlite import (
    SqliteStore,
    connect_sqlite_read_only,
    is_sqlite_damage,
    remove_sqlite_files,
    set_sqlite_version,
    sqlite_retry,
    sqlite_schema_version,
)

CACHE_ENV = "LALM_BENCH_LLM_CACHE"
_DISABLED_VALUES = {"", "0", "off", "none", "false", "no", "disabled"}
#: ``cache_key_extra`` keys that identify a stochastic call's run, making it cacheable.
RUN_IDENTITY_KEYS = ("run", "seed")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    meta TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_path() -> Path | None:
    """``$LALM_BENCH_LLM_CACHE`` (``off`` disables the cache), else the user cache directory."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return None if env.strip().lower() in _DISABLED_VALUES else Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lalm-bench")) / "llm-cache.sqlite"


def is_cacheable(sampling: Sampling, cache_key_extra: dict[str, Any] | None) -> bool:
    """Deterministic calls, and stochastic calls keyed by their run (see the module docstring)."""
    if sampling.deterministic:
        return True
    return bool(cache_key_extra) and any(k in (cache_key_extra or {}) for k in RUN_IDENTITY_KEYS)


def message_key(message: Message) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, AudioPart):
            parts.append({"type": "audio", "format": part.format, "sha256": part.sha256})
        elif isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        else:  # pragma: no cover - the Part union is closed
            raise TypeError(f"unknown content part {type(part).__name__}")
    return {"role": message.role, "content": parts}


def cache_key(
    *,
    model: str,
    base_url: str | None,
    messages: list[Message],
    sampling: Sampling,
    schema: type[BaseModel] | dict[str, Any] | None,
    extra: dict[str, Any] | None,
    shape: dict[str, Any] | None = None,
) -> str:
    """The SHA-256 hex key of a request (see the module docstring); ``shape`` is the model's non-default
    request shape (left out when empty, so keys of the default shape stay as they were)."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema_json: Any = {"name": schema.__name__, "schema": schema.model_json_schema()}
    else:
        schema_json = schema
    payload = {
        "model": model,
        "base_url": redact_url(base_url),
        "messages": [message_key(m) for m in messages],
        "sampling": asdict(sampling),
        "schema": schema_json,
        "extra": extra or {},
    }
    if shape:
        payload["shape"] = shape
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class CacheEntry:
    text: str
    usage: Usage
    model: str
    meta: dict[str, Any]


class ResponseCache(SqliteStore):
    """A SQLite response cache shared safely by threads and processes.

    :attr:`damaged` holds the reason once the file turned out to be damaged (or no database): the
    cache then misses every key and ignores writes. ``read_only`` opens an existing file for reading
    only (nothing is created)."""

    what = "LLM response cache"
    clear_hint = "delete the file, or run `lalm-bench cache clear --llm`"

    def __init__(
        self, path: str | Path, *, busy_timeout_s: float = 60.0, read_only: bool = False, warn: bool = True
    ) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self.warn = warn
        self.damaged: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.writes = 0
        #: Writes held for one grouped transaction (see :meth:`group_writes`): key -> row.
        self._pending: dict[str, tuple[Any, ...]] = {}
        self._pending_since = 0.0
        self._group: tuple[float, int] | None = None
        try:
            if read_only:
                if self.path.is_file():
                    self._conn = connect_sqlite_read_only(self.path, busy_timeout_s)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(
                    str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
                )
                conn = self._conn

                def setup() -> None:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    sqlite_schema_version(
                        conn, version=SCHEMA_VERSION, tables=("responses",), path=self.path, what="LLM response cache"
                    )
                    conn.execute(_SCHEMA)
                    set_sqlite_version(conn, SCHEMA_VERSION)

                sqlite_retry(setup, timeout_s=busy_timeout_s)
            if self._conn is not None and read_only:
                sqlite_schema_version(
                    self._conn, version=SCHEMA_VERSION, tables=("responses",), path=self.path, what="LLM response cache"
                )
        except InputError as exc:
            self._close_quietly()
            raise LLMConfigError(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            if not is_sqlite_damage(exc):
                self._close_quietly()
                raise LLMConfigError(f"cannot open the LLM response cache {self.path}: {exc}") from None
            self._mark_damaged(exc)
        except (OSError, sqlite3.Error) as exc:
            self._close_quietly()
            raise LLMConfigError(f"cannot open the LLM response cache {self.path}: {exc}") from None

    def group_writes(self, max_s: float = 0.5, max_entries: int = 256) -> None:
        """From now on, hold :meth:`put` writes and commit them together, at most ``max_s`` seconds or
        ``max_entries`` entries late (one transaction instead of one per reply). For callers whose own
        log keeps every result (the run engine): a killed process loses the entries not yet committed,
        never a committed one. :meth:`get` sees held entries; :meth:`write_now` commits them and stops."""
        with self._lock:
            self._group = (max_s, max_entries)

    def write_now(self) -> None:
        """Commit every held write and write each later one at once again."""
        with self._lock:
            self._group = None
            self._flush_locked()

    def _flush_locked(self) -> None:
        rows, self._pending = list(self._pending.values()), {}
        if not rows or self._conn is None or self.read_only:
            return
        try:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._handle(exc)
            return
        self.writes += len(rows)

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            held = self._pending.get(key)
            if held is not None:
                self.hits += 1
                return CacheEntry(text=held[2], usage=Usage(held[3], held[4]), model=held[1], meta=json.loads(held[5]))
            if self._conn is None:
                self.misses += 1
                return None
            try:
                row = self._conn.execute(
                    "SELECT text, prompt_tokens, completion_tokens, model, meta FROM responses WHERE key = ?",
                    (key,),
                ).fetchone()
                meta = json.loads(row[4]) if row is not None else {}
            except sqlite3.Error as exc:
                self._handle(exc)
                row = None
            except (ValueError, TypeError) as exc:  # a row that is not ours
                self._mark_damaged(f"database disk image is malformed ({first_line(exc)})")
                row = None
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return CacheEntry(text=row[0], usage=Usage(row[1], row[2]), model=row[3], meta=meta)

    def put(self, key: str, text: str, usage: Usage, model: str, meta: dict[str, Any] | None = None) -> None:
        with self._lock:
            if self._conn is None or self.read_only:
                return
            row = (
                key,
                model,
                text,
                usage.prompt_tokens,
                usage.completion_tokens,
                json.dumps(meta or {}, sort_keys=True, default=str),
                time.time(),
            )
            if self._group is not None:
                if not self._pending:
                    self._pending_since = time.monotonic()
                self._pending[key] = row
                max_s, max_entries = self._group
                if len(self._pending) >= max_entries or time.monotonic() - self._pending_since >= max_s:
                    self._flush_locked()
                return
            try:
                self._conn.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            except sqlite3.Error as exc:
                self._handle(exc)
                return
            self.writes += 1

    def __len__(self) -> int:
        with self._lock:
            self._flush_locked()
            if self._conn is None:
                return 0
            try:
                return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
            except sqlite3.Error as exc:
                self._handle(exc)
                return 0

    def stats(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "hits": self.hits,
            "misses": self.misses,
            "writes": self.writes,
            **({"damaged": self.damaged} if self.damaged else {}),
        }

    def clear(self) -> int:
        """Delete every cached response; returns how many went."""
        with self._lock:
            self._pending.clear()
            if self._conn is None or self.read_only:
                return 0
            try:
                n = int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
                self._conn.execute("DELETE FROM responses")
                self._conn.execute("VACUUM")
            except sqlite3.Error as exc:
                self._handle(exc)
                return 0
        return n

    def remove_files(self) -> list[Path]:
        """Close and delete the cache file and its companions."""
        with self._lock:
            self._pending.clear()
            self._close_quietly()
        return remove_sqlite_files(self.path)

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            self._close_quietly()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_cache(cache: ResponseCache | str | Path | bool | None = True) -> ResponseCache | None:
    """Resolve a provider's ``cache`` option: ``True`` = default location, ``None``/``False`` = off,
    a path = that file, a :class:`ResponseCache` = itself (shared)."""
    if isinstance(cache, ResponseCache):
        return cache
    if cache is None or cache is False:
        return None
    if cache is True:
        path = default_cache_path()
        return None if path is None else ResponseCache(path)
    return ResponseCache(cache)
