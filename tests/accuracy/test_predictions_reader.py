"""The shared prediction-file reader of the datasets layer (``lalm_bench.datasets.predictions``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.datasets.predictions import join_predictions, read_predictions
from lalm_bench.errors import InputError


def write(path: Path, ids: list, **cols) -> Path:
    pd.DataFrame({"id": ids, "model_output": [f"answer {i}" for i in ids], **cols}).to_parquet(path, index=False)
    return path


def test_join_of_three_files_keeps_the_first_files_order(tmp_path: Path) -> None:
    a = read_predictions(write(tmp_path / "a.parquet", ["x", "y", "z", "w"]), name="audio")
    b = read_predictions(write(tmp_path / "b.bin", ["w", "z", "y"]), name="noise")  # Parquet by its magic bytes
    c = read_predictions(write(tmp_path / "c.parquet", ["y", "w", "q"], extra=[1, 2, 3]), name="silence",
                         optional={"extra": "extra", "absent": "nope"})  # fmt: skip
    assert c.present == {"id", "text", "extra"}
    merged, report = join_predictions([a, b, c])
    assert merged["id"].tolist() == ["y", "w"]
    assert merged["text_noise"].tolist() == ["answer y", "answer w"] and merged["extra_silence"].tolist() == [1, 2]
    assert report == {"rows": {"audio": 4, "noise": 3, "silence": 3}, "matched": 2,
                      "unmatched": {"audio": 2, "noise": 1, "silence": 1}}  # fmt: skip


def test_ids_of_other_types_do_not_join(tmp_path: Path) -> None:
    a = read_predictions(write(tmp_path / "a.parquet", [1, 2]), name="audio")
    b = read_predictions(write(tmp_path / "b.parquet", ["1", "2"]), name="noise")
    with pytest.raises(InputError, match=r"no ids in common \(id types: int64 vs"):
        join_predictions([a, b])


def test_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing column\(s\) choices; columns present: id, model_output; why"):
        read_predictions(write(tmp_path / "a.parquet", [1]), name="a", required={"choices": "choices"}, hint="why")
    pd.DataFrame({"id": [None, "b"], "model_output": ["x", "y"]}).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(InputError, match=r"1 row\(s\) have no 'id'"):
        read_predictions(tmp_path / "n.parquet", name="a")
    pd.DataFrame({"id": ["a", "b"], "model_output": ["x", 3]}).astype(object).to_json(
        tmp_path / "t.jsonl", orient="records", lines=True
    )
    with pytest.raises(InputError, match="must hold strings, found int"):
        read_predictions(tmp_path / "t.jsonl", name="a")
    (tmp_path / "x.txt").write_text("id\n")
    with pytest.raises(InputError, match="unsupported table format"):
        read_predictions(tmp_path / "x.txt", name="a")
