"""Benchmark files for ``predict``: one row per item with an id, audio path(s), a question and optional choices.

Parquet, JSON (a list of objects, or an object of equal-length columns) and JSON Lines are read as they
are (lists stay lists; no type guessing on ids or dates). Column names default to MMAU-Pro's and can be
renamed. Every problem with the file is a one-line :class:`~lalm_bench.errors.InputError`; a problem with
one item's audio is left to the caller, who records it against that item.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".parquet", ".pq", ".json", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class BenchmarkColumns:
    """Column names. ``None`` for an optional column means "MMAU-Pro's name, if the file has it"; a name given
    explicitly must exist."""

    id: str = "id"
    audio: str = "audio_path"
    question: str = "question"
    choices: str | None = None
    category: str | None = None
    answer: str | None = None

    DEFAULT_CHOICES = "choices"
    DEFAULT_CATEGORY = "category"
    DEFAULT_ANSWER = "answer"


@dataclass(frozen=True)
class BenchmarkItem:
    """One benchmark row as ``predict`` uses it (the row itself stays in :attr:`Benchmark.rows`)."""

    row: int  # position in the file
    id: str  # the id as text (the key of run logs and of the noise seed)
    audio: tuple[str, ...]  # as listed; absolute names under the audio root are made relative to it
    question: str
    choices: tuple[str, ...]
    category: str | None


class Rows:
    """A benchmark file's rows: the parsed objects of a JSON or JSON Lines file (no pandas), or the frame
    of a Parquet file."""

    def __init__(self, records: list[dict[str, Any]] | None = None, frame: pd.DataFrame | None = None) -> None:
        if (records is None) == (frame is None):
            raise ValueError("give records or a frame")
        self.records = records
        self.parquet_frame = frame
        if records is not None:
            self.names: list[str] = list(dict.fromkeys(k for r in records for k in r))
            self._cells: dict[str, list[Any]] = {}
        else:
            assert frame is not None
            self.names = list(frame.columns)

    def __len__(self) -> int:
        return len(self.records) if self.records is not None else len(self.parquet_frame)  # type: ignore[arg-type]

    def cells(self, name: str) -> list[Any]:
        """The values of column ``name``, one per row (``None`` where a JSON row lacks it)."""
        if self.records is None:
            assert self.parquet_frame is not None
            return list(self.parquet_frame[name].tolist())
        if name not in self._cells:
            self._cells[name] = [r.get(name) for r in self.records]
        return self._cells[name]

    def frame(self) -> pd.DataFrame:
        """The rows as a pandas frame (:func:`lalm_bench.io.rows_frame` for JSON)."""
        from lalm_bench.io import rows_frame

        return self.parquet_frame if self.parquet_frame is not None else rows_frame(self.records or [])


@dataclass
class Benchmark:
    path: Path
    rows: Rows
    items: list[BenchmarkItem]
    columns: dict[str, str | None]  # role -> column actually used (None: absent)
    notes: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        """The file's rows as a pandas frame (built on demand for JSON: ``predict`` itself needs no pandas)."""
        return self.rows.frame()


def read_rows(path: Path) -> Rows:
    """The rows of a Parquet, JSON or JSON Lines file (by extension)."""
    from lalm_bench.io import read_json_records, read_parquet, require_file

    path = require_file(path, "benchmark file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = read_parquet(path)
        if any(name is not None for name in frame.index.names):  # a named index (e.g. the ids) is a column too
            frame = frame.reset_index()
        return Rows(frame=frame.reset_index(drop=True))
    if suffix not in FORMATS:
        raise InputError(f"{path}: unsupported benchmark format {suffix or '(none)'!r} (use .parquet, .json or .jsonl)")
    return Rows(records=read_json_records(path, "benchmark file"))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in {"NAType", "NaTType"}


def _text_list(value: Any) -> list[Any] | None:
    """A list from a list, tuple or numpy array; ``None`` for anything else."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1:
        return list(value.tolist())
    return None


def _audio_names(value: Any, item: str, column: str, root: Path) -> tuple[str, ...]:
    if _missing(value):
        return ()
    names = [value] if isinstance(value, str) else _text_list(value)
    if names is None or not all(isinstance(n, str) for n in names):
        raise InputError(f"item {item!r}: {column!r} must be a path or a list of paths, got {type(value).__name__}")
    return tuple(_relative_to_root(n, root) for n in names)


def _relative_to_root(name: str, root: Path) -> str:
    """An absolute name under ``root`` as a name relative to it (checked again when the file is read);
    other names unchanged (an absolute name outside the root is refused when it is read)."""
    if not os.path.isabs(name):
        return name
    try:
        return str(Path(name).resolve().relative_to(Path(root).resolve()))
    except (ValueError, OSError, RuntimeError):
        return name


def _choices(value: Any, item: str, column: str) -> tuple[str, ...]:
    if _missing(value):
        return ()
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list):
            raise InputError(f"item {item!r}: {column!r} must be a list of choices (or a JSON list), got a string")
        value = parsed
    choices = _text_list(value)
    if choices is None:
        raise InputError(f"item {item!r}: {column!r} must be a list of choices, got {type(value).__name__}")
    return tuple("" if _missing(c) else str(c) for c in choices)


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids read as floats because another row lacked one (then refused anyway)
    return str(value)


def load_benchmark(
    path: Path,
    columns: BenchmarkColumns,
    *,
    audio_root: Path,
    need_audio: bool = True,
) -> Benchmark:
    """Read and check a benchmark file; see the module docstring.

    Refused (one line each): a missing named column, a missing or duplicate id, a missing question, an
    audio cell that is neither a path nor a list of paths (only when ``need_audio``), choices that are not
    a list. An item without audio is not refused here (the caller records it as failed)."""
    rows = read_rows(path)
    if not len(rows) or not rows.names:
        raise InputError(f"{path}: the benchmark has no rows")
    used = _columns_used(rows, columns, path, need_audio)
    keys = _item_ids(rows, columns.id, path)
    items = _items(rows, keys, used, path, audio_root=audio_root, need_audio=need_audio)
    return Benchmark(path=Path(path), rows=rows, items=items, columns=used)


def _columns_used(rows: Rows, columns: BenchmarkColumns, path: Path, need_audio: bool) -> dict[str, str | None]:
    """The column of each role (``None``: absent); a column named on the command line must exist."""
    from lalm_bench.io import require_columns

    optional = {
        "choices": (columns.choices, BenchmarkColumns.DEFAULT_CHOICES),
        "category": (columns.category, BenchmarkColumns.DEFAULT_CATEGORY),
        "answer": (columns.answer, BenchmarkColumns.DEFAULT_ANSWER),
    }
    required = [columns.id, columns.question] + ([columns.audio] if need_audio else [])
    required += [given for given, _ in optional.values() if given is not None]
    require_columns(rows.names, list(dict.fromkeys(required)), path)
    used: dict[str, str | None] = {
        "id": columns.id,
        "audio": columns.audio if columns.audio in rows.names else None,
        "question": columns.question,
    }
    for role, (given, default) in optional.items():
        used[role] = given if given is not None else (default if default in rows.names else None)
    return used


def _item_ids(rows: Rows, column: str, path: Path) -> list[str]:
    """The ids as text; a list-valued, missing or duplicate id, or numbers mixed with strings, is refused."""
    from lalm_bench.datasets.predictions import check_single_id_values

    ids = rows.cells(column)
    check_single_id_values(ids, path, column)
    missing_ids = [i for i, v in enumerate(ids) if _missing(v) or str(v).strip() == ""]
    if missing_ids:
        raise InputError(f"{path}: {len(missing_ids)} row(s) have no {column!r} (first: row {missing_ids[0] + 1})")
    kinds = {"text" if isinstance(v, str) else "number" for v in ids}
    if len(kinds) > 1:  # the output table (Parquet) holds one type per column: the ids would be rewritten
        number = next(v for v in ids if not isinstance(v, str))
        text = next(v for v in ids if isinstance(v, str))
        raise InputError(
            f"{path}: column {column!r} mixes numbers and strings (e.g. {number!r} and {text!r}); "
            "write every id the same way"
        )
    keys = [_id_text(v) for v in ids]
    seen: dict[str, int] = {}
    dups: list[str] = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            dups.append(key)
    if dups:
        examples = ", ".join(map(repr, dups[:3]))
        raise InputError(f"{path}: {len(dups)} duplicate {column!r} value(s) (e.g. {examples}); ids must be unique")
    return keys


def _items(
    rows: Rows,
    keys: list[str],
    used: dict[str, str | None],
    path: Path,
    *,
    audio_root: Path,
    need_audio: bool,
) -> list[BenchmarkItem]:
    """One checked item per row: its question, audio file names, choices and category."""
    question_column = str(used["question"])

    def cells(role: str) -> Sequence[Any]:
        column = used[role]
        return rows.cells(column) if column else [None] * len(rows)

    questions, audio_cells, choice_cells, category_cells = (
        cells(r) for r in ("question", "audio", "choices", "category")
    )
    items: list[BenchmarkItem] = []
    for row, key in enumerate(keys):
        question = questions[row]
        if _missing(question) or not str(question).strip():
            raise InputError(f"{path}: item {key!r} has no {question_column!r}")
        if not isinstance(question, str):
            raise InputError(f"{path}: item {key!r}: {question_column!r} must be text, got {type(question).__name__}")
        try:
            audio = _audio_names(audio_cells[row], key, str(used["audio"]), audio_root) if need_audio else ()
            choices = _choices(choice_cells[row], key, str(used["choices"]))
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        cat = category_cells[row]
        items.append(
            BenchmarkItem(
                row=row,
                id=key,
                audio=audio,
                question=question,
                choices=choices,
                category=None if _missing(cat) else str(cat),
            )
        )
    return items
