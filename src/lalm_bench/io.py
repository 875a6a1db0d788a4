"""Tables and files in and out: atomic writes, strict JSON, hashing, input validation."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lalm_bench.errors import InputError, LalmBenchError, OutputExistsError, is_secret_key, redact

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``.

    A crash or exception leaves any earlier ``path`` untouched and no half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_special(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding, newline=None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _refuse_special(path)
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


def to_strict_json(obj: Any) -> Any:
    """Convert ``obj`` to plain JSON types; NaN and ±Infinity become ``None``; credentials become ``***``
    (:func:`lalm_bench.errors.redact` on every string, key-like fields masked).

    Handles numpy scalars and arrays, pandas missing values, Paths, tuples and sets.
    """
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {
            str(k): "***" if is_secret_key(k) and isinstance(v, str) and v else to_strict_json(v)
            for k, v in obj.items()
        }
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


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class OutputOptions:
    """Where a job writes (one file or one folder, depending on the job) and how."""

    path: Path
    plot: Path | None = None
    overwrite: bool = False
    quiet: bool = False


def node_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words: ``a regular file``, ``a folder``, ``a FIFO``, ``a socket`` ..."""
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def special_file(path: str | Path) -> str | None:
    """``None`` when ``path`` does not exist or is a regular file or a folder (links followed); else what
    it is (``a character device``, ``a FIFO``, ``a socket`` ...)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else node_kind(mode)


def _refuse_special(path: Path, label: str = "output") -> None:
    """Outputs are replaced by renaming a new file over them: never do that to a device, FIFO or socket
    (as root, ``--overwrite`` onto ``/dev/null`` would replace it for the whole machine)."""
    kind = special_file(path)
    if kind is not None:
        raise InputError(f"{label} {path} is {kind}, not a regular file; outputs must be regular files")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_folder_writable(folder: Path, what: str = "output folder") -> None:
    """``folder`` (or, if it does not exist yet, its nearest existing parent) is a writable directory."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} {folder} is a file, not a folder")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"cannot create {what} {folder}: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to {probe} (permission denied)" + ("" if probe == folder else f" for {folder}"))


def check_outputs(outputs: Mapping[str, Path | None], *, inputs: Sequence[Path] = (), overwrite: bool = False) -> None:
    """Everything about a job's outputs that can fail, checked before any work starts.

    ``outputs`` maps a label (the flag, e.g. ``--plot``) to a file path (``None`` = not asked for).
    Refused: an output that exists but is no regular file (a device, FIFO or socket: ``--overwrite``
    or not), two outputs naming one file, an output that is one of the ``inputs``, an output that is
    a folder, an output whose folder cannot be created or written, and an existing output without
    ``overwrite``."""
    named = [(label, Path(p)) for label, p in outputs.items() if p is not None]
    for label, path in named:
        _refuse_special(path, label)
    for i, (label, path) in enumerate(named):
        for other, prev in named[:i]:
            if _same_file(path, prev):
                raise InputError(f"{other} and {label} name the same file {path}; give each output its own path")
        for inp in inputs:
            if _same_file(path, Path(inp)):
                raise InputError(f"{label} {path} is one of the inputs; write the output elsewhere")
        if path.is_dir():
            raise InputError(f"{label} {path} is a folder; name a file")
        check_folder_writable(path.parent, f"the folder of {label}")
    existing = [str(p) for _, p in named if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"output exists: {', '.join(existing)} (pass --overwrite to replace it)")


class OutputSet:
    """A job's outputs, written all or nothing.

    Each output is staged as a temporary file beside its target; only when every one is written
    does :meth:`commit` move them into place (earlier files are kept aside until all moved, and put
    back if one move fails). An exception inside ``with OutputSet() as out:`` removes the staged
    files and leaves every earlier output untouched; a failed write (disk full, file too large,
    permission) is a one-line :class:`~lalm_bench.errors.LalmBenchError` naming the file."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    @contextlib.contextmanager
    def open(self, path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
        """A file handle whose content becomes ``path`` at commit."""
        path = Path(path)
        _refuse_special(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError as exc:
            raise _write_error(path, exc) from None
        self._staged.append((Path(tmp), path))
        try:
            with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise _write_error(path, exc) from None

    def json(self, path: str | Path, obj: Any) -> None:
        with self.open(path) as fh:
            fh.write(dumps_strict(obj) + "\n")

    def csv(self, path: str | Path, df: pd.DataFrame) -> None:
        with self.open(path) as fh:
            redact_frame(df).to_csv(fh, index=False, lineterminator="\n")

    def table(self, path: str | Path, df: pd.DataFrame) -> None:
        """Parquet for ``.parquet``/``.pq``, else CSV."""
        if Path(path).suffix.lower() in {".parquet", ".pq"}:
            with self.open(path, "wb") as fh:
                redact_frame(df).to_parquet(fh, index=False)
        else:
            self.csv(path, df)

    def commit(self) -> None:
        try:  # checked before any work too (check_outputs); again here, where nothing is placed yet
            for _, final in self._staged:
                _refuse_special(final)
        except InputError:
            self.discard()
            raise
        kept: list[tuple[Path, Path]] = []  # (earlier file moved aside, its place)
        placed: list[Path] = []
        try:
            for tmp, final in self._staged:
                if final.exists():
                    aside = final.with_name(f".{final.name}.{os.getpid()}.old")
                    os.replace(final, aside)
                    kept.append((aside, final))
                os.replace(tmp, final)
                placed.append(final)
        except OSError as exc:
            for final in placed:
                with contextlib.suppress(OSError):
                    os.unlink(final)
            for aside, final in kept:
                with contextlib.suppress(OSError):
                    os.replace(aside, final)
            self.discard()
            raise _write_error(final, exc) from None
        for aside, _ in kept:
            with contextlib.suppress(OSError):
                os.unlink(aside)
        self._staged.clear()

    def discard(self) -> None:
        for tmp, _ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._staged.clear()

    def __enter__(self) -> OutputSet:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def redact_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :func:`lalm_bench.errors.redact` applied to its text cells (a copy only when one changes)."""
    changed: dict[str, Any] = {}
    for column in df.columns:
        if df[column].dtype != object and str(df[column].dtype) not in ("string", "str"):
            continue
        values = df[column].tolist()
        cleaned = [redact(v) if isinstance(v, str) else v for v in values]
        if any(isinstance(a, str) and a != b for a, b in zip(values, cleaned, strict=True)):
            changed[column] = cleaned
    if not changed:
        return df
    out = df.copy()
    for column, cleaned in changed.items():
        out[column] = cleaned
    return out


def _write_error(path: Path, exc: OSError) -> LalmBenchError:
    reason = exc.strerror or type(exc).__name__
    return LalmBenchError(f"cannot write {path} ({reason}); no output was written")


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


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def read_json_rows(path: str | Path, what: str = "table") -> pd.DataFrame:
    """The rows of a JSON file (a list of objects, or an object of equal-length columns) or a JSON Lines
    file (one object per line), by extension, with every value as written: no type guessing, so an id
    ``"001"`` stays the string ``"001"`` (``"007"`` and ``"7"`` stay two ids), an answer ``"3"`` stays
    text, and an integer column with a gap keeps its integers (it is not turned into floats)."""
    return rows_frame(read_json_records(path, what))


def read_json_records(path: str | Path, what: str = "table") -> list[dict[str, Any]]:
    """The rows of :func:`read_json_rows` as the parsed objects (no pandas)."""
    path = require_file(path, what)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
        if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
            lengths = {len(v) for v in data.values()}
            if len(lengths) != 1:
                raise InputError(f"{path}: a JSON object of columns needs lists of one length, got {sorted(lengths)}")
            data = [dict(zip(data, values, strict=True)) for values in zip(*data.values(), strict=True)]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{path}: expected a JSON list of objects (one per row) or an object of columns")
        rows: list[dict[str, Any]] = data
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise InputError(f"{path}: line {lineno} is not valid JSON ({str(exc)[:200]})") from None
            if not isinstance(row, dict):
                raise InputError(f"{path}: line {lineno} is not a JSON object")
            rows.append(row)
    return rows


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """A table of ``rows`` (dicts) that keeps their values: where pandas would turn integers into floats
    (a column with a gap), the column holds the values as given instead (missing ones as ``None``)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows))
    for col in frame.columns:
        if frame[col].dtype.kind != "f":
            continue
        values = [r.get(col) for r in rows]
        if any(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[col] = pd.Series(values, dtype=object, index=frame.index)
    return frame


def read_table(path: str | Path, **csv_kwargs: Any) -> pd.DataFrame:
    """Read Parquet, CSV/TSV (as text) or JSON/JSON Lines (values as written, :func:`read_json_rows`) by
    file extension."""
    import pandas as pd

    path = require_file(path, "table")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path)
    if suffix in JSON_SUFFIXES:
        return read_json_rows(path)
    if suffix in {".csv", ".tsv"}:
        kwargs = {"sep": "\t" if suffix == ".tsv" else ",", "keep_default_na": False, "dtype": str}
        kwargs.update(csv_kwargs)
        try:
            return pd.read_csv(path, **kwargs)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(f"{path}: cannot read table ({str(exc).splitlines()[0]})") from exc
    raise InputError(f"{path}: unsupported table format {suffix!r} (use .parquet, .csv, .tsv, .json or .jsonl)")


def require_columns(df: pd.DataFrame | Sequence[Any], columns: list[str], path: str | Path) -> None:
    """Refuse a table (a frame, or its column names) that lacks any of ``columns``: one :class:`InputError`."""
    names = list(df.columns) if hasattr(df, "columns") else list(df)
    missing = [c for c in columns if c not in names]
    if missing:
        have = ", ".join(map(str, names)) or "(none)"
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; columns present: {have}")
