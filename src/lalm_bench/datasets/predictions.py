"""Prediction files: one model answer per benchmark item, read, validated and joined on an id column.

A prediction file is a table (Parquet, or CSV/TSV/JSON Lines by extension) with an id column, the
model's answer (``model_output`` by default) and whatever item columns a job needs (category,
choices, ...). ``predict`` writes one per audio condition; jobs that compare conditions
(``similarity``, ``accuracy``) read them with :func:`read_predictions` and join them with
:func:`join_predictions`. A file of ``predict --permute-choices`` holds one row per (id,
``permutation_index``): the rows of order 0 (the benchmark's) are the file's items, the others are kept
apart in :attr:`PredictionFile.orders` (for ``accuracy``'s option-order statistics).
Every problem is a one-line :class:`~lalm_bench.errors.InputError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


ORDER_COLUMN = "permutation_index"


@dataclass
class PredictionFile:
    """One prediction file, validated: unique non-null ids, answers that are strings or null.

    ``frame`` has the columns ``id``, ``text`` and, renamed to their keys, the ``required`` columns
    and those ``optional`` columns that the file has (``present``)."""

    name: str
    path: Path
    frame: pd.DataFrame
    present: frozenset[str] = field(default_factory=frozenset)
    orders: pd.DataFrame | None = None  # rows of the other option orders (all the file's columns), if any

    @property
    def null_texts(self) -> int:
        return int(self.frame["text"].isna().sum())


def read_prediction_table(path: str | Path) -> pd.DataFrame:
    """A Parquet file (recognised by its magic bytes, whatever its name), else CSV/TSV/JSONL by extension."""
    from lalm_bench.io import read_parquet, read_table, require_file

    path = require_file(path, "prediction file")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1" or path.suffix.lower() in {".parquet", ".pq"}:
        return read_parquet(path)
    return read_table(path)


def split_orders(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows of the benchmark's option order and (``None`` without a ``permutation_index`` column) the
    rows of the other orders that ``predict --permute-choices`` adds."""
    if ORDER_COLUMN not in df.columns:
        return df, None
    import pandas as pd

    index = pd.to_numeric(df[ORDER_COLUMN], errors="coerce")
    if index.isna().any() or (index < 0).any():
        raise InputError(f"{path}: column {ORDER_COLUMN!r} must hold integers >= 0")
    return df[index == 0].reset_index(drop=True), df[index != 0].reset_index(drop=True)


def check_single_ids(ids: pd.Series, path: Path, id_column: str) -> None:
    """Every id a single value (a string or a number), never a list, dict or array: one :class:`InputError`.

    The same rule for every file that holds ids (``predict``'s benchmarks, prediction files), so that
    ``predict`` refuses before any request the ids that ``similarity`` and ``accuracy`` would refuse."""
    check_single_id_values(ids.tolist(), path, id_column)


def check_single_id_values(ids: Sequence[Any], path: Path, id_column: str) -> None:
    """:func:`check_single_ids` of the ids as a list (no pandas)."""
    import numpy as np

    nested = [v for v in ids if isinstance(v, (list, tuple, dict, set, np.ndarray))]
    if nested:
        example = nested[0]
        raise InputError(
            f"{path}: column {id_column!r} holds {type(example).__name__} values in {len(nested)} row(s) "
            f"(e.g. {str(example)[:60]}); an id must be a single string or number"
        )


def check_ids_and_texts(df: pd.DataFrame, path: Path, id_column: str, text_column: str) -> None:
    """Ids single, present and unique; answers strings or null. Each problem is one :class:`InputError`."""
    ids = df[id_column]
    check_single_ids(ids, path, id_column)
    if ids.isna().any():
        raise InputError(f"{path}: {int(ids.isna().sum())} row(s) have no {id_column!r}")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        examples = ", ".join(map(repr, dup.drop_duplicates().head(3).tolist()))
        raise InputError(
            f"{path}: {dup.nunique()} duplicate {id_column!r} value(s) in {len(dup)} rows (e.g. {examples})"
        )
    texts = df[text_column]
    bad = texts[texts.notna() & ~texts.map(lambda v: isinstance(v, str))]
    if len(bad):
        raise InputError(
            f"{path}: column {text_column!r} must hold strings, found {type(bad.iloc[0]).__name__} in {len(bad)} row(s)"
        )


def read_predictions(
    path: str | Path,
    *,
    name: str,
    id_column: str = "id",
    text_column: str = "model_output",
    required: Mapping[str, str] | None = None,
    optional: Mapping[str, str] | None = None,
    hint: str = "",
) -> PredictionFile:
    """Read and validate one prediction file.

    ``required`` and ``optional`` map a job's names for item columns (``"choices"``) to the file's
    column names (``--choices-column``). A missing id, text or required column is an error that names
    what is missing, what the file has, and ``hint`` (what the job needs the columns for); missing or
    duplicate ids and answers that are neither strings nor null are errors too."""
    from lalm_bench.io import require_columns

    path = Path(path)
    df, orders = split_orders(read_prediction_table(path), path)
    required = dict(required or {})
    optional = dict(optional or {})
    wanted = [id_column, text_column, *required.values()]
    try:
        require_columns(df, list(dict.fromkeys(wanted)), path)
    except InputError as exc:
        raise InputError(f"{exc}{'; ' + hint if hint else ''}") from None
    check_ids_and_texts(df, path, id_column, text_column)
    columns = {"id": id_column, "text": text_column, **required}
    columns.update({k: v for k, v in optional.items() if v in df.columns and k not in columns})
    frame = df[list(columns.values())].copy()
    frame.columns = list(columns)
    return PredictionFile(
        name=name, path=path, frame=frame.reset_index(drop=True), present=frozenset(columns), orders=orders
    )


def join_predictions(files: Sequence[PredictionFile]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Inner join of prediction files on ``id``, in the first file's row order.

    Every column but ``id`` gets the file's name as a suffix (``text_audio``, ``choices_noise``).
    Returns the joined rows and a report: ``rows`` per file, ``matched`` ids, ``unmatched`` rows per
    file (rows whose id is missing from some other file). No id in common is an error."""
    if len(files) < 1:
        raise ValueError("join_predictions needs at least one file")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ValueError(f"file names must be unique: {names}")

    def suffixed(f: PredictionFile) -> pd.DataFrame:
        return f.frame.rename(columns={c: f"{c}_{f.name}" for c in f.frame.columns if c != "id"})

    merged = suffixed(files[0])
    first = files[0]
    for other in files[1:]:
        try:
            joined = merged.merge(suffixed(other), on="id", how="inner", sort=False, validate="one_to_one")
        except ValueError:  # pandas refuses to join e.g. int ids with string ids
            joined = merged.iloc[:0]
        if joined.empty:
            a, b = first.frame["id"], other.frame["id"]
            raise InputError(
                f"{first.path} and {other.path}: no ids in common "
                f"(id types: {a.dtype} vs {b.dtype}; e.g. {a.iloc[0]!r} vs {b.iloc[0]!r})"
                if len(a) and len(b)
                else f"{first.path} and {other.path}: no ids in common (a file has no rows)"
            )
        merged = joined
    merged = merged.reset_index(drop=True)
    n = len(merged)
    report: dict[str, Any] = {
        "rows": {f.name: len(f.frame) for f in files},
        "matched": n,
        "unmatched": {f.name: len(f.frame) - n for f in files},
    }
    return merged, report
