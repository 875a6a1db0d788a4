"""``predict`` on a JSON Lines benchmark never imports pandas, and the tables it writes with pyarrow alone
read back exactly as pandas would have written them (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from lalm_bench.io import OutputOptions
from lalm_bench.predict.command import predict_command
from lalm_bench.predict.config import PredictConfig
from tests.imports import cli_imports
from tests.io.test_tables import comparable
from tests.predict.helpers import synthetic_benchmark, write_jsonl


def _varied(folder: Path) -> Path:
    """A benchmark with extra columns of every plain JSON kind, gaps, a column named like an output column,
    a URL password (redacted) and no category."""
    bench = synthetic_benchmark(folder, 6, name="base.jsonl")
    rows = [json.loads(line) for line in bench.read_text().splitlines()]
    for i, r in enumerate(rows):
        del r["category"]
        r.update(
            n=i,
            n_gap=i if i % 2 else None,
            f=i / 3,
            mix=i if i % 2 else i + 0.5,
            b=i % 2 == 0,
            b_gap=None if i == 3 else i % 3 == 0,
            meta={"k": i, "tags": ["x"] * i},
            lst=[i, i + 1] if i % 3 else None,
            error="bench note" if i == 1 else None,
            note=None if i == 2 else f"see https://bob:pw{i}secret99@example.org/",
        )
    return write_jsonl(folder / "bench.jsonl", rows)


def test_predict_on_jsonl_imports_no_pandas(tmp_path: Path) -> None:
    bench = _varied(tmp_path)
    out = tmp_path / "preds.parquet"
    args = ["predict", "--benchmark", bench, "--audio-root", tmp_path / "audio", "--model", "mock/echo",
            "--condition", "audio,none", "--permute-choices", "1", "--output", out, "-q"]  # fmt: skip
    assert cli_imports(args, ["pandas"]) == {"code": 0, "imported": []}
    frame = pd.read_parquet(tmp_path / "preds_audio.parquet")
    assert len(frame) == 12  # 6 items in 2 option orders
    dtypes = frame.dtypes.astype(str).to_dict()
    assert dtypes["prompt_tokens"] == "Int64" and dtypes["audio_truncated"] == "boolean"
    assert dtypes["n"] == "int64" and dtypes["b"] == "bool" and dtypes["question"] == "str"
    assert dtypes["benchmark_error"] == "str" and dtypes["category"] == "object"
    assert frame["n_gap"].isna().sum() == 6  # integers with gaps read back as floats, as pandas wrote them
    assert not frame["note"].str.contains("secret99").any()


def _run(bench: Path, out: Path) -> None:
    cfg = PredictConfig(
        benchmark=bench,
        model="mock/echo",
        conditions=("audio", "none"),
        audio_root=bench.parent / "audio",
        permute_choices=1,
    )
    result = predict_command(cfg, OutputOptions(path=out, quiet=True, overwrite=True))
    written = pd.read_parquet(out.with_name(f"{out.stem}_audio.parquet"))
    assert_frame_equal(comparable(result.frames()["audio"]), comparable(written), check_exact=True)


@pytest.mark.parametrize("name", ["bench.jsonl", "bench.json"])
def test_tables_are_those_pandas_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The same benchmark through the pandas path (what every predict did before) and the pyarrow one."""
    import lalm_bench.tables

    bench = _varied(tmp_path)
    if name.endswith(".json"):
        bench = tmp_path / name
        bench.write_text(json.dumps([json.loads(x) for x in (tmp_path / "bench.jsonl").read_text().splitlines()]))
    _run(bench, tmp_path / "new.parquet")
    monkeypatch.setattr(lalm_bench.tables, "json_dtype", lambda values: None)  # every column through pandas
    _run(bench, tmp_path / "old.parquet")
    for cond in ("audio", "none"):
        new, old = (tmp_path / f"{k}_{cond}.parquet" for k in ("new", "old"))
        assert pq.read_schema(new).equals(pq.read_schema(old), check_metadata=True)
        frames = [comparable(pd.read_parquet(p).drop(columns=["latency_s", "cached"])) for p in (new, old)]
        assert_frame_equal(*frames, check_exact=True)
