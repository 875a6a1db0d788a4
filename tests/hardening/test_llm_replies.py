"""Items 4 and 9, and the reply cap, through ``rubrics generate`` against the loopback server: a server
that rejects ``response_format: json_schema`` with HTTP 500; identical 5xx bodies; empty or non-JSON
200 replies; a 10 MB reply."""

from __future__ import annotations

import json

import pytest

from lalm_bench.llm.testserver import Reply, ScriptedOpenAIServer, completion, error
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.hardening.helpers import CLIPS, FAST_OPTIONS, read_jsonl, write_baselines, write_clotho_csv

NAMES = list(CLIPS)[:4]
# What a widely used OpenAI-compatible server answers to response_format json_schema (with HTTP 500)
PYDANTIC_REJECTION = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' "
    "or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


@pytest.fixture
def job(tmp_path, run_cli):
    clips = {n: CLIPS[n] for n in NAMES}
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", clips)
    baseline = write_baselines(tmp_path / "baseline.csv", clips)
    llm = RubricLLM()
    llm.ref_clip.update({cap: name for name, caps in clips.items() for cap in caps})
    out = tmp_path / "out"

    def run(server, *extra):
        return run_cli(
            "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
            "--base-url", server.base_url, "--output-dir", out, "--quiet", *FAST_OPTIONS, *extra,
        )  # fmt: skip

    return llm, run, out / "deter" / "run_0"


def test_a_5xx_rejecting_json_schema_falls_back_once_and_the_manifest_says_so(job):
    llm, run, folder = job

    def responder(req):
        if (req.body.get("response_format") or {}).get("type") == "json_schema":
            return error(500, PYDANTIC_REJECTION)
        return llm(req)

    with ScriptedOpenAIServer(responder) as server:
        code, _, err = run(server)
        modes = [(b.get("response_format") or {}).get("type") for b in server.bodies]
        prompts = [b["messages"][-1]["content"] for b in server.bodies]
    assert code == 0, err
    records = read_jsonl(folder / "log.jsonl")
    assert [r["status"] for r in records] == ["ok"] * len(NAMES)
    assert modes[0] == "json_schema" and modes[1:] == ["json_object"] * (len(modes) - 1)  # rejected once, no retries
    assert all("matches this JSON schema" in json.dumps(p) for p in prompts[1:])  # the schema went into the prompt
    judge = json.loads((folder / "run.json").read_text())["model"]["providers"]["openai/judge"]
    assert judge["structured_output"] == "json_object" and judge["structured_output_requested"] == "json_schema"
    assert judge["structured_output_fallbacks"][0]["from"] == "json_schema"
    assert "HTTP 500" in judge["structured_output_fallbacks"][0]["reason"]


def test_a_server_that_takes_no_response_format_at_all_gets_the_schema_in_the_prompt(job):
    llm, run, folder = job

    def responder(req):
        if "response_format" in req.body:
            return error(400, "unknown field: response_format")
        return llm(req)

    with ScriptedOpenAIServer(responder) as server:
        code, _, err = run(server)
        modes = [(b.get("response_format") or {}).get("type") for b in server.bodies]
    assert code == 0, err
    assert modes[:2] == ["json_schema", "json_object"] and set(modes[2:]) == {None}
    judge = json.loads((folder / "run.json").read_text())["model"]["providers"]["openai/judge"]
    assert judge["structured_output"] == "none"


def test_the_same_5xx_body_twice_stops_the_retries(job):
    llm, run, folder = job
    llm.fail[("extract", NAMES[1])] = lambda: error(500, "CUDA error: an illegal memory access was encountered")
    llm.fail[("extract", NAMES[2])] = lambda: error(503, "the engine is loading")  # transient: retried
    with ScriptedOpenAIServer(llm) as server:
        code, _, err = run(server)
    assert code == 0, err
    records = {r["clip"]: r for r in read_jsonl(folder / "log.jsonl")}
    deterministic, transient = records[NAMES[1]], records[NAMES[2]]
    assert deterministic["status"] == "failed" and deterministic["extractor_reply"]["attempts"] == 2
    assert "the same error twice" in deterministic["error"]
    assert transient["status"] == "failed" and transient["extractor_reply"]["attempts"] == 5  # --max-retries 4
    assert llm.counts[("extract", NAMES[1])] == 2 and llm.counts[("extract", NAMES[2])] == 5


@pytest.mark.parametrize("body", ["", "<html><body>502 Bad Gateway</body></html>", {"choices": []}])
def test_an_empty_or_non_json_200_reply_is_a_failed_attempt(job, body):
    llm, run, folder = job
    bad = {"n": 0}

    def flaky_once():  # clip 0: one bad reply, then a good one
        bad["n"] += 1
        return Reply(200, body) if bad["n"] == 1 else None

    llm.fail[("extract", NAMES[2])] = lambda: Reply(200, body)  # clip 2: always bad
    with ScriptedOpenAIServer(llm) as server:
        original = server.responder

        def responder(req):
            if not bad["n"] and "BETTER caption" in json.dumps(req.body):
                return flaky_once()
            return original(req)

        server.responder = responder
        code, _, err = run(server)
    assert code == 0, err  # the run went on
    records = read_jsonl(folder / "log.jsonl")
    assert [r["status"] for r in records] == ["ok", "ok", "failed", "ok"]
    assert records[0]["extractor_reply"]["attempts"] == 2
    failed = records[2]
    assert failed["failed_step"] == "extract" and "not a chat completion" in failed["error"]
    assert failed["extractor_reply"]["attempts"] == 2  # the same bad reply twice: not retried again


def test_a_10_mb_reply_fails_its_step_and_is_neither_stored_nor_sent_back(job, tmp_path):
    llm, run, folder = job
    llm.fail[("extract", NAMES[1])] = lambda: completion("criteria " * 1_200_000)  # ~10.8 MB
    cache = tmp_path / "llm-cache.sqlite"
    with ScriptedOpenAIServer(llm) as server:
        code, _, err = run(server, "--max-tokens", "512", "--llm-cache", cache)
        biggest_request = max(len(r.raw) for r in server.requests)
    assert code == 0, err
    records = {r["clip"]: r for r in read_jsonl(folder / "log.jsonl")}
    failed = records[NAMES[1]]
    assert failed["status"] == "failed" and "characters" in failed["error"] and "max_tokens=512" in failed["error"]
    assert len(failed["extractor_reply"]["raw"]) < 3_000
    assert (folder / "log.jsonl").stat().st_size < 200_000
    assert cache.stat().st_size < 1_000_000
    assert biggest_request < 100_000  # no repair request carried the reply back
    assert [records[n]["status"] for n in NAMES if n != NAMES[1]] == ["ok"] * 3
