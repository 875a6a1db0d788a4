"""On-disk embedding cache shared by all jobs and runs (SQLite, WAL).

A vector is stored under (model key, SHA-256 of the text). The model key covers everything that
changes a vector: model name, resolved revision or a hash of the weight files, max_seq_length,
normalization, backend and precision. Each batch is committed on its own, so a killed run keeps
what it finished and leaves a consistent database; WAL lets several processes read and write at once.

A damaged database file (bytes overwritten, truncated, not a database) never stops a job: the
first SQLite error that says so marks the cache damaged, a one-line warning names the file, and the
job goes on without the cache. ``lalm-bench cache clear`` removes a damaged file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench.errors import InputError, first_line
from lalm_bench.sqlite import (
    SqliteStore,
    connect_sqlite_read_only,
    is_sqlite_damage,
    remove_sqlite_files,
    set_sqlite_version,
    sqlite_damage,
    sqlite_retry,
    sqlite_schema_version,
)

CACHE_ENV = "LALM_BENCH_CACHE_DIR"
DB_NAME = "embeddings.sqlite3"
SCHEMA_VERSION = 1
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx", ".msgpack", ".h5")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    spec TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vectors (
    model_id INTEGER NOT NULL,
    text_sha256 BLOB NOT NULL,
    tokens INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (path, size, mtime_ns)
);
"""


def default_cache_dir() -> Path:
    """``$LALM_BENCH_CACHE_DIR``, else the user cache dir (e.g. ``~/.cache/lalm-bench/embeddings``)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("lalm-bench")) / "embeddings"


def text_sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class ModelKey:
    """Everything that determines an embedding vector besides the text."""

    name: str
    identity: str  # "rev:<commit>" for hub models, "sha256:<hash of weight files>" for local folders
    max_seq_length: int
    normalized: bool = True
    backend: str = "torch"
    precision: str = "fp32"

    @property
    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _vector_problem(vectors: list[np.ndarray], normalized: bool) -> str | None:
    """Why stored vectors cannot be what was written (SQLite checks its pages, not our payload):
    several sizes, non-finite values, or normalized vectors whose length is not 1 (or 0)."""
    if not vectors:
        return None
    if len({len(v) for v in vectors}) > 1:
        return "stored vectors of several sizes"
    block = np.stack(vectors).astype(np.float64)
    if not np.isfinite(block).all():
        return "a stored vector holds non-finite values"
    if normalized:
        norms = np.sqrt(np.einsum("ij,ij->i", block, block))
        if np.any((np.abs(norms - 1.0) > 1e-2) & (norms > 0.0)):
            return "a stored vector is not of unit length"
    return None


class EmbeddingCache(SqliteStore):
    """An SQLite store of (model key, text hash) → (float32 vector, token count).

    ``read_only`` opens an existing database for reading only (``cache info``): nothing is created,
    not even the folder, and a read-only location works. :attr:`damaged` holds the reason once the
    database file turned out to be damaged; the cache is then empty and ignores writes."""

    what = "embedding cache"
    clear_hint = "`lalm-bench cache clear` removes it"

    def __init__(self, directory: str | Path | None = None, *, read_only: bool = False, warn: bool = True) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        self.path = self.directory / DB_NAME
        self.read_only = read_only
        self.warn = warn
        self.damaged: str | None = None
        self.write_error: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._model_ids: dict[str, int] = {}
        self._warned = False
        try:
            if read_only:
                self._conn = self._connect_read_only()
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
                self._conn.execute("PRAGMA busy_timeout = 120000")
                conn = self._conn
                sqlite_retry(lambda: conn.execute("PRAGMA journal_mode = WAL"), timeout_s=120)
                self._conn.execute("PRAGMA synchronous = NORMAL")
            if self._conn is not None:
                sqlite_schema_version(
                    self._conn,
                    version=SCHEMA_VERSION,
                    tables=("models", "vectors", "file_hashes"),
                    path=self.path,
                    what="embedding cache",
                )
            if not read_only and self._conn is not None:
                with self._transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                set_sqlite_version(self._conn, SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            if not is_sqlite_damage(exc):
                self._close_quietly()
                raise InputError(
                    f"cannot open the embedding cache {self.path}: {exc} "
                    f"(choose another with --embedding-cache-dir or ${CACHE_ENV}, or pass --no-embedding-cache)"
                ) from None
            self._mark_damaged(exc)
        except OSError as exc:
            self._close_quietly()
            raise InputError(
                f"cannot open the embedding cache in {self.directory}: {exc} "
                f"(choose another with --embedding-cache-dir or ${CACHE_ENV}, or pass --no-embedding-cache)"
            ) from exc
        except BaseException:
            self._close_quietly()
            raise

    def _connect_read_only(self) -> sqlite3.Connection | None:
        return connect_sqlite_read_only(self.path) if self.path.is_file() else None

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def remove_files(self) -> list[Path]:
        """Close and delete the database file and its companions (for a damaged cache)."""
        self._close_quietly()
        return remove_sqlite_files(self.path)

    def close(self) -> None:
        self._close_quietly()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back on any error."""
        assert self._conn is not None
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _model_id(self, model: ModelKey, create: bool) -> int | None:
        key = model.key
        if key in self._model_ids:
            return self._model_ids[key]
        if self._conn is None:
            return None
        row = self._conn.execute("SELECT id FROM models WHERE key = ?", (key,)).fetchone()
        if row is None and create:
            with self._transaction():
                self._conn.execute(
                    "INSERT OR IGNORE INTO models (key, spec, name) VALUES (?, ?, ?)",
                    (key, json.dumps(model.to_dict()), model.name),
                )
            row = self._conn.execute("SELECT id FROM models WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self._model_ids[key] = int(row[0])
        return int(row[0])

    def get(self, model: ModelKey, hashes: Sequence[bytes]) -> dict[bytes, tuple[np.ndarray, int]]:
        """The cached (vector, token count) of each hash that is present (none once the cache is damaged)."""
        found: dict[bytes, tuple[np.ndarray, int]] = {}
        try:
            model_id = self._model_id(model, create=False)
            if model_id is None or self._conn is None:
                return found
            for start in range(0, len(hashes), 500):
                chunk = list(hashes[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT text_sha256, tokens, vector FROM vectors WHERE model_id = ? AND text_sha256 IN ({marks})",
                    (model_id, *chunk),
                )
                for sha, tokens, blob in rows:
                    found[bytes(sha)] = (np.frombuffer(blob, dtype=np.float32), int(tokens))
        except sqlite3.Error as exc:
            self._handle(exc)
            return {}
        except (ValueError, TypeError) as exc:  # a blob that is no float32 vector
            self._mark_damaged(f"database disk image is malformed ({first_line(exc)})")
            return {}
        problem = _vector_problem([v for v, _ in found.values()], model.normalized)
        if problem:
            self._mark_damaged(f"database disk image is malformed ({problem})")
            return {}
        return found

    def put(self, model: ModelKey, items: Iterable[tuple[bytes, np.ndarray, int]]) -> None:
        """Store (hash, vector, token count) items in one transaction (nothing once damaged or unwritable)."""
        if self._conn is None or self.read_only or self.write_error is not None:
            return
        rows = [(sha, int(tokens), np.ascontiguousarray(vec, dtype=np.float32).tobytes()) for sha, vec, tokens in items]
        try:
            model_id = self._model_id(model, create=True)
            with self._transaction():
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vectors (model_id, text_sha256, tokens, vector) VALUES (?, ?, ?, ?)",
                    [(model_id, *row) for row in rows],
                )
        except sqlite3.OperationalError as exc:  # read-only file, disk full: keep going without storing
            if is_sqlite_damage(exc):
                self._handle(exc)
                return
            self.write_error = first_line(exc)
            print(
                f"warning: cannot write to the embedding cache {self.path} ({self.write_error}); "
                "new vectors are not cached",
                file=sys.stderr,
            )
        except sqlite3.Error as exc:
            self._handle(exc)

    def info(self) -> dict[str, Any]:
        """Location, size on disk, entries per model key, and whether the database is damaged."""
        size = sum(p.stat().st_size for p in self.directory.glob(DB_NAME + "*") if p.is_file())
        report: dict[str, Any] = {
            "directory": str(self.directory),
            "database": str(self.path),
            "exists": self.exists,
            "bytes": size,
            "entries": 0,
            "models": [],
            "damaged": self.damaged,
        }
        if self._conn is None:
            return report
        problem = sqlite_damage(self._conn)  # an explicit inspection: worth reading every page
        if problem:
            self._mark_damaged(f"database disk image is malformed ({problem})")
            return {**report, "damaged": self.damaged}
        models = []
        try:
            rows = self._conn.execute(
                "SELECT m.spec, COUNT(v.model_id) FROM models m LEFT JOIN vectors v ON v.model_id = m.id "
                "GROUP BY m.id ORDER BY m.name, m.id"
            ).fetchall()
            for spec, count in rows:
                models.append({**json.loads(spec), "entries": int(count)})
        except sqlite3.Error as exc:
            self._handle(exc)
            return {**report, "damaged": self.damaged}
        except (ValueError, TypeError) as exc:  # a models row that is not our JSON
            self._mark_damaged(f"database disk image is malformed ({first_line(exc)})")
            return {**report, "damaged": self.damaged}
        return {**report, "entries": sum(m["entries"] for m in models), "models": models}

    def clear(self, model_name: str | None = None) -> int:
        """Delete all entries (or those of one model name); returns how many vectors went."""
        if self._conn is None:
            return 0
        try:
            with self._transaction():
                if model_name is None:
                    n = self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                    self._conn.execute("DELETE FROM vectors")
                    self._conn.execute("DELETE FROM models")
                else:
                    ids = [r[0] for r in self._conn.execute("SELECT id FROM models WHERE name = ?", (model_name,))]
                    marks = ",".join("?" * len(ids))
                    n = (
                        self._conn.execute(f"SELECT COUNT(*) FROM vectors WHERE model_id IN ({marks})", ids).fetchone()[
                            0
                        ]
                        if ids
                        else 0
                    )
                    if ids:
                        self._conn.execute(f"DELETE FROM vectors WHERE model_id IN ({marks})", ids)
                        self._conn.execute(f"DELETE FROM models WHERE id IN ({marks})", ids)
            self._model_ids.clear()
            if model_name is None:
                self._conn.execute("VACUUM")
        except sqlite3.Error as exc:
            self._handle(exc)
            return 0
        return int(n)

    def file_sha256(self, path: str | Path) -> str:
        """SHA-256 of a file, memoised by (path, size, mtime) so big weights are hashed once."""
        from lalm_bench.io import sha256_file

        p = Path(path).resolve()
        st = p.stat()
        try:
            if self._conn is not None:
                row = self._conn.execute(
                    "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                    (str(p), st.st_size, st.st_mtime_ns),
                ).fetchone()
                if row:
                    return str(row[0])
        except sqlite3.Error as exc:
            self._handle(exc)
        digest = sha256_file(p)
        if self._conn is None or self.read_only or self.write_error is not None:
            return digest
        try:
            with self._transaction():
                self._conn.execute("DELETE FROM file_hashes WHERE path = ?", (str(p),))
                self._conn.execute(
                    "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                    (str(p), st.st_size, st.st_mtime_ns, digest),
                )
        except sqlite3.OperationalError as exc:
            if is_sqlite_damage(exc):
                self._handle(exc)
            else:
                self.write_error = first_line(exc)
        except sqlite3.Error as exc:
            self._handle(exc)
        return digest


def weight_files(folder: str | Path) -> list[Path]:
    """The weight files of a local model folder (safetensors, bin, ...), sorted; backend exports excluded."""
    root = Path(folder)
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.name.endswith(WEIGHT_SUFFIXES)
        # exports for other backends sit beside the weights and do not change the torch model
        and not {"openvino", "onnx"} & set(p.relative_to(root).parts[:-1])
    )


def weights_identity(folder: str | Path, cache: EmbeddingCache | None = None) -> str:
    """``sha256:<digest>`` over the weight files of a local model (relative path + content hash each)."""
    from lalm_bench.io import sha256_file

    root = Path(folder)
    files = weight_files(root)
    if not files:
        raise InputError(f"model folder {root} holds no weight files ({', '.join(WEIGHT_SUFFIXES)})")
    h = hashlib.sha256()
    for f in files:
        digest = cache.file_sha256(f) if cache else sha256_file(f)
        h.update(f"{f.relative_to(root).as_posix()}\0{digest}\n".encode())
    return "sha256:" + h.hexdigest()
