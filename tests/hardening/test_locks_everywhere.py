"""Item 2 for every run that logs: `predict` and `rubrics judge` take the same per-run lock as `generate`."""

from __future__ import annotations

import json
import os

from lalm_bench.runs import RunFolder
from tests.rubrics.helpers import MADE_UP, write_clotho_csv


def test_predict_refuses_a_condition_another_process_is_writing(tmp_path, run_cli, shared_data):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"id": "q1", "audio_path": "Blade Big.wav", "question": "What is heard?"}) + "\n")
    audio_root = shared_data / "clotho" / "audio" / "evaluation"
    out = tmp_path / "preds.parquet"
    args = ["predict", "--benchmark", bench, "--audio-root", audio_root, "--model", "mock/echo", "-o", out, "-q"]
    with RunFolder(tmp_path / "preds.runs" / "noise"):
        res = run_cli(*args, "--condition", "noise")
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert f"being written by another process (pid {os.getpid()} on " in res.stderr
    assert "use another --output for another run" in res.stderr and "--run-name" not in res.stderr  # issue 19
    assert not (tmp_path / "preds_noise.parquet").exists()
    assert run_cli(*args, "--condition", "noise").exit_code == 0  # released: the same command runs


def test_judge_refuses_an_output_folder_another_process_is_writing(tmp_path, run_cli):
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps([{"criterion": "mentions a dog", "weight": 2}]))
    out = tmp_path / "judge"
    with RunFolder(out):
        res = run_cli(
            "rubrics", "judge", "--rubric", rubric, "--references", "--csv", csv, "--judge-model", "mock/schema",
            "--output-dir", out, "-q",
        )  # fmt: skip
    assert res.exit_code == 2 and "being written by another process" in res.stderr
    assert "use another -o/--output for another run" in res.stderr and "--run-name" not in res.stderr  # issue 19
    assert not (out / "summary.json").exists()
