"""The openai provider against a real HTTP server on 127.0.0.1, through the real ``openai`` client."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading

import pytest

from lalm_bench.llm import (
    AudioPart,
    LLMAuthError,
    LLMConfigError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    LLMUnreachableError,
    Message,
    Sampling,
    TextPart,
)
from lalm_bench.llm.openai_provider import OpenAIChatModel
from lalm_bench.llm.openai_transport import _retry_after_s
from lalm_bench.llm.testserver import completion, dropped, error, slow
from tests.llm.helpers import FAST, Criteria, make_wav, model_for, run

GOOD = json.dumps({"items": [{"text": "mentions rain", "weight": 3}], "note": None})


def ask(model, text="hi", **kw):
    return run(model.chat([Message.text("user", text)], **kw))


def test_audio_request_shape_byte_for_byte(server):
    wav = make_wav()
    server.script("A dog barks.")
    model = model_for(server)
    messages = [
        Message.text("system", "You describe sounds."),
        Message("user", (TextPart("Describe this clip."), AudioPart(wav, "wav"))),
    ]
    result = run(model.chat(messages, sampling=Sampling(temperature=0.7, top_p=0.9, max_tokens=64, seed=11)))
    assert result.text == "A dog barks."
    assert result.usage.prompt_tokens == 10 and result.usage.completion_tokens == 5
    assert len(server.requests) == 1
    req = server.requests[0]
    assert req.path == "/v1/chat/completions"
    b64 = base64.b64encode(wav).decode("ascii")
    assert req.body == {
        "model": "Qwen/Qwen3-Omni-30B-A3B-Instruct",
        "messages": [
            {"role": "system", "content": "You describe sounds."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe this clip."},
                    {"type": "input_audio", "input_audio": {"data": b64, "format": "wav"}},
                ],
            },
        ],
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 64,
        "seed": 11,
    }
    sent = req.body["messages"][1]["content"][1]["input_audio"]["data"]
    assert base64.b64decode(sent) == wav  # the exact WAV bytes, no data: prefix
    assert b64.encode() in req.raw
    assert req.headers["authorization"] == "Bearer EMPTY"  # local server, no key set


def test_api_key_from_named_env_var(server, monkeypatch):
    monkeypatch.setenv("MY_LLM_KEY", "sk-test-abcdef123456")
    model = model_for(server, api_key_env="MY_LLM_KEY")
    ask(model)
    assert server.requests[0].headers["authorization"] == "Bearer sk-test-abcdef123456"
    assert "sk-test" not in repr(model) and "sk-test" not in json.dumps(model.describe())


def test_structured_request_sends_strict_json_schema(server):
    server.script(GOOD)
    result = ask(model_for(server), schema=Criteria)
    assert result.parsed == Criteria.model_validate_json(GOOD)
    rf = server.requests[0].body["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["name"] == "Criteria" and rf["json_schema"]["strict"] is True
    schema = rf["json_schema"]["schema"]
    assert schema["additionalProperties"] is False and schema["required"] == ["items", "note"]
    item = schema["$defs"]["Item"]
    assert item["additionalProperties"] is False and item["required"] == ["text", "weight"]


@pytest.mark.parametrize(
    "reply",
    [
        f"```json\n{GOOD}\n```",
        f"Sure! Here is the rubric:\n{GOOD}\nHope this helps.",
        f"<think>let me think {{not json}}</think>\n```\n{GOOD}\n```",
    ],
)
def test_fenced_or_chatty_json_accepted_without_repair(server, reply):
    server.script(reply)
    result = ask(model_for(server), schema=Criteria)
    assert result.parsed.items[0].weight == 3
    assert result.extra["repaired"] is False
    assert len(server.requests) == 1


def test_invalid_reply_gets_one_repair_retry(server):
    server.script("I cannot answer in JSON, sorry.", GOOD)
    model = model_for(server)
    result = ask(model, "make criteria", schema=Criteria)
    assert result.parsed.items[0].text == "mentions rain"
    assert result.extra["repaired"] is True
    assert result.extra["raw_texts"] == ["I cannot answer in JSON, sorry.", GOOD]
    assert result.usage.prompt_tokens == 20 and result.attempts == 2
    assert model.stats.repairs == 1
    repair = server.requests[1].body["messages"]
    assert repair[0] == {"role": "user", "content": "make criteria"}
    assert repair[1] == {"role": "assistant", "content": "I cannot answer in JSON, sorry."}
    assert "no JSON object" in repair[2]["content"] and '"additionalProperties": false' in repair[2]["content"]


def test_schema_violation_twice_raises_response_error_with_raw_text(server):
    bad = json.dumps({"items": [{"text": "x", "weight": "heavy"}]})
    server.script(bad, "still not json")
    model = model_for(server)
    with pytest.raises(LLMResponseError) as info:
        ask(model, schema=Criteria)
    err = info.value
    assert err.raw_text == "still not json" and err.raw_texts == [bad, "still not json"]
    assert err.attempts == 2 and err.usage.prompt_tokens == 20
    assert "\n" not in str(err) and "Criteria" in str(err)
    assert "weight" in server.requests[1].body["messages"][-1]["content"]  # the validation error was sent back
    assert len(server.requests) == 2 and model.stats.failures == 1


def test_retries_on_5xx_429_and_dropped_connection(server):
    server.script(error(500), error(503), error(429, retry_after=0), dropped(), "fine")
    model = model_for(server)
    result = ask(model)
    assert result.text == "fine"
    assert result.attempts == 5 and len(server.requests) == 5
    assert model.stats.retries == 4 and model.stats.http_attempts == 5


def test_a_dropped_last_attempt_after_answers_fails_the_item_not_the_job(server):
    from lalm_bench.llm.calls import is_fatal

    server.script(error(500, "first"), error(503), dropped())
    model = model_for(server, max_attempts=3)
    with pytest.raises(LLMServerError, match=r"dropped on the last of 3 attempts.*answered earlier") as info:
        ask(model)
    assert not is_fatal(info.value)  # only a server that never answered stops the job
    server.script(dropped(), dropped(), dropped())
    with pytest.raises(LLMUnreachableError) as info:
        ask(model_for(server, max_attempts=3))
    assert is_fatal(info.value)


def test_retry_on_timeout(server):
    server.script(slow(30), "after timeout")
    model = model_for(server, timeout=0.3)
    result = ask(model)
    assert result.text == "after timeout" and result.attempts == 2


def test_timeouts_exhaust_attempts(server):
    server.script(slow(30), slow(30))
    model = model_for(server, timeout=0.2, max_attempts=2)
    with pytest.raises(LLMTimeoutError) as info:
        ask(model)
    assert info.value.attempts == 2 and server.base_url in str(info.value)


@pytest.mark.parametrize(
    ("status", "exc_type"), [(503, LLMServerError), (502, LLMServerError), (429, LLMRateLimitError)]
)
def test_bounded_attempts_then_clear_error(server, status, exc_type):
    server.responder = lambda req: error(status, "overloaded")
    model = model_for(server, max_attempts=3)
    with pytest.raises(exc_type) as info:
        ask(model)
    assert len(server.requests) == 3 and info.value.attempts == 3
    assert f"HTTP {status}" in str(info.value) and "3 attempts" in str(info.value)


def test_max_retries_option_and_total_wait_bound(server):
    server.responder = lambda req: error(500)
    with pytest.raises(LLMServerError):
        ask(model_for(server, max_retries=1))
    assert len(server.requests) == 2
    server.clear()
    with pytest.raises(LLMServerError):  # no time left to wait: one attempt only
        ask(model_for(server, max_attempts=5, max_total_wait_s=0.0))
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_error_not_retried_names_env_var_not_key(server, monkeypatch, status):
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    server.script(error(status, f"Incorrect API key provided: {secret}"))
    with pytest.raises(LLMAuthError) as info:
        ask(model_for(server))
    msg = str(info.value)
    assert len(server.requests) == 1
    assert "OPENAI_API_KEY" in msg and secret not in msg and "\n" not in msg
    assert info.value.status_code == status


def test_missing_key_for_remote_server_fails_before_any_request():
    with pytest.raises(LLMAuthError, match="MY_KEY is not set"):
        OpenAIChatModel("gpt-4o-audio-preview", base_url="https://api.example.invalid/v1", api_key_env="MY_KEY")


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_not_retried(server, status):
    server.script(error(status, "bad model name"))
    with pytest.raises(LLMRequestError) as info:
        ask(model_for(server))
    assert len(server.requests) == 1 and "bad model name" in str(info.value)


def test_unreachable_server_after_bounded_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"  # closed port: connection refused
    model = OpenAIChatModel("m", base_url=url, cache=None, max_attempts=3, **FAST)
    with pytest.raises(LLMUnreachableError) as info:
        ask(model)
    assert info.value.attempts == 3 and url in str(info.value) and "\n" not in str(info.value)
    assert model.stats.retries == 2


def test_response_format_rejected_falls_back_once_and_remembers(server):
    def responder(req):
        if "response_format" in req.body:
            return error(400, "response_format of type json_schema is not supported by this server")
        return completion(f"```json\n{GOOD}\n```")

    server.responder = responder
    model = model_for(server)
    first = ask(model, schema=Criteria)
    assert first.parsed is not None and first.extra["structured_output_fallback"] is True
    assert first.attempts == 3  # json_schema, then json_object, then the prompt alone
    assert [b.get("response_format", {}).get("type") for b in server.bodies] == ["json_schema", "json_object", None]
    second = ask(model, "again", schema=Criteria)
    assert second.parsed is not None
    assert len(server.requests) == 4 and "response_format" not in server.bodies[3]
    assert model.structured_output == "none" and first.extra["structured_output"] == "none"


def test_other_400_is_not_taken_for_a_response_format_problem(server):
    server.script(error(400, "max_tokens is too large"))
    with pytest.raises(LLMRequestError):
        ask(model_for(server), schema=Criteria)
    assert len(server.requests) == 1


def test_vllm_structured_outputs_mode(server):
    server.script(GOOD)
    result = ask(model_for(server, structured_output="vllm"), schema=Criteria)
    body = server.requests[0].body
    assert result.parsed is not None and "response_format" not in body
    assert body["structured_outputs"]["json"]["required"] == ["items", "note"]


def test_concurrency_limit(server):
    barrier = threading.Barrier(2, timeout=10)
    lock = threading.Lock()
    state = {"in_flight": 0, "max": 0, "n": 0}

    def responder(req):
        with lock:
            state["in_flight"] += 1
            state["max"] = max(state["max"], state["in_flight"])
            state["n"] += 1
            first_two = state["n"] <= 2
        if first_two:
            barrier.wait()  # the first two requests are in flight together
        with lock:
            state["in_flight"] -= 1
        return completion("ok")

    server.responder = responder
    model = model_for(server, concurrency=2)

    async def many():
        return await asyncio.gather(*(model.chat([Message.text("user", f"q{i}")]) for i in range(6)))

    results = run(many())
    assert [r.text for r in results] == ["ok"] * 6
    assert state["max"] == 2


def test_model_usable_across_event_loops(server):
    model = model_for(server)
    assert ask(model).text == "ok"
    assert ask(model).text == "ok"  # a second asyncio.run: fresh client and semaphore
    run(model.aclose())


def test_non_completion_body_is_a_response_error(server):
    from lalm_bench.llm.testserver import Reply

    server.responder = lambda req: Reply(200, {"unexpected": True})
    with pytest.raises(LLMResponseError) as info:
        ask(model_for(server, max_attempts=3))
    assert "not a chat completion" in str(info.value) and info.value.attempts == 2  # the same body twice


def test_bad_options():
    with pytest.raises(LLMConfigError):
        OpenAIChatModel("m", base_url="localhost:8000/v1")
    with pytest.raises(LLMConfigError):
        OpenAIChatModel("m", base_url="http://127.0.0.1:1/v1", concurrency=0)


def test_retry_after_header_parsing():
    class Resp:
        def __init__(self, headers):
            self.headers = headers

    class Exc(Exception):
        def __init__(self, headers):
            self.response = Resp(headers)

    assert _retry_after_s(Exc({"retry-after": "2"})) == 2.0
    assert _retry_after_s(Exc({"retry-after-ms": "250"})) == 0.25
    assert _retry_after_s(Exc({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    assert _retry_after_s(ValueError()) is None


def test_requests_spread_over_small_connection_pools(server):
    """20 requests in flight at once go through ceil(20 / 8) clients, at most 8 on each (httpcore walks every
    connection of its pool on each request); all are answered, and the clients are closed with the model."""
    from lalm_bench.llm.openai_pool import CONNECTIONS_PER_POOL

    barrier = threading.Barrier(20, timeout=10)
    server.responder = lambda req: (barrier.wait(), completion("ok"))[1]  # all 20 in flight together
    model = model_for(server, concurrency=20)

    async def many():
        out = await asyncio.gather(*(model.chat([Message.text("user", f"q{i}")]) for i in range(20)))
        pools = model._clients
        assert pools is not None and pools.size == -(-20 // CONNECTIONS_PER_POOL) == 3
        assert pools._busy == [0, 0, 0]
        await model.aclose()
        assert model._clients is None and pools.size == 0
        return out

    assert [r.text for r in run(many())] == ["ok"] * 20
