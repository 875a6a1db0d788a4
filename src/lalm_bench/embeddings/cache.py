"""On-disk embedding cache shared by all jobs and runs (SQLite, WAL).

A vector is stored under (model key, SHA-256 of the text). The model key covers everything that
changes a vector: model name, resolved revision or a hash of the weight files, max_seq_length,
normalization, backend and precision. Each batch is committed on its own, so a killed run keeps
what it finished and leaves a consistent database; WAL lets several processes read and write at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.io import set_sqlite_version, sqlite_schema_version

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


class EmbeddingCache:
    """An SQLite store of (model key, text hash) → (float32 vector, token count)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else default_cache_dir()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=120, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 120000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            sqlite_schema_version(
                self._conn,
                version=SCHEMA_VERSION,
                tables=("models", "vectors", "file_hashes"),
                path=self.path,
                what="embedding cache",
            )
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
            set_sqlite_version(self._conn, SCHEMA_VERSION)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(
                f"cannot open the embedding cache in {self.directory}: {exc} "
                f"(choose another with --cache-dir or ${CACHE_ENV}, or pass --no-cache)"
            ) from exc
        self._model_ids: dict[str, int] = {}

    @property
    def path(self) -> Path:
        return self.directory / DB_NAME

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed on success, rolled back on any error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _model_id(self, model: ModelKey, create: bool) -> int | None:
        key = model.key
        if key in self._model_ids:
            return self._model_ids[key]
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
        """The cached (vector, token count) of each hash that is present."""
        model_id = self._model_id(model, create=False)
        found: dict[bytes, tuple[np.ndarray, int]] = {}
        if model_id is None:
            return found
        for start in range(0, len(hashes), 500):
            chunk = list(hashes[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT text_sha256, tokens, vector FROM vectors "
                f"WHERE model_id = ? AND text_sha256 IN ({marks})",
                (model_id, *chunk),
            )
            for sha, tokens, blob in rows:
                found[bytes(sha)] = (np.frombuffer(blob, dtype=np.float32), int(tokens))
        return found

    def put(self, model: ModelKey, items: Iterable[tuple[bytes, np.ndarray, int]]) -> None:
        """Store (hash, vector, token count) items in one transaction."""
        model_id = self._model_id(model, create=True)
        rows = [
            (model_id, sha, int(tokens), np.ascontiguousarray(vec, dtype=np.float32).tobytes())
            for sha, vec, tokens in items
        ]
        with self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO vectors (model_id, text_sha256, tokens, vector) VALUES (?, ?, ?, ?)",
                rows,
            )

    def info(self) -> dict[str, Any]:
        """Location, size on disk, and entries per model key."""
        size = sum(p.stat().st_size for p in self.directory.glob(DB_NAME + "*") if p.is_file())
        models = []
        rows = self._conn.execute(
            "SELECT m.spec, COUNT(v.model_id) FROM models m LEFT JOIN vectors v ON v.model_id = m.id "
            "GROUP BY m.id ORDER BY m.name, m.id"
        )
        for spec, count in rows:
            models.append({**json.loads(spec), "entries": int(count)})
        return {
            "directory": str(self.directory),
            "database": str(self.path),
            "bytes": size,
            "entries": sum(m["entries"] for m in models),
            "models": models,
        }

    def clear(self, model_name: str | None = None) -> int:
        """Delete all entries (or those of one model name); returns how many vectors went."""
        with self._transaction():
            if model_name is None:
                n = self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                self._conn.execute("DELETE FROM vectors")
                self._conn.execute("DELETE FROM models")
            else:
                ids = [
                    r[0] for r in self._conn.execute("SELECT id FROM models WHERE name = ?", (model_name,))
                ]
                marks = ",".join("?" * len(ids))
                n = (
                    self._conn.execute(
                        f"SELECT COUNT(*) FROM vectors WHERE model_id IN ({marks})", ids
                    ).fetchone()[0]
                    if ids
                    else 0
                )
                if ids:
                    self._conn.execute(f"DELETE FROM vectors WHERE model_id IN ({marks})", ids)
                    self._conn.execute(f"DELETE FROM models WHERE id IN ({marks})", ids)
        self._model_ids.clear()
        if model_name is None:
            self._conn.execute("VACUUM")
        return int(n)

    def file_sha256(self, path: str | Path) -> str:
        """SHA-256 of a file, memoised by (path, size, mtime) so big weights are hashed once."""
        from lalm_bench.io import sha256_file

        p = Path(path).resolve()
        st = p.stat()
        row = self._conn.execute(
            "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
            (str(p), st.st_size, st.st_mtime_ns),
        ).fetchone()
        if row:
            return str(row[0])
        digest = sha256_file(p)
        with self._transaction():
            self._conn.execute("DELETE FROM file_hashes WHERE path = ?", (str(p),))
            self._conn.execute(
                "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                (str(p), st.st_size, st.st_mtime_ns, digest),
            )
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
