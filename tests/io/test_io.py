import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lalm_bench.errors import InputError, OutputExistsError
from lalm_bench.io import (
    atomic_open,
    check_outputs,
    dumps_strict,
    read_parquet,
    read_table,
    require_columns,
    sha256_file,
    write_json,
)


def test_strict_json_replaces_nan_and_infinity() -> None:
    doc = {"a": float("nan"), "b": [np.float32(np.inf), -math.inf, 1.5], "c": np.int64(3), "d": pd.NA}
    text = dumps_strict(doc)
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": 3, "d": None}


def test_strict_json_numpy_arrays_and_paths() -> None:
    assert json.loads(dumps_strict({"x": np.array([[1.0, np.nan]]), "p": Path("/tmp/x")})) == {
        "x": [[1.0, None]],
        "p": "/tmp/x",
    }


def test_write_json_is_valid_for_a_strict_parser(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    write_json(out, {"std": float("nan")})

    def refuse(name: str) -> None:
        raise ValueError(name)

    assert json.loads(out.read_text(), parse_constant=refuse) == {"std": None}


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(out) as fh:
        fh.write("half")
        raise RuntimeError("crash")
    assert out.read_text() == "old"
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_check_outputs_refuses_existing_without_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    check_outputs({"--output": out}, overwrite=False)
    out.write_text("{}")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_outputs({"--output": out}, overwrite=False)
    check_outputs({"--output": out}, overwrite=True)


def test_read_parquet_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_parquet(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("id,model_output\n1,a\n")
    with pytest.raises(InputError, match="not a Parquet file"):
        read_parquet(bad)
    truncated = tmp_path / "trunc.parquet"
    pd.DataFrame({"id": ["a"]}).to_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-20])
    with pytest.raises(InputError, match="cannot read Parquet"):
        read_parquet(truncated)


def test_read_table_csv_keeps_text_verbatim(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b'file_name,caption_1\r\n"a, b &amp; c.wav",NA  two  spaces \r\n')
    df = read_table(p)
    assert df.loc[0, "file_name"] == "a, b &amp; c.wav"
    assert df.loc[0, "caption_1"] == "NA  two  spaces "


def test_require_columns_names_existing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing column\\(s\\) text; columns present: id, other"):
        require_columns(pd.DataFrame({"id": [1], "other": [2]}), ["id", "text"], tmp_path / "f")


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    assert sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_atomic_write_uses_normal_permissions(tmp_path: Path) -> None:
    import os

    out = tmp_path / "r.json"
    write_json(out, {})
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
