"""Ids must be single values: a list-valued id column is one line, never a traceback."""

from __future__ import annotations

import pandas as pd


def test_list_valued_ids_are_a_one_line_error(tmp_path, run_cli):
    df = pd.DataFrame({"id": [["a"], ["b"]], "model_output": ["x", "y"], "category": ["c", "c"]})
    df.to_parquet(tmp_path / "n.parquet")
    df.to_parquet(tmp_path / "a.parquet")
    res = run_cli(
        "similarity", "--noise-file", tmp_path / "n.parquet", "--audio-file", tmp_path / "a.parquet",
        "--model", "mock:hash", "-o", tmp_path / "out.json",
    )  # fmt: skip
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "column 'id' holds ndarray values in 2 row(s)" in res.stderr and "single string or number" in res.stderr
    assert not (tmp_path / "out.json").exists()
