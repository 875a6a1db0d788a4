"""Parquet tables built with pyarrow alone that ``pd.read_parquet`` reads back exactly as if pandas had
written them: the same Arrow types and the same ``pandas`` schema metadata (each column's pandas dtype),
so nullable ``Int64``/``boolean`` columns and ``str`` columns come back as such.

``predict`` writes its tables this way so that its process never imports pandas (about half a second
of CPU per run); :func:`json_dtype` says which dtype pandas would give a column of JSON values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from lalm_bench.errors import redact

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: The pandas dtypes a :class:`Column` may have, with the Arrow type pandas converts each to
#: (``None``: inferred from the values, as pyarrow does for an ``object`` column).
DTYPES = ("object", "str", "int64", "float64", "bool", "Int64", "boolean")
_INT64 = (-(2**63), 2**63)


@dataclass(frozen=True)
class Column:
    """One column: its name, Python values (``None`` for missing) and the pandas dtype it stands for."""

    name: str
    values: Sequence[Any]
    dtype: str = "object"


def _arrow_type(dtype: str) -> pa.DataType | None:
    import pyarrow as pa

    return {
        "object": None,
        "str": pa.large_string(),  # pandas' default string dtype is Arrow-backed large_string
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "Int64": pa.int64(),
        "boolean": pa.bool_(),
    }[dtype]


def column_array(column: Column) -> pa.Array:
    """The Arrow array pandas would make of ``column`` (``pa.array(values, type, from_pandas=True)``). Raises
    pyarrow's error where an ``object`` column cannot convert.

    Plain values (text, numbers, booleans, and lists and objects of them, each column of one kind) are
    laid into Arrow buffers here: pyarrow's own conversion of Python values imports pandas on its first
    call (to see whether they are a pandas Series), half a second that ``predict`` does not need. Any other
    column goes to ``pa.array``."""
    import pyarrow as pa

    if column.dtype not in DTYPES:
        raise ValueError(f"column {column.name!r}: unsupported dtype {column.dtype!r}")
    arrow_type = _arrow_type(column.dtype)
    try:
        return _plain_array(column.values, arrow_type)
    except _NotPlain:
        return pa.array(column.values, type=arrow_type, from_pandas=True)


def redacted(column: Column) -> Column:
    """``column`` with :func:`~lalm_bench.errors.redact` applied to its text cells, as
    :func:`lalm_bench.io.redact_frame` does: an ``object`` column of text where a cell changed is then
    set anew, and pandas gives it its text dtype."""
    if column.dtype not in ("object", "str"):
        return column
    values = [redact(v) if isinstance(v, str) else v for v in column.values]
    if not any(isinstance(a, str) and a != b for a, b in zip(column.values, values, strict=True)):
        return column
    text = column.dtype == "object" and all(v is None or isinstance(v, str) for v in values)
    return Column(column.name, values, "str" if text else column.dtype)


class _NotPlain(Exception):
    """Values :func:`_plain_array` leaves to ``pa.array``."""


def _plain_array(values: Sequence[Any], arrow_type: pa.DataType | None) -> pa.Array:
    """``pa.array(values, arrow_type)`` for plain values, built from buffers (see :func:`column_array`)."""
    import pyarrow as pa

    if arrow_type is None:
        arrow_type = _infer(values)
    n = len(values)
    present = [v is not None for v in values]
    validity = None if all(present) else _bits(present)
    if pa.types.is_null(arrow_type):
        if any(present):
            raise _NotPlain
        return pa.nulls(n)
    if pa.types.is_boolean(arrow_type):
        if not all(v is None or isinstance(v, bool) for v in values):
            raise _NotPlain
        return pa.Array.from_buffers(arrow_type, n, [validity, _bits([bool(v) for v in values])])
    if pa.types.is_int64(arrow_type):
        if not all(v is None or (type(v) is int and _INT64[0] <= v < _INT64[1]) for v in values):
            raise _NotPlain
        return _numbers(arrow_type, values, validity, "int64")
    if pa.types.is_float64(arrow_type):
        if not all(v is None or (type(v) in (int, float) and math.isfinite(v)) for v in values):
            raise _NotPlain
        return _numbers(arrow_type, values, validity, "float64")
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if not all(v is None or type(v) is str for v in values):
            raise _NotPlain
        try:
            data = [v.encode("utf-8") if v is not None else b"" for v in values]
        except UnicodeEncodeError:
            raise _NotPlain from None
        offsets = _offsets([len(d) for d in data], large=pa.types.is_large_string(arrow_type))
        return pa.Array.from_buffers(arrow_type, n, [validity, offsets, pa.py_buffer(b"".join(data))])
    if pa.types.is_list(arrow_type):
        if not all(v is None or type(v) is list for v in values):
            raise _NotPlain
        items = [x for v in values if v is not None for x in v]
        child = _plain_array(items, arrow_type.value_type)
        offsets = _offsets([len(v) if v is not None else 0 for v in values], large=False)
        return pa.Array.from_buffers(arrow_type, n, [validity, offsets], children=[child])
    if pa.types.is_struct(arrow_type):
        if not all(v is None or type(v) is dict for v in values):
            raise _NotPlain
        fields = [arrow_type.field(i) for i in range(arrow_type.num_fields)]
        children = [_plain_array([v.get(f.name) if v is not None else None for v in values], f.type) for f in fields]
        return pa.Array.from_buffers(arrow_type, n, [validity], children=children)
    raise _NotPlain


def _infer(values: Sequence[Any]) -> pa.DataType:
    """The type ``pa.array`` infers for plain values of one kind (numbers: integers and fractions together)."""
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.null()
    if kinds == {bool}:
        return pa.bool_()
    if kinds == {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    if kinds == {str}:
        return pa.string()
    if kinds == {list}:
        return pa.list_(_infer([x for v in values if v is not None for x in v]))
    if kinds == {dict}:
        names = list(dict.fromkeys(k for v in values if v is not None for k in v))
        if not names or not all(type(k) is str for k in names):
            raise _NotPlain
        return pa.struct([(k, _infer([v.get(k) for v in values if v is not None])) for k in names])
    raise _NotPlain


def _bits(flags: Sequence[bool]) -> pa.Buffer:
    import numpy as np
    import pyarrow as pa

    return pa.py_buffer(np.packbits(np.asarray(flags, dtype=bool), bitorder="little"))


def _numbers(arrow_type: pa.DataType, values: Sequence[Any], validity: pa.Buffer | None, dtype: str) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    data = np.asarray([0 if v is None else v for v in values], dtype=dtype)
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(data)])


def _offsets(lengths: Sequence[int], *, large: bool) -> pa.Buffer:
    import numpy as np
    import pyarrow as pa

    offsets = np.zeros(len(lengths) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.py_buffer(offsets)


def pandas_entry(name: str, dtype: str, arrow_type: pa.DataType) -> dict[str, Any]:
    """The ``pandas`` metadata of one column, as pyarrow writes it for a column of pandas dtype ``dtype``."""
    from pyarrow.pandas_compat import get_logical_type

    return {
        "name": name,
        "field_name": name,
        "pandas_type": get_logical_type(arrow_type),
        "numpy_type": dtype,
        "metadata": None,
    }


def arrow_table(columns: Sequence[Column]) -> pa.Table:
    """The table of ``columns`` with the ``pandas`` metadata that ``DataFrame.to_parquet(index=False)`` writes."""
    parts = [arrow_column(c) for c in columns]
    return assemble([c.name for c in columns], [a for a, _ in parts], [e for _, e in parts])


def arrow_column(column: Column) -> tuple[pa.Array, dict[str, Any]]:
    """The array of ``column`` (its text :func:`redacted`) and its ``pandas`` metadata entry."""
    column = redacted(column)
    array = column_array(column)
    return array, pandas_entry(column.name, column.dtype, array.type)


def assemble(
    names: Sequence[str], arrays: Sequence[pa.Array | pa.ChunkedArray], entries: list[dict[str, Any]]
) -> pa.Table:
    """A table of ``arrays`` with the ``pandas`` metadata of a frame written without its index, ``entries``
    its columns' (:func:`pandas_entry`, or :func:`pandas_entries` of a table pyarrow made from a frame)."""
    import pyarrow as pa

    chunked = [a if isinstance(a, pa.ChunkedArray) else pa.chunked_array([a], type=a.type) for a in arrays]
    metadata = {
        "index_columns": [],
        "column_indexes": [],
        "columns": entries,
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": pandas_version(),
    }
    table = pa.Table.from_arrays(chunked, names=list(names))
    return table.replace_schema_metadata({b"pandas": json.dumps(metadata).encode("utf8")})


def pandas_version() -> str:
    """The installed pandas' version, without importing pandas."""
    from importlib.metadata import version

    return version("pandas")


def pandas_entries(table: pa.Table) -> list[dict[str, Any]]:
    """The per-column ``pandas`` metadata of a table made by ``pa.Table.from_pandas``."""
    meta = table.schema.metadata or {}
    return list(json.loads(meta[b"pandas"])["columns"]) if b"pandas" in meta else []


def write_parquet(fh: IO[bytes], table: pa.Table) -> None:
    """Write ``table`` as ``DataFrame.to_parquet`` does (pyarrow's writer, snappy)."""
    import pyarrow.parquet as pq

    pq.write_table(table, fh, compression="snappy")


def json_dtype(values: Sequence[Any]) -> str | None:
    """The pandas dtype of a column of JSON values (``None`` for a missing cell) as
    :func:`lalm_bench.io.rows_frame` makes it; ``None`` when not one of the plain cases (then ask pandas).

    Text only: ``str``; integers: ``int64``, with a gap ``object`` (the integers kept); numbers with a
    fraction: ``float64`` (with an integer among them: ``object``); booleans: ``bool``, with a gap ``object``;
    anything else (lists, objects, mixed kinds, all missing): ``object``."""
    kinds = set()
    gap = False
    for v in values:
        if v is None:
            gap = True
        elif isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int):
            if not _INT64[0] <= v < _INT64[1]:
                return None
            kinds.add("int")
        elif isinstance(v, float):
            if not math.isfinite(v):
                return None
            kinds.add("float")
        elif isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, (list, dict)):
            kinds.add("nested")
        else:
            return None
    if kinds == {"str"}:
        return "str"
    if kinds == {"int"}:
        return "object" if gap else "int64"
    if kinds == {"float"}:
        return "float64"
    if kinds == {"int", "float"}:
        return "object"  # rows_frame keeps the integers
    if kinds == {"bool"}:
        return "object" if gap else "bool"
    return "object"


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` as the frame ``pd.read_parquet`` gives for it once written (its ``pandas`` metadata applied)."""
    return table.to_pandas()
