"""Run-to-run noise: ``predict --samples K`` asks each condition K times (seed + k), one file per sample, that
``accuracy --condition noise@k=FILE`` reads as repeats; resume after kill -9 asks nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.predict.helpers import FAST_OPTIONS, REPO, AudioResponder, kill_once_logged, logged_ids, synthetic_benchmark


def test_three_samples_write_three_files_with_their_own_noise_and_accuracy_reads_them(tmp_path, run_cli):
    from lalm_bench.datasets.demo import write_demo_benchmark

    demo = write_demo_benchmark(tmp_path / "bench")
    res = run_cli("predict", "--benchmark", demo.path, "--model", "mock/listener", "--condition", "audio,noise",
                  "--samples", "3", "--temperature", "0.7", "--output", tmp_path / "p.parquet", "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "temperature 0" not in res.stderr  # no warning at temperature > 0
    for cond in ("audio", "noise"):
        names = [f"p_{cond}", f"p_{cond}@1", f"p_{cond}@2"]
        frames = [pd.read_parquet(tmp_path / f"{n}.parquet") for n in names]
        assert all(len(f) == len(frames[0]) > 0 and (f["id"] == frames[0]["id"]).all() for f in frames)
        seed = int(frames[0]["seed"].iloc[0])
        assert [sorted(set(f["seed"])) for f in frames] == [[seed], [seed + 1], [seed + 2]]
        for k, n in enumerate(names):
            doc = json.loads((tmp_path / f"{n}.manifest.json").read_text())
            assert doc["condition"] == cond
            assert doc["sample"]["index"] == k and doc["sample"]["samples"] == 3
            assert doc["sample"]["temperature"] == 0.7 and doc["sample"]["seed"] == doc["settings"]["seed"]
            assert doc["sample"]["warning"] is None
        if cond == "noise":  # each sample its own noise draw
            shas = [tuple(f["audio_sha256"]) for f in frames]
            assert len(set(shas)) == 3
            assert all(a != b for a, b in zip(shas[0], shas[1], strict=True))
        else:  # the real audio is the same bytes in every sample
            assert len({tuple(f["audio_sha256"]) for f in frames}) == 1
    folders = sorted(p.name for p in (tmp_path / "p.runs").iterdir())
    assert folders == ["audio", "audio@1", "audio@2", "noise", "noise@1", "noise@2"]
    out = tmp_path / "acc.json"
    res = run_cli("accuracy", "--audio-file", tmp_path / "p_audio.parquet",
                  "--noise-file", tmp_path / "p_noise.parquet",
                  "--condition", f"noise@1={tmp_path / 'p_noise@1.parquet'}",
                  "--condition", f"noise@2={tmp_path / 'p_noise@2.parquet'}",
                  "--extractor", "none", "--output", out, "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    block = doc["run_to_run"]["noise"]
    assert block["repeats"] == ["noise", "noise@1", "noise@2"] and len(block["pairs"]) == 3
    assert "NaN" not in out.read_text()
    # accuracy --run reads the samples as repeats of their control (audio's own samples are left out)
    res = run_cli("accuracy", "--run", f"a={tmp_path / 'p.parquet'}", "--run", f"b={tmp_path / 'p.parquet'}",
                  "--extractor", "none", "--output", tmp_path / "models.json", "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    models = json.loads((tmp_path / "models.json").read_text())["models"]
    assert models["a"]["run_to_run"]["noise"]["repeats"] == ["noise", "noise@1", "noise@2"]


def test_samples_have_their_own_cache_identity_and_adding_samples_resumes(tmp_path, run_cli):
    from lalm_bench.datasets.demo import write_demo_benchmark

    demo = write_demo_benchmark(tmp_path / "bench")
    args = ("predict", "--benchmark", demo.path, "--model", "mock/listener", "--limit", "6")
    assert run_cli(*args, "--output", tmp_path / "a.parquet", "--quiet").exit_code == 0  # fills the response cache
    log = tmp_path / "b.runs" / "audio" / "log.jsonl"
    assert run_cli(*args, "--output", tmp_path / "b.parquet", "--quiet").exit_code == 0
    before = log.read_bytes()
    res = run_cli(*args, "--output", tmp_path / "b.parquet", "--samples", "2")  # added to the existing run
    assert res.exit_code == 0, res.stderr
    assert "audio@1" in res.stdout and "b_audio@1.parquet" in res.stdout  # the summary names the repeat
    assert "--samples 2 at temperature 0" in res.stderr  # warned, not refused
    assert log.read_bytes() == before  # sample 0 resumed: nothing asked again
    base, again = pd.read_parquet(tmp_path / "b_audio.parquet"), pd.read_parquet(tmp_path / "b_audio@1.parquet")
    assert base["cached"].all()  # the same request as a.parquet's
    assert not again["cached"].any()  # sample 1 is never served the cached reply of sample 0
    assert (again["seed"] == base["seed"] + 1).all()
    doc = json.loads((tmp_path / "b_audio@1.manifest.json").read_text())
    assert doc["sample"]["index"] == 1 and "non-determinism" in doc["sample"]["warning"]
    bad = run_cli(*args, "--output", tmp_path / "c.parquet", "--samples", "0", "--quiet")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --samples")


N = 10
FOLDERS = ("noise", "noise@1", "noise@2")


def _cmd(tmp_path: Path, url: str) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "predict", "--benchmark", str(tmp_path / "bench.jsonl"), "--audio-root", str(tmp_path / "audio"),
        "--model", "openai/m", "--base-url", url, "--condition", "noise", "--samples", "3",
        "--temperature", "0.5", "--concurrency", "3", "--output", str(tmp_path / "p.parquet"), "--quiet",
        *FAST_OPTIONS,
    ]  # fmt: skip


def test_kill_9_with_samples_then_the_same_command_repeats_nothing(tmp_path):
    synthetic_benchmark(tmp_path, N)
    responder = AudioResponder(delay_s=0.05)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with ScriptedOpenAIServer(responder) as server:
        before = kill_once_logged(_cmd(tmp_path, server.base_url), env, tmp_path, FOLDERS, N)
        assert N <= sum(map(len, before.values())) < 3 * N and not (tmp_path / "p_noise.parquet").exists()
        n_before = len(responder.seen)
        responder.delay_s = 0.0
        done = subprocess.run(_cmd(tmp_path, server.base_url), env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    for f in FOLDERS:  # every sample's log holds each item once: nothing logged was asked again
        ids = logged_ids(tmp_path, f)
        assert sorted(ids) == [f"item{i:03d}" for i in range(N)], f
        assert ids[: len(before[f])] == before[f]
    assert len(responder.seen) - n_before <= 3 * N - sum(map(len, before.values())) + 3  # + those in flight
    frames = [pd.read_parquet(tmp_path / f"p_{f}.parquet") for f in FOLDERS]
    assert all(len(f) == N for f in frames)
    assert [int(f["seed"].iloc[0]) for f in frames] == [int(frames[0]["seed"].iloc[0]) + k for k in range(3)]
