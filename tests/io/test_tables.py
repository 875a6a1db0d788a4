"""``lalm_bench.tables``: tables built with pyarrow alone read back by pandas exactly as if pandas had written
them (issue 21: ``predict`` no longer imports pandas)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from lalm_bench.io import rows_frame
from lalm_bench.tables import Column, arrow_table, column_array, json_dtype, to_pandas, write_parquet

#: Columns of JSON values as benchmarks hold them: one kind each, with and without gaps.
JSON_COLUMNS: dict[str, list] = {
    "text": ["a", "b", "c", "d"],
    "text_gap": ["a", None, "c", "é ü 中"],
    "ints": [1, 2, 3, -(2**62)],
    "ints_gap": [1, None, 3, 4],
    "floats": [0.5, 1.5, -2.25, 1e300],
    "floats_gap": [0.5, None, 2.5, 3.5],
    "ints_floats": [1, 2.5, 3, 4],
    "ints_floats_gap": [1, 2.5, None, 4],
    "bools": [True, False, True, True],
    "bools_gap": [True, None, False, True],
    "lists": [["x", "y"], [], ["z"], ["w", "v", "u"]],
    "lists_gap": [[1, 2], None, [], [3]],
    "nested": [[[1], [2, 3]], [[]], None, [[4.5]]],
    "objects": [{"k": 1, "s": "v"}, {"k": 2}, {"s": "w", "t": [True]}, None],
    "objects_deep": [{"a": {"b": [1.5]}}, {"a": None}, {"a": {"b": []}}, {"a": {"c": "x"}}],
    "all_null": [None, None, None, None],
    "lists_of_nulls": [[None], [None, None], None, []],
}
#: Columns pa.array takes itself (kinds mixed in one column, numbers outside int64).
OTHER_COLUMNS: dict[str, list] = {
    "mixed": ["x", [1, 2], None, "y"],
    "bool_int": [True, 1, None, 0],
    "list_mixed": [[1, "a"], None, [], ["b"]],
    "big_int": [2**64, 1, 2, 3],
}


@pytest.mark.parametrize("name", [*JSON_COLUMNS, *OTHER_COLUMNS])
def test_column_array_is_what_pyarrow_makes(name: str) -> None:
    values = {**JSON_COLUMNS, **OTHER_COLUMNS}[name]
    try:
        expected = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)):
            column_array(Column(name, values))
        return
    got = column_array(Column(name, values))
    assert got.type == expected.type
    assert got.to_pylist() == expected.to_pylist()
    assert got.equals(expected)


def _written(table_or_frame: pa.Table | pd.DataFrame) -> tuple[pd.DataFrame, pa.Schema]:
    buf = io.BytesIO()
    if isinstance(table_or_frame, pd.DataFrame):
        table_or_frame.to_parquet(buf, index=False)  # the old way
    else:
        write_parquet(buf, table_or_frame)
    buf.seek(0)
    schema = pq.read_schema(buf)
    buf.seek(0)
    return pd.read_parquet(buf), schema


def plain_value(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [plain_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    return value


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested cells as text: assert_frame_equal cannot compare dicts that hold arrays (pandas 3.1)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = pd.Series([repr(plain_value(v)) for v in out[col]], dtype=object)
    return out


def _assert_same_file(old: pd.DataFrame, new: pa.Table) -> None:
    old_frame, old_schema = _written(old)
    new_frame, new_schema = _written(new)
    assert new_schema.equals(old_schema, check_metadata=True), (new_schema, old_schema)
    assert dict(new_frame.dtypes) == dict(old_frame.dtypes)
    assert_frame_equal(comparable(new_frame), comparable(old_frame), check_exact=True)
    assert_frame_equal(comparable(to_pandas(new)), comparable(old_frame), check_exact=True)


def test_json_columns_read_back_as_pandas_wrote_them() -> None:
    """The benchmark's columns: pandas' dtypes for JSON rows (rows_frame), then to_parquet, vs pyarrow alone."""
    rows = [{k: v[i] for k, v in JSON_COLUMNS.items()} for i in range(4)]
    old = rows_frame(rows)
    dtypes = {name: json_dtype(values) for name, values in JSON_COLUMNS.items()}
    assert {k: str(d) for k, d in old.dtypes.items()} == dtypes
    new = arrow_table([Column(k, v, str(dtypes[k])) for k, v in JSON_COLUMNS.items()])
    _assert_same_file(old, new)


def test_json_dtype_leaves_odd_columns_to_pandas() -> None:
    assert json_dtype([2**64, 1]) is None
    assert json_dtype([math.nan, 1.0]) is None
    assert json_dtype([1, (1, 2)]) is None


@pytest.mark.parametrize("rows", [0, 1, 5])
def test_typed_columns_read_back_as_pandas_wrote_them(rows: int) -> None:
    """predict's own columns: nullable Int64/boolean, int64, float64 with gaps, text, all-null, lists of ints."""
    base = {
        "model_output": ("object", ["an answer", None, "http://u:pw12345678@h/", "x", ""]),
        "prompt_tokens": ("Int64", [10, None, 3, 0, 7]),
        "audio_truncated": ("boolean", [True, None, False, False, True]),
        "seed": ("int64", [0, 1, 2, 3, 4]),
        "latency_s": ("float64", [0.25, None, 1.0, 2.0, 3.5]),
        "mismatched_with": ("object", [None] * 5),
        "permutation": ("object", [[0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 1, 2], [2, 1, 0]]),
        "flag": ("str", ["ok", None, "cut", "ok", "ok"]),
    }
    columns = [Column(k, v[:rows], d) for k, (d, v) in base.items()]
    old = pd.DataFrame({c.name: pd.Series(list(c.values), dtype=c.dtype) for c in columns})
    from lalm_bench.io import redact_frame

    _assert_same_file(redact_frame(old), arrow_table(columns))


def test_text_is_redacted() -> None:
    """Text cells are redacted like redact_frame does for pandas tables (a URL password here)."""
    url = "https://user:hunter2secret@example.org/v1"
    table = arrow_table([Column("o", [f"see {url}", None]), Column("s", [url, "x"], "str")])
    assert "hunter2secret" not in str(table.to_pylist())
