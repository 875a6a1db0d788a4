"""Strict schemas and tolerant reply parsing."""

from __future__ import annotations

import pytest

from lalm_bench.llm import ReplyParseError, extract_json, parse_reply, redact_url, strict_json_schema
from lalm_bench.llm.urls import is_local_url
from tests.llm.helpers import Criteria


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ("```\n[1, 2]\n```", [1, 2]),
        ('Here it is: {"a": {"b": "}"}} and more text {"c": 2}', {"a": {"b": "}"}}),
        ('<think>{"draft": true}</think>{"a": 1}', {"a": 1}),
        ('text [ not json ] then {"a": [1, {"b": 2}]}', {"a": [1, {"b": 2}]}),
    ],
)
def test_extract_json(text, expected):
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "{broken: json", "```json\n{'a': 1}\n```"])
def test_extract_json_fails_cleanly(text):
    with pytest.raises(ReplyParseError):
        extract_json(text)


def test_parse_reply_reports_fields():
    with pytest.raises(ReplyParseError) as info:
        parse_reply('{"items": [{"text": "x"}]}', Criteria)
    assert "items.0.weight" in str(info.value)
    # a one-element list around the object is unwrapped
    assert parse_reply('[{"items": []}]', Criteria) == Criteria(items=[])


def test_strict_schema():
    schema = strict_json_schema(Criteria)
    assert schema["additionalProperties"] is False and schema["required"] == ["items", "note"]
    assert "default" not in schema["properties"]["note"]
    assert schema["$defs"]["Item"]["required"] == ["text", "weight"]
    # the model's own schema is untouched
    assert Criteria.model_json_schema()["properties"]["note"].get("default", "x") is None


def test_redact_url():
    assert redact_url("https://user:pw@api.example.com:8443/v1?api_key=sk-1&x=2") == (
        "https://api.example.com:8443/v1?api_key=%2A%2A%2A&x=2"
    )
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact_url(None) is None
    assert is_local_url("http://localhost:8000/v1") and is_local_url("http://[::1]:8000/v1")
    assert not is_local_url("https://dashscope.aliyuncs.com/compatible-mode/v1")
