"""Issue 19, item 6: JSON and JSON Lines files are read with every value as written (no type guessing):
ids ``"001"`` stay ``"001"``, ``"007"`` and ``"7"`` are two ids, numeric answers ``"3"`` are answers; and
``predict`` refuses, before any request, ids that ``similarity`` and ``accuracy`` would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer, completion
from tests.predict.helpers import write_jsonl, write_wav

IDS = ["001", "007", "7", "1e3", "0x1F"]  # each a different string; guessing made 1, 7, 7, 1000.0, ...
CHOICES = ["1", "2", "3"]  # numeric choices: the answers are numbers written as text


def _rows(outputs: dict[str, str]) -> list[dict]:
    return [
        {"id": i, "category": "count", "question": "How many knocks?", "choices": CHOICES, "answer": "3",
         "audio_path": f"{i}.wav", "model_output": outputs[i]}
        for i in IDS
    ]  # fmt: skip


def _write(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        write_jsonl(path, rows)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_accuracy_keeps_ids_and_numeric_answers_as_written(run_cli, tmp_path, suffix):
    audio = _write(tmp_path / f"audio{suffix}", _rows(dict.fromkeys(IDS, "3")))  # every answer right
    noise = _write(tmp_path / f"noise{suffix}", _rows(dict.fromkeys(IDS, "1")))  # every answer wrong
    res = run_cli(
        "accuracy", "--audio-file", audio, "--noise-file", noise, "-o", tmp_path / "acc.json", "--quiet",
        "--items", tmp_path / "items.csv", "--subset", f"right-only-with-audio={tmp_path / 'needs.txt'}",
        "--bootstrap", "0",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr  # "007" and "7" were a false duplicate; "3" was refused as int 3
    items = pd.read_csv(tmp_path / "items.csv", dtype=str, keep_default_na=False)
    assert sorted(items["id"]) == sorted(IDS)
    assert (tmp_path / "needs.txt").read_text().split() == IDS  # right only with the audio: every item, ids as written


def test_predict_keeps_benchmark_ids_as_written(run_cli, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for i in IDS:
        write_wav(audio / f"{i}.wav", 0.2)
    rows = [{k: v for k, v in r.items() if k != "model_output"} for r in _rows(dict.fromkeys(IDS, ""))]
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    res = run_cli("predict", "--benchmark", bench, "--model", "mock/echo", "--audio-root", audio,
                  "-o", tmp_path / "p.parquet", "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    df = pd.read_parquet(tmp_path / "p_audio.parquet")
    assert list(df["id"]) == IDS and list(df["answer"]) == ["3"] * len(IDS)
    assert df["error"].isna().all()


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([["a", "b"], "c"], "column 'id' holds list values in 1 row(s)"),
        ([{"k": 1}, "c"], "column 'id' holds dict values in 1 row(s)"),
        (["x", "x"], "1 duplicate 'id' value(s) (e.g. 'x')"),
        ([7, "a"], "column 'id' mixes numbers and strings (e.g. 7 and 'a')"),
    ],
)
def test_predict_refuses_ids_the_other_jobs_would_refuse_before_any_request(run_cli, tmp_path, ids, message):
    write_wav(tmp_path / "a.wav", 0.2)
    bench = write_jsonl(tmp_path / "b.jsonl", [{"id": i, "audio_path": "a.wav", "question": "Q?"} for i in ids])
    with ScriptedOpenAIServer(lambda req: completion("an answer")) as server:
        res = run_cli("predict", "--benchmark", bench, "--model", "openai/m", "--base-url", server.base_url,
                      "-o", tmp_path / "p.parquet", "--quiet")  # fmt: skip
        assert res.exit_code == 2, res.stderr
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and message in res.stderr
        assert server.requests == []
    assert not (tmp_path / "p_audio.parquet").exists()
