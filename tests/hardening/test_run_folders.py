"""Items 2 and 10: one process per run folder (a second gets a one-line error naming the holder); a log
holding a clip twice is refused by resume and by collect; ``--overwrite`` never loses a finished run
to a failed start, not even to kill -9."""

from __future__ import annotations

import json
import os
import signal
import socket

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


def _setup(tmp_path, server):
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    out = tmp_path / "out"

    def args(url=None, *extra):
        return [
            "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
            "--base-url", url or server.base_url, "--output-dir", out, "--quiet", "--max-retries", "0",
            *FAST_OPTIONS, *extra,
        ]  # fmt: skip

    return args, out / "deter" / "run_0"


def _server():
    llm = RubricLLM()
    llm.ref_clip.update({cap: name for name, caps in CLIPS.items() for cap in caps})
    return llm, ScriptedOpenAIServer(llm)


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # nothing listens: connection refused


def test_a_second_process_on_the_same_run_folder_is_refused_naming_the_holder(tmp_path):
    llm, server = _server()
    llm.delay_s = 0.3
    with server:
        args, run = _setup(tmp_path, server)
        first = cli_process(*args(), cwd=tmp_path)
        wait_for(lambda: (run / ".lock.owner").exists(), first)
        second = run_cli_subprocess(*args(), cwd=tmp_path)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and second.stderr.startswith("error: ")
        assert f"pid {first.pid} on {socket.gethostname()}" in second.stderr
        assert "being written by another process" in second.stderr
        first.communicate(timeout=120)
        assert first.returncode == 0
    records = read_jsonl(run / "log.jsonl")
    assert [r["clip"] for r in records] == list(CLIPS)  # every clip once: the second process wrote nothing


def test_a_log_holding_a_clip_twice_is_refused_by_resume_and_counted_failed_by_collect(tmp_path, run_cli):
    _, server = _server()
    with server:
        args, run = _setup(tmp_path, server)
        code, _, err = run_cli(*args(None, "--limit", "3"))
        assert code == 0, err
        log = run / "log.jsonl"
        lines = log.read_bytes().splitlines(keepends=True)
        log.write_bytes(b"".join([*lines, lines[1]]))  # what two writers of one run produced
        code, _, err = run_cli(*args(None, "--limit", "4"))
    assert code == 2 and err.count("\n") == 1
    assert "lines 2 and 4 hold the same rubric record" in err and "--overwrite" in err

    good = tmp_path / "runs" / "good"
    good.mkdir(parents=True)
    (good / "log.jsonl").write_bytes(b"".join(lines))
    (tmp_path / "runs" / "twice").mkdir()
    (tmp_path / "runs" / "twice" / "log.jsonl").write_bytes(b"".join([*lines, lines[1]]))
    code, out, err = run_cli("rubrics", "collect", "--src-dir", tmp_path / "runs", "--dst-dir", tmp_path / "final")
    assert code == 1 and "1 processed, 0 skipped, 1 failed" in out
    assert "twice/log.jsonl: position 1 is logged twice (lines 2 and 4)" in err
    assert [p.name for p in (tmp_path / "final").iterdir()] == ["good.json"]


def test_overwrite_against_an_unreachable_server_keeps_the_old_run_byte_for_byte(tmp_path, run_cli):
    _, server = _server()
    with server:
        args, run = _setup(tmp_path, server)
        code, _, err = run_cli(*args())
        assert code == 0, err
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    code, _, err = run_cli(*args(_closed_port_url(), "--overwrite"))
    assert code == 2 and "cannot reach the server" in err
    assert "the earlier run" in err and "is kept" in err
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert after == before
    assert not (run / ".replaced").exists()


def test_overwrite_killed_before_its_first_record_gets_the_old_run_back(tmp_path, run_cli):
    llm, server = _server()
    with server:
        args, run = _setup(tmp_path, server)
        code, _, err = run_cli(*args())
        assert code == 0, err
        before = {name: (run / name).read_bytes() for name in ("log.jsonl", "run.json")}
        llm.delay_s = 30  # the new run never gets its first reply
        proc = cli_process(*args(None, "--overwrite", "--no-llm-cache"), cwd=tmp_path)
        wait_for(lambda: (run / ".replaced" / "log.jsonl").exists() and (run / "log.jsonl").exists(), proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert (run / "log.jsonl").read_bytes() == b""  # the new, empty run
        llm.delay_s = 0.0
        code, _, err = run_cli(*args())  # the next command finds the killed overwrite
    assert code == 0, err
    assert "the earlier run" in err
    assert {name: (run / name).read_bytes() for name in ("log.jsonl", "run.json")} == before
    assert not (run / ".replaced").exists()


def test_a_server_on_another_port_resumes_the_same_run(tmp_path, run_cli):
    _, server = _server()
    with server:
        args, run = _setup(tmp_path, server)
        code, _, err = run_cli(*args(None, "--limit", "3"))
        assert code == 0, err
    llm2, moved = _server()
    with moved:
        code, _, err = run_cli(*args(moved.base_url, "--limit", "5"))
        assert code == 0, err
        assert {clip for _, clip, _ in llm2.log} == set(list(CLIPS)[3:5])  # only the new clips were asked
    assert [r["clip"] for r in read_jsonl(run / "log.jsonl")] == list(CLIPS)[:5]
    manifest = json.loads((run / "run.json").read_text())
    assert "base_url" not in manifest["settings"]


def test_an_overwrite_killed_between_moving_the_old_files_loses_neither(tmp_path, run_cli):
    # What a kill -9 leaves when it lands between moving the log and moving run.json aside.
    _, server = _server()
    with server:
        args, run = _setup(tmp_path, server)
        code, _, err = run_cli(*args())
        assert code == 0, err
    before = {name: (run / name).read_bytes() for name in ("log.jsonl", "run.json")}
    staging = run / ".replaced.partial"
    staging.mkdir()
    (run / "log.jsonl").rename(staging / "log.jsonl")
    code, _, err = run_cli(*args(_closed_port_url()))  # nothing left to do: no request is needed
    assert code == 0, err
    assert {name: (run / name).read_bytes() for name in ("log.jsonl", "run.json")} == before
    assert not staging.exists() and not (run / ".replaced").exists()
