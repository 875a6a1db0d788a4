"""Resume after kill -9: a subprocess is SIGKILLed mid-run, then the same command is run again."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

from tests.rubrics.helpers import FAST_OPTIONS, REPO, read_jsonl, write_baselines, write_clotho_csv

CLIPS = {f"clip {i:02d}.wav": [f"Caption {j}: a sound number {i} in place {i * 7 + j}." for j in range(5)]
         for i in range(12)}  # fmt: skip


def test_kill_9_mid_run_then_resume_repeats_nothing_and_loses_nothing(tmp_path, rubric_server):
    llm = rubric_server.llm
    llm.ref_clip.update({cap: name for name, caps in CLIPS.items() for cap in caps})
    llm.delay_s = 0.15  # slow replies, so the kill lands mid-run
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    out = tmp_path / "out"
    log = out / "stoch" / "run_0" / "log.jsonl"
    cmd = [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "rubrics", "generate", "--csv", str(csv), "--baseline-file", str(baseline),
        "--rubric-model", "openai/judge", "--base-url", rubric_server.base_url, "--output-dir", str(out),
        "--mode", "stochastic", "--temperature", "1.0", "--runs", "2", "--concurrency", "4", "--quiet",
        "--legacy-results", *FAST_OPTIONS,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()[1].decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = {k: len(read_jsonl(out / "stoch" / f"run_{k}" / "log.jsonl")) for k in range(2)}
    assert 4 <= done_at_kill[0] < len(CLIPS)
    n_before = len(rubric_server.requests)
    before = list(llm.log)

    llm.delay_s = 0.0
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names = list(CLIPS)
    for k in range(2):
        records = read_jsonl(out / "stoch" / f"run_{k}" / "log.jsonl")
        assert [r["clip"] for r in records] == names  # none lost, none twice
        assert [r["position"] for r in records] == list(range(len(names)))
        assert all(r["status"] == "ok" for r in records)
        assert json.loads((out / "stoch" / f"results_{k}.json").read_text()) == records
        # the rubric carried over the restart: each record's rubric builds on the previous one
        for prev, cur in itertools.pairwise(records):
            assert {c["criterion"] for c in prev["final_criteria"]} <= {c["criterion"] for c in cur["final_criteria"]}
    # nothing repeated: after the restart no clip logged before the kill is asked again. Calls of
    # clips in flight that had finished come from the cache; only a request cut by the kill itself is
    # sent again - at most one per run here, since with a baseline file and --rubric-lag 0 a run has
    # one request in flight at a time.
    after = llm.log[len(before) :]
    assert after and len(rubric_server.requests) > n_before
    for k, seed in enumerate((42, 43)):
        logged = set(names[: done_at_kill[k]])
        assert not [c for _, c, s in after if s == seed and c in logged]
        calls = [(step, c) for step, c, s in llm.log if s == seed and step == "extract"]
        assert sorted(set(calls)) == sorted(("extract", c) for c in names)  # every clip asked
        assert len(calls) - len(set(calls)) <= 1
        merges = [(step, c) for step, c, s in llm.log if s == seed and step == "merge"]
        assert len(merges) - len(set(merges)) <= 1
