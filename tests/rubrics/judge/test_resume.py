"""`rubrics judge` after kill -9: a subprocess is SIGKILLed mid-run, then the same command is run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import JudgeLLM
from tests.rubrics.helpers import FAST_OPTIONS, REPO, read_jsonl, write_baselines, write_clotho_csv

CLIPS = {f"clip {i:02d}.wav": [f"Caption {j}: a bell number {i} rings in hall {i * 7 + j}." for j in range(5)]
         for i in range(12)}  # fmt: skip
RUBRIC = [{"criterion": "mentions rings", "weight": 2}, {"criterion": "mentions hall", "weight": 1},
          {"criterion": "mentions a bell", "weight": 3}]  # fmt: skip


@pytest.fixture
def judge_server():
    llm = JudgeLLM(delay_s=0.1)  # slow replies, so the kill lands mid-run
    with ScriptedOpenAIServer(llm) as srv:
        srv.llm = llm
        yield srv


def test_kill_9_mid_run_then_resume_repeats_nothing_and_loses_nothing(tmp_path, judge_server):
    llm = judge_server.llm
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS, text=lambda n: f"A bell rings in {n}.")
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(RUBRIC))
    out = tmp_path / "out"
    log = out / "log.jsonl"
    cmd = [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "rubrics", "judge", "--rubric", str(rubric), "--captions", str(baseline), "--references", "--csv", str(csv),
        "--judge-model", "openai/judge", "--base-url", judge_server.base_url, "--output-dir", str(out),
        "--concurrency", "3", "--quiet", *FAST_OPTIONS,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_bytes().count(b"\n") >= 10:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()[1].decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logged = {r["caption"] for r in read_jsonl(log)}
    assert 10 <= len(logged) < 72 and not (out / "summary.json").exists()
    asked_before = Counter(c for c, *_ in llm.log)

    llm.delay_s = 0.0
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    records = read_jsonl(log)
    keys = [(r["system"], r["clip"], r["caption_index"]) for r in records]
    assert len(records) == 72 == len(set(keys))  # 12 baseline captions + 60 references: none lost, none twice
    after = Counter(c for c, *_ in llm.log) - asked_before
    assert not set(after) & logged  # nothing logged before the kill is asked again
    # captions in flight at the kill: their requests are sent again (at most --concurrency of them)
    again = [c for c in after if asked_before[c]]
    assert len(again) <= 3
    doc = json.loads((out / "summary.json").read_text())
    assert doc["complete"] and doc["run"]["done"] == 72 and doc["run"]["resumed_from"] == len(logged)
    scores = {s["name"]: s["score"]["mean"] for s in doc["systems"]}
    # baseline: rings met, hall not_met, bell met -> 5/6; references: all three met
    assert scores == {"baseline": pytest.approx(5 / 6), "references": 1.0}
