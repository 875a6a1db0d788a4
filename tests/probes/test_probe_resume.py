"""Resume with option orders and partial audio: kill -9 mid-run, then the same command asks nothing twice."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.predict.helpers import FAST_OPTIONS, REPO, AudioResponder, kill_once_logged, logged_ids, synthetic_benchmark

N = 12
FOLDERS = ("head-0p3", "head-0p3.order1", "head-0p3.order2", "none", "none.order1", "none.order2")


def _cmd(tmp_path: Path, url: str) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "predict", "--benchmark", str(tmp_path / "bench.jsonl"), "--audio-root", str(tmp_path / "audio"),
        "--model", "openai/m", "--base-url", url, "--condition", "head:0.3,none", "--permute-choices", "2",
        "--concurrency", "3", "--output", str(tmp_path / "p.parquet"), "--quiet", *FAST_OPTIONS,
    ]  # fmt: skip


def test_kill_9_with_orders_and_a_head_then_the_same_command_repeats_nothing(tmp_path):
    synthetic_benchmark(tmp_path, N)
    responder = AudioResponder(delay_s=0.05)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with ScriptedOpenAIServer(responder) as server:
        before = kill_once_logged(_cmd(tmp_path, server.base_url), env, tmp_path, FOLDERS, 2 * N)
        assert 2 * N <= sum(map(len, before.values())) < 6 * N and not (tmp_path / "p_head-0p3.parquet").exists()
        n_before = len(responder.seen)
        responder.delay_s = 0.0
        done = subprocess.run(_cmd(tmp_path, server.base_url), env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    for f in FOLDERS:  # every (condition, order) log holds each item once: nothing logged was asked again
        ids = logged_ids(tmp_path, f)
        assert sorted(ids) == [f"item{i:03d}" for i in range(N)], f
        assert ids[: len(before[f])] == before[f]
    asked_after = len(responder.seen) - n_before
    assert asked_after <= 6 * N - sum(map(len, before.values())) + 3  # at most --concurrency were in flight
    for cond in ("head-0p3", "none"):
        df = pd.read_parquet(tmp_path / f"p_{cond}.parquet")
        assert len(df) == 3 * N and not df.duplicated(["id", "permutation_index"]).any()
        assert collections.Counter(df["permutation_index"]) == {0: N, 1: N, 2: N}
    head = pd.read_parquet(tmp_path / "p_head-0p3.parquet")
    sent = [json.loads(s)[0] for s in head["audio_sent"]]
    assert all(s["partial"] == "head" and s["partial_fill"] == "pad" and s["kept_seconds"] == 0.3 for s in sent)
    assert all(s["seconds"] == s["original_seconds"] for s in sent)  # padded: as long as the clip
    shown = head[head["permutation_index"] == 1].iloc[0]
    assert list(shown["permutation"]) == [1, 2, 0]
    log = tmp_path / "p.runs" / "head-0p3.order1" / "log.jsonl"
    prompt = json.loads(log.read_text().splitlines()[0])["prompt"]  # order 1 shows option 1 first
    assert prompt.index("a voice") < prompt.index("silence") < prompt.index("a tone")
