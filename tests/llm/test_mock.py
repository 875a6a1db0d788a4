"""The mock chat provider: usable by name like any provider, deterministic, audio-aware usage, faults."""

from __future__ import annotations

import json

import pytest

from lalm_bench.llm import AudioPart, Message, Sampling, TextPart
from lalm_bench.llm.errors import LLMConfigError, LLMServerError
from lalm_bench.llm.options import LLMOptions, make_chat_model
from tests.llm.helpers import Criteria, make_wav, run


def _ask(model, audio: bytes | None = None, text: str = "describe the sound please", **kw):
    content = ((AudioPart(audio),) if audio else ()) + (TextPart(text),)
    return run(model.chat([Message("user", content)], **kw))


def test_echo_reports_audio_tokens_and_drops_audio_does_not():
    echo = make_chat_model("mock/echo", LLMOptions(use_cache=False))
    drops = make_chat_model("mock/drops-audio", LLMOptions(use_cache=False))
    one_s, two_s = make_wav(seconds=1.0), make_wav(seconds=2.0)
    r1, r2 = _ask(echo, one_s), _ask(echo, two_s)
    assert r1.text == "describe the sound please" and r1.usage.prompt_tokens == 4 + 25
    assert r2.usage.prompt_tokens == 4 + 50
    assert _ask(drops, one_s).usage.prompt_tokens == _ask(drops, two_s).usage.prompt_tokens == 4


def test_schema_replies_are_valid_and_max_tokens_cuts_with_length():
    model = make_chat_model("mock/schema", LLMOptions(use_cache=False))
    res = _ask(model, schema=Criteria)
    assert isinstance(res.parsed, Criteria) and res.parsed.items == []
    cut = _ask(make_chat_model("mock/echo", LLMOptions(use_cache=False)), sampling=Sampling(max_tokens=2))
    assert cut.text == "describe the" and cut.extra["finish_reason"] == "length"


def test_scripted_replies_then_default_and_failures_are_stable_per_request():
    model = make_chat_model("mock/echo", LLMOptions(use_cache=False, provider_options={"replies": ["a", "b"]}))
    assert [_ask(model).text for _ in range(3)] == ["a", "b", "describe the sound please"]
    flaky = make_chat_model("mock/echo", LLMOptions(use_cache=False, provider_options={"fail_rate": 0.5}))
    outcomes = []
    for i in range(40):
        try:
            _ask(flaky, text=f"question {i}")
            outcomes.append(True)
        except LLMServerError:
            outcomes.append(False)
    again = []
    for i in range(40):
        try:
            _ask(flaky, text=f"question {i}")
            again.append(True)
        except LLMServerError:
            again.append(False)
    assert outcomes == again and 5 < outcomes.count(False) < 35


def test_bad_mock_names_and_options_are_one_line_errors():
    with pytest.raises(LLMConfigError, match="use one of mock/echo"):
        make_chat_model("mock/gpt", LLMOptions())
    with pytest.raises(LLMConfigError, match="does not take option"):
        make_chat_model("mock/echo", LLMOptions(provider_options={"temperature_boost": 2}))


def test_rubrics_generate_runs_end_to_end_on_the_mock_provider(tmp_path, run_cli):
    from tests.rubrics.helpers import MADE_UP, write_baselines, write_clotho_csv

    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)
    base = write_baselines(tmp_path / "b.csv", list(MADE_UP))
    out = tmp_path / "out"
    res = run_cli(
        "rubrics", "generate", "--csv", csv, "--baseline-file", base, "--rubric-model", "mock/schema",
        "--output-dir", out, "-q", "--no-llm-cache",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    records = [json.loads(x) for x in (out / "deter" / "run_0" / "log.jsonl").read_text().splitlines()]
    assert len(records) == 6 and all(r["status"] == "ok" for r in records)
