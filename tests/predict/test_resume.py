"""Resume: kill -9 and Ctrl-C mid-run, then the same command; a restarted server elsewhere; several servers."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.predict.helpers import FAST_OPTIONS, REPO, AudioResponder, synthetic_benchmark

N = 30


def _cmd(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "predict", "--benchmark", str(tmp_path / "bench.jsonl"), "--audio-root", str(tmp_path / "audio"),
        "--model", "openai/m", "--base-url", url, "--condition", "noise,none", "--concurrency", "3",
        "--output", str(tmp_path / "p.parquet"), "--quiet", *FAST_OPTIONS, *extra,
    ]  # fmt: skip


def _records(tmp_path: Path, cond: str) -> list[dict]:
    path = tmp_path / "p.runs" / cond / "log.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _key(seen: dict) -> tuple[str, str]:
    return ("noise" if seen["sha256"] else "none", seen["question"].split(":")[0].split()[-1])


def _wait_for_records(proc: subprocess.Popen, tmp_path: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_records(tmp_path, "noise")) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {n} records in time: {proc.communicate()[1].decode()}")


def _check_complete_after_restart(tmp_path: Path, responder: AudioResponder, logged: set, n_before: int) -> None:
    for cond in ("noise", "none"):
        records = _records(tmp_path, cond)
        ids = [r["id"] for r in records]
        assert sorted(ids) == [f"item{i:03d}" for i in range(N)]  # none lost, none twice
        df = pd.read_parquet(tmp_path / f"p_{cond}.parquet")
        assert len(df) == N and df["model_output"].notna().all()
    after = [_key(s) for s in responder.seen[n_before:]]
    assert not [k for k in after if k in logged]  # nothing logged before the stop is asked again
    asked = collections.Counter(_key(s) for s in responder.seen)
    # an item is asked twice only if its request was in flight when the process died (at most --concurrency)
    assert sum(v - 1 for v in asked.values()) <= 3


def test_kill_9_mid_run_then_the_same_command_repeats_nothing_and_loses_nothing(tmp_path):
    synthetic_benchmark(tmp_path, N)
    responder = AudioResponder(delay_s=0.3)  # slow until the signal: a loaded machine must not finish first
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with ScriptedOpenAIServer(responder) as server:
        proc = subprocess.Popen(
            _cmd(tmp_path, server.base_url), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _wait_for_records(proc, tmp_path, 6)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        logged = {("noise", r["id"].removeprefix("item").lstrip("0") or "0") for r in _records(tmp_path, "noise")}
        assert 6 <= len(logged) < N and not (tmp_path / "p_noise.parquet").exists()
        n_before = len(responder.seen)
        responder.delay_s = 0.0
        done = subprocess.run(_cmd(tmp_path, server.base_url), env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    _check_complete_after_restart(tmp_path, responder, logged, n_before)


def test_ctrl_c_prints_the_resume_hint_and_a_rerun_completes(tmp_path):
    synthetic_benchmark(tmp_path, N)
    responder = AudioResponder(delay_s=0.3)  # slow until the signal: a loaded machine must not finish first
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with ScriptedOpenAIServer(responder) as server:
        proc = subprocess.Popen(
            _cmd(tmp_path, server.base_url), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _wait_for_records(proc, tmp_path, 4)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert err.decode().strip().splitlines()[-1] == "interrupted; rerun the same command to resume"
        assert "Traceback" not in err.decode()
        logged = {("noise", r["id"].removeprefix("item").lstrip("0") or "0") for r in _records(tmp_path, "noise")}
        n_before = len(responder.seen)
        responder.delay_s = 0.0
        done = subprocess.run(_cmd(tmp_path, server.base_url), env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    _check_complete_after_restart(tmp_path, responder, logged, n_before)


def test_several_servers_share_the_items_within_their_concurrency_and_a_moved_server_resumes(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 24)
    a, b, c = AudioResponder(delay_s=0.05), AudioResponder(delay_s=0.05), AudioResponder()
    with ScriptedOpenAIServer(a) as sa, ScriptedOpenAIServer(b) as sb, ScriptedOpenAIServer(c) as sc:
        urls = [sa.base_url, sb.base_url, sc.base_url]
        args = ["predict", "--benchmark", tmp_path / "bench.jsonl", "--audio-root", tmp_path / "audio",
                "--model", "openai/m", "--condition", "audio", "--output", tmp_path / "p.parquet",
                "--concurrency", "2", "--quiet"]  # fmt: skip
        res = run_cli(*args, "--base-url", sa.base_url, "--base-url", sb.base_url, "--limit", "16")
        assert res.exit_code == 0, res.stderr
        assert len(a.seen) + len(b.seen) == 16 and len(a.seen) >= 5 and len(b.seen) >= 5
        assert a.max_in_flight == b.max_in_flight == 2  # per-server concurrency, used in full
        # the server moved to another port: the same run goes on (the address is not part of its identity)
        res = run_cli(*args, "--base-url", sc.base_url)
        assert res.exit_code == 0, res.stderr
        assert len(c.seen) == 8 and len(a.seen) + len(b.seen) == 16
    df = pd.read_parquet(tmp_path / "p_audio.parquet")
    assert len(df) == 24 and df["model_output"].notna().all()
    servers = collections.Counter(r["server"] for r in _records(tmp_path, "audio"))
    assert set(servers) == set(urls) and servers[urls[2]] == 8
    manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
    assert manifest["settings"]["base_urls"] == [urls[2]]
