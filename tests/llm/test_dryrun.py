"""``python -m lalm_bench.llm.testserver``: a real server for a user's own dry run, its modes, and a clean stop."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from lalm_bench.llm.dryrun import build_responder, main
from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.llm.helpers import make_wav

QUESTION = "What do you hear?\n(A) a dog\n(B) rain\n(C) an engine"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask(base_url: str, wav: bytes | None, **extra):
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="dry-run", max_retries=0, timeout=30)
    content: list[dict] = [{"type": "text", "text": QUESTION}]
    if wav is not None:
        data = base64.b64encode(wav).decode()
        content.append({"type": "input_audio", "input_audio": {"data": data, "format": "wav"}})
    return client.chat.completions.create(model="fake", messages=[{"role": "user", "content": content}], **extra)


def test_the_command_line_serves_until_ctrl_c():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lalm_bench.llm.testserver", "--mode", "listening", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = proc.stdout.readline()
        base_url = f"http://127.0.0.1:{port}/v1"
        assert f"--base-url {base_url}" in first, first
        reply = _ask(base_url, make_wav(1.0, freq=220.0))
        text = reply.choices[0].message.content
        assert "I hear 1.0 seconds" in text and re.search(r"\(([ABC])\) ", text)
        assert reply.usage.prompt_tokens >= 25  # a second of audio counted
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped after 1 requests" in out and "Traceback" not in err


def test_help_prints_usage_and_the_modes():
    proc = subprocess.run(
        [sys.executable, "-m", "lalm_bench.llm.testserver", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for word in ("usage:", "listening", "deaf", "faults", "schema-following", "--port", "--fault", "--latency"):
        assert word in proc.stdout


def test_bad_arguments_are_one_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--fault", "fire=0.5"])
    assert exc.value.code == 2 and "KIND=RATE" in capsys.readouterr().err


def test_listening_hears_the_audio_and_deaf_does_not():
    loud, other = make_wav(1.0, freq=220.0), make_wav(2.0, freq=5000.0)
    with ScriptedOpenAIServer(build_responder("listening")) as srv:
        a, b = _ask(srv.base_url, loud), _ask(srv.base_url, other)
    assert a.choices[0].message.content != b.choices[0].message.content
    assert b.usage.prompt_tokens - a.usage.prompt_tokens == 25  # one more second of audio
    with ScriptedOpenAIServer(build_responder("deaf")) as srv:
        a, b, none = _ask(srv.base_url, loud), _ask(srv.base_url, other), _ask(srv.base_url, None)
    assert a.choices[0].message.content == b.choices[0].message.content == none.choices[0].message.content
    assert a.usage.prompt_tokens == b.usage.prompt_tokens == none.usage.prompt_tokens


def test_schema_following_replies_follow_the_schema():
    schema = {
        "type": "object",
        "properties": {"verdict": {"enum": ["met", "not_met"]}, "reason": {"type": "string"}},
        "required": ["verdict", "reason"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "v", "strict": True, "schema": schema}}
    with ScriptedOpenAIServer(build_responder("schema-following")) as srv:
        reply = _ask(srv.base_url, None, response_format=fmt)
        plain = _ask(srv.base_url, None)
    data = json.loads(reply.choices[0].message.content)
    assert data["verdict"] in ("met", "not_met") and isinstance(data["reason"], str)
    assert plain.choices[0].message.content.startswith("The answer is (")


def test_faults_are_injected_at_the_given_rates():
    responder = build_responder("faults", faults=["500=1"])
    with ScriptedOpenAIServer(responder) as srv:
        import openai

        with pytest.raises(openai.InternalServerError):
            _ask(srv.base_url, None)
    assert responder.counts["500"] == 1


def test_a_scripted_model_of_the_package_can_be_served():
    responder = build_responder("listening", responder="lalm_bench.rubrics.common.fakes:JudgeLLM")
    assert type(responder).__name__ == "JudgeLLM"
