"""`rubrics generate` end to end: the real openai client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import json

import pytest

from lalm_bench.rubrics.common.clips import Clip
from lalm_bench.rubrics.generate.prompts import PROMPT_VERSION
from lalm_bench.rubrics.generate.steps import draw_reference
from tests.rubrics.helpers import FAST_OPTIONS, MADE_UP, make_wav, read_jsonl, write_baselines

NAMES = list(MADE_UP)


def _refs(clips: dict[str, list[str]]) -> dict[str, str]:
    return {cap: name for name, caps in clips.items() for cap in caps}


@pytest.fixture
def setup(tmp_path, small_clotho, rubric_server):
    rubric_server.llm.ref_clip.update(_refs(MADE_UP))
    baseline = write_baselines(tmp_path / "baseline.csv", NAMES)
    out = tmp_path / "out"

    def args(*extra: str) -> list[str]:
        return [
            "rubrics", "generate", "--csv", str(small_clotho), "--baseline-file", str(baseline),
            "--rubric-model", "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct", "--base-url", rubric_server.base_url,
            "--output-dir", str(out), "--max-retries", "2", "--quiet", *FAST_OPTIONS, *extra,
        ]  # fmt: skip

    return args, out, rubric_server


def test_generate_from_baseline_file(setup, run_cli):
    args, out, server = setup
    code, _, err = run_cli(*args())
    assert code == 0, err
    run = out / "deter" / "run_0"
    records = read_jsonl(run / "log.jsonl")
    assert [r["position"] for r in records] == list(range(6))
    assert [r["clip"] for r in records] == NAMES
    assert all(r["status"] == "ok" for r in records)
    for r in records:
        clip = Clip(r["clip"], tuple(MADE_UP[r["clip"]]))
        assert (r["reference_index"], r["reference"]) == draw_reference(42, "evaluation", clip)
        assert r["baseline"] == f"Some noise is heard in {r['clip']}." and r["baseline_source"] == "file"
        assert r["rubric_version_seen"] == r["position"]  # default: the current rubric
        assert r["extractor_reply"]["raw"] and r["extractor_reply"]["parsed"]["criteria"]
    # the rubric grows by merging: "near" recurs in every clip and is merged, not repeated
    final = records[-1]["final_criteria"]
    texts = [c["criterion"] for c in final]
    assert len(texts) == len(set(texts))
    assert {"mentions near", "mentions river", "mentions road", "mentions forest"} <= set(texts)
    assert sum(c["weight"] for c in final) == 2 * sum(len(r["new_criteria"]) for r in records)
    assert records[1]["merge_reply"]["parsed"]["rubric"]
    # one extractor request per clip; merges only when there is something to merge
    counts = server.llm.counts
    assert all(counts[("extract", n)] == 1 for n in NAMES)
    assert all(counts[("merge", n)] <= 1 for n in NAMES), counts
    body = next(r.body for r in server.requests if "BETTER caption" in r.last_user_text)
    assert body["temperature"] == 0 and body["seed"] == 42
    assert body["response_format"]["type"] == "json_schema"
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["prompt_version"] == PROMPT_VERSION == manifest["settings"]["prompt_version"]
    assert manifest["model"]["base_url"] == server.base_url and manifest["settings"]["limit"] is None
    assert "base_url" not in manifest["settings"]  # a server on another port serves the same run
    assert manifest["run"]["seed"] == 42 and manifest["dataset"]["clips"] == 6
    # rerunning the finished run: nothing to do, no request
    n = len(server.requests)
    code, _, _ = run_cli(*args())
    assert code == 0 and len(server.requests) == n
    assert len(read_jsonl(run / "log.jsonl")) == 6


def test_a_failing_step_fails_only_its_clip(setup, run_cli):
    from lalm_bench.llm.testserver import completion, error

    args, out, server = setup
    server.llm.fail[("extract", NAMES[2])] = lambda: error(503)  # transient: retried (a 500 repeated is not)
    server.llm.fail[("extract", NAMES[4])] = lambda: completion("I am not JSON, sorry")

    def once():  # an invalid reply, then the repair retry gets a good one
        del server.llm.fail[("extract", NAMES[5])]
        return completion("```json\n{oops\n```")

    server.llm.fail[("extract", NAMES[5])] = once
    code, _, err = run_cli(*args())
    assert code == 0, err
    records = read_jsonl(out / "deter" / "run_0" / "log.jsonl")
    assert [r["status"] for r in records] == ["ok", "ok", "failed", "ok", "failed", "ok"]
    r2, r4 = records[2], records[4]
    assert r2["failed_step"] == "extract" and "503" in r2["error"]
    assert r2["extractor_reply"]["attempts"] == 3  # --max-retries 2
    assert server.llm.counts[("extract", NAMES[2])] == 3
    assert r2["final_criteria"] == records[1]["final_criteria"]  # rubric unchanged
    assert r4["failed_step"] == "extract" and "repair" in r4["error"]
    assert r4["extractor_reply"]["raw"] == "I am not JSON, sorry"  # the bad replies are kept
    assert r4["extractor_reply"]["raw_attempts"] == ["I am not JSON, sorry"] * 2
    assert r4["extractor_reply"]["prompt_tokens"] == 2 * 10  # tokens spent on a failed step still count
    assert server.llm.counts[("extract", NAMES[4])] == 2  # one repair retry
    assert r4["final_criteria"] == records[3]["final_criteria"]
    r5 = records[5]["extractor_reply"]
    assert r5["raw_attempts"][0] == "```json\n{oops\n```" and r5["raw_attempts"][1] == r5["raw"]
    assert r5["parsed"]["criteria"] and r5["attempts"] == 2
    # failures are not cached: a new run name retries them (and reuses nothing else)
    server.llm.fail.clear()
    code, _, _ = run_cli(*args("--run-name", "again"))
    again = read_jsonl(out / "deter" / "again_0" / "log.jsonl")
    assert code == 0 and all(r["status"] == "ok" for r in again)


def test_refuses_a_run_folder_with_other_settings(setup, run_cli):
    args, out, server = setup
    assert run_cli(*args("--limit", "2"))[0] == 0
    code, _, err = run_cli(*args("--limit", "2", "--seed", "7"))
    assert code == 2
    assert err.count("\n") == 1 and "seed: 42 -> 7" in err and "--overwrite" in err and "Traceback" not in err
    assert len(read_jsonl(out / "deter" / "run_0" / "log.jsonl")) == 2  # untouched
    # raising --limit extends the run; the first two clips are not redone
    before = server.llm.counts.copy()
    assert run_cli(*args("--limit", "4"))[0] == 0
    assert [r["position"] for r in read_jsonl(out / "deter" / "run_0" / "log.jsonl")] == [0, 1, 2, 3]
    assert server.llm.counts[("extract", NAMES[0])] == before[("extract", NAMES[0])] == 1
    assert run_cli(*args("--limit", "2", "--seed", "7", "--overwrite"))[0] == 0
    records = read_jsonl(out / "deter" / "run_0" / "log.jsonl")
    assert len(records) == 2
    assert json.loads((out / "deter" / "run_0" / "run.json").read_text())["settings"]["seed"] == 7
    assert run_cli(*args("--limit", "2", "--seed", "8", "--run-name", "s8"))[0] == 0
    assert (out / "deter" / "s8_0" / "log.jsonl").exists()


def test_stochastic_runs_and_legacy_results(setup, run_cli):
    args, out, server = setup
    code, _, err = run_cli(*args("--mode", "stochastic", "--runs", "2", "--temperature", "0.9", "--legacy-results"))
    assert code == 0, err
    logs = [read_jsonl(out / "stoch" / f"run_{k}" / "log.jsonl") for k in range(2)]
    assert all(len(log) == 6 for log in logs)
    assert [r["reference_index"] for r in logs[0]] != [r["reference_index"] for r in logs[1]]
    seeds = {r.body["seed"] for r in server.requests}
    assert seeds == {42, 43} and {r.body["temperature"] for r in server.requests} == {0.9}
    for k in range(2):
        legacy = json.loads((out / "stoch" / f"results_{k}.json").read_text())
        assert legacy == logs[k]  # the seed's file: the list of all records so far
    assert [json.loads((out / "stoch" / f"run_{k}" / "run.json").read_text())["run"]["seed"] for k in (0, 1)] == [
        42,
        43,
    ]
    # a rerun resumes both runs from their logs; a new run name with the same seeds reuses no request
    n = len(server.requests)
    assert run_cli(*args("--mode", "stochastic", "--runs", "2", "--temperature", "0.9"))[0] == 0
    assert len(server.requests) == n


def test_audio_model_with_missing_and_corrupt_audio(tmp_path, small_clotho, rubric_server, run_cli):
    llm = rubric_server.llm
    llm.ref_clip.update(_refs(MADE_UP))
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    wavs = {}
    for i, name in enumerate(NAMES[:4]):
        if i == 2:
            continue  # missing
        wavs[name] = make_wav(seconds=0.05 + i / 100)
        (audio_dir / name).write_bytes(wavs[name])
        llm.register_audio(name, wavs[name])
    (audio_dir / NAMES[3]).write_bytes(b"\x00" * 100)  # corrupt
    del wavs[NAMES[3]]
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", small_clotho, "--audio-dir", audio_dir, "--limit", "4",
        "--audio-model", "openai/omni", "--rubric-with-audio", "--base-url", rubric_server.base_url,
        "--output-dir", tmp_path / "out", "--quiet", *FAST_OPTIONS,
    )  # fmt: skip
    assert code == 0, err
    records = read_jsonl(tmp_path / "out" / "deter" / "run_0" / "log.jsonl")
    assert [r["status"] for r in records] == ["ok", "ok", "failed", "failed"]
    assert records[2]["failed_step"] == "audio" and "not found" in records[2]["error"]
    assert records[3]["failed_step"] == "audio" and "unreadable audio file" in records[3]["error"]
    assert records[0]["baseline"] == f"A model caption of {NAMES[0]}." and records[0]["baseline_source"] == "model"
    # the audio goes byte for byte as base64 input_audio, to the captioner and (with the flag) the extractor
    for data in wavs.values():
        sent = [
            p["input_audio"]
            for r in rubric_server.requests
            for m in r.messages
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "input_audio" and p["input_audio"]["data"] == base64.b64encode(data).decode()
        ]
        assert len(sent) == 2 and all(a["format"] == "wav" for a in sent)
    assert llm.counts[("baseline", NAMES[0])] == 1


def test_fatal_errors_stop_with_one_line_and_keep_the_log(setup, run_cli):
    from lalm_bench.llm.testserver import error

    args, out, server = setup
    for name in NAMES[3:]:
        server.llm.fail[("extract", name)] = lambda: error(401, "invalid api key")
    code, _, err = run_cli(*args("--concurrency", "1"))
    assert code == 2 and err.count("\n") == 1 and "OPENAI_API_KEY" in err and "Traceback" not in err
    assert [r["clip"] for r in read_jsonl(out / "deter" / "run_0" / "log.jsonl")] == NAMES[:3]
    server.llm.fail.clear()
    assert run_cli(*args())[0] == 0  # resumes after the third clip
    assert [r["clip"] for r in read_jsonl(out / "deter" / "run_0" / "log.jsonl")] == NAMES
    assert server.llm.counts[("extract", NAMES[0])] == 1


def test_bad_model_strings_and_unreachable_server(setup, run_cli, tmp_path):
    import socket

    args, _, _ = setup
    code, _, err = run_cli(*[a if a != "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct" else "nope/x" for a in args()])
    assert code == 2 and "unknown model provider 'nope'" in err and err.count("\n") == 1
    code, _, err = run_cli(*[a if a != "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct" else "Qwen3" for a in args()])
    assert code == 2 and "provider/model" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = args("--run-name", "down", "--max-retries", "1")
    argv[argv.index("--base-url") + 1] = f"http://127.0.0.1:{port}/v1"
    code, _, err = run_cli(*argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "rerun to resume" in err
    code, _, err = run_cli(*args("--start", "99"))
    assert code == 2 and "no clips selected" in err


def test_real_clotho_clips_with_their_audio(clotho_eval, rubric_server, run_cli, tmp_path):
    """The five real evaluation clips (first in the CSV) go to the audio model as their own WAV bytes."""
    import pandas as pd

    audio_dir = clotho_eval.parent / "audio" / "evaluation"
    if not audio_dir.is_dir():
        pytest.skip("real Clotho audio not available")
    df = pd.read_csv(clotho_eval, keep_default_na=False, dtype=str)
    llm = rubric_server.llm
    llm.ref_clip.update({c: row.file_name for row in df.itertuples() for c in row[2:]})
    wavs = {f.name: f.read_bytes() for f in audio_dir.glob("*.wav")}
    for name, data in wavs.items():
        llm.register_audio(name, data)
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", clotho_eval, "--limit", "5", "--audio-model", "openai/omni",
        "--base-url", rubric_server.base_url, "--output-dir", tmp_path / "out", "--quiet", *FAST_OPTIONS,
    )  # fmt: skip
    assert code == 0, err
    records = read_jsonl(tmp_path / "out" / "deter" / "run_0" / "log.jsonl")
    assert [r["clip"] for r in records] == list(df["file_name"][:5]) and set(wavs) == {r["clip"] for r in records}
    assert all(r["status"] == "ok" and r["baseline"] == f"A model caption of {r['clip']}." for r in records)
    sent = [
        p["input_audio"]["data"]
        for r in rubric_server.requests
        for m in r.messages
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "input_audio"
    ]
    assert sorted(sent) == sorted(base64.b64encode(d).decode() for d in wavs.values())


def test_seed_run_script(setup, tmp_path):
    """`python projects/make_rubrics/run.py` is the same command with the seed's defaults."""
    import os
    import subprocess
    import sys

    from tests.rubrics.helpers import REPO

    args, _, _ = setup
    argv = args("--limit", "2")[2:]
    out = tmp_path / "seed-out"
    argv[argv.index("--output-dir") + 1] = str(out)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}
    proc = subprocess.run(
        [sys.executable, str(REPO / "projects/make_rubrics/run.py"), *argv],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(read_jsonl(out / "deter" / "run_0" / "log.jsonl")) == 2
    # without --csv it looks for Clotho in the cache under HF_HOME, and says so in one line
    argv = [a for a in argv if a != argv[argv.index("--csv") + 1] and a != "--csv"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "projects/make_rubrics/run.py"), *argv],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2 and str(tmp_path / "hf" / "hub") in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error:") and "Traceback" not in proc.stderr


def test_rubric_lag_is_deterministic_whatever_the_concurrency(setup, run_cli):
    """With --rubric-lag L, clip p sees rubric version p-L: a fixed snapshot, not a race."""
    args, out, _ = setup
    assert run_cli(*args("--rubric-lag", "2", "--concurrency", "6", "--run-name", "wide"))[0] == 0
    assert run_cli(*args("--rubric-lag", "2", "--concurrency", "1", "--run-name", "narrow"))[0] == 0
    wide = read_jsonl(out / "deter" / "wide_0" / "log.jsonl")
    narrow = read_jsonl(out / "deter" / "narrow_0" / "log.jsonl")
    assert [r["rubric_version_seen"] for r in wide] == [0, 0, 0, 1, 2, 3]
    assert [r["rubric_version_seen"] for r in narrow] == [0, 0, 0, 1, 2, 3]
    for a, b in zip(wide, narrow, strict=True):
        assert a["extractor_reply"]["raw"] == b["extractor_reply"]["raw"]
        assert a["final_criteria"] == b["final_criteria"]
