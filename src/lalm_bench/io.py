"""Tables and files in and out: atomic writes, strict JSON, hashing, input validation."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lalm_bench.errors import InputError, OutputExistsError

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``.

    A crash or exception leaves any earlier ``path`` untouched and no half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding, newline=None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def to_strict_json(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types; NaN and ±Infinity become ``None``.

    Handles numpy scalars and arrays, pandas missing values, Paths, tuples and sets.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_strict_json(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    # numpy / pandas scalars and arrays, without importing them eagerly
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return to_strict_json(obj.tolist())
    if hasattr(obj, "item") and callable(obj.item):
        return to_strict_json(obj.item())
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if type(obj).__name__ in {"NAType", "NaTType"}:
        return None
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def dumps_strict(obj: Any, indent: int | None = 2) -> str:
    """Serialise to JSON that every parser accepts: never NaN or Infinity."""
    return json.dumps(to_strict_json(obj), indent=indent, ensure_ascii=False, allow_nan=False)


def write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """Write strict JSON atomically."""
    atomic_write_text(path, dumps_strict(obj, indent=indent) + "\n")


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    """Write a DataFrame as UTF-8 CSV atomically (no index)."""
    with atomic_open(path, "w") as fh:
        df.to_csv(fh, index=False, lineterminator="\n")


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_writable(paths: list[Path], overwrite: bool) -> None:
    """Refuse to run when an output exists and ``overwrite`` is false (checked before any work)."""
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"output exists: {', '.join(existing)} (pass --overwrite to replace it)")
    for p in paths:
        if p.exists() and p.is_dir():
            raise InputError(f"{p}: output path is a directory")


def require_file(path: str | Path, what: str = "input file") -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.is_dir():
        raise InputError(f"{path}: {what} is a directory, expected a file")
    return path


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file, turning every failure into a one-line :class:`InputError`."""
    import pandas as pd
    import pyarrow as pa

    path = require_file(path, "Parquet file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PAR1":
        raise InputError(f"{path}: not a Parquet file")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read Parquet file ({str(exc).splitlines()[0]})") from exc


def read_table(path: str | Path, **csv_kwargs: Any) -> pd.DataFrame:
    """Read Parquet, CSV/TSV or JSON Lines by file extension."""
    import pandas as pd

    path = require_file(path, "table")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path)
    try:
        if suffix in {".csv", ".tsv"}:
            kwargs = {"sep": "\t" if suffix == ".tsv" else ",", "keep_default_na": False, "dtype": str}
            kwargs.update(csv_kwargs)
            return pd.read_csv(path, **kwargs)
        if suffix in {".jsonl", ".ndjson"}:
            return pd.read_json(path, lines=True)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot read table ({str(exc).splitlines()[0]})") from exc
    raise InputError(f"{path}: unsupported table format {suffix!r} (use .parquet, .csv, .tsv or .jsonl)")


def require_columns(df: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "(none)"
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; columns present: {have}")
