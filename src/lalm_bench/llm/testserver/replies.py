"""What the test server answers: scripted replies (a completion, an error, a slow or dropped answer) and the
default responder, which counts prompt tokens like an audio LLM server."""

from __future__ import annotations

import collections
import json
import time
from dataclasses import dataclass, field
from typing import Any

from lalm_bench.llm.testserver.requests import RecordedRequest


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the connection without any response


_counter: collections.Counter[str] = collections.Counter()


def completion(
    content: str | None,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = "fake-model",
    finish_reason: str = "stop",
    delay_s: float = 0.0,
) -> Reply:
    """A 200 reply holding one chat completion with ``content``."""
    _counter["id"] += 1
    body = {
        "id": f"chatcmpl-fake-{_counter['id']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return Reply(200, body, delay_s=delay_s)


def error(status: int, message: str | None = None, *, retry_after: float | None = None) -> Reply:
    """An error reply in OpenAI's ``{"error": {...}}`` shape."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    body = {"error": {"message": message or f"scripted HTTP {status}", "type": "scripted", "code": status}}
    return Reply(status, body, headers=headers)


def slow(delay_s: float, content: str = "late") -> Reply:
    return completion(content, delay_s=delay_s)


def dropped() -> Reply:
    return Reply(drop=True)


#: Prompt tokens per second of audio the default responder counts (Qwen2-Audio / Qwen2.5-Omni's rate).
AUDIO_TOKENS_PER_SECOND = 25


def default_responder(request: RecordedRequest) -> Reply:
    """``ok``, with usage counted like an audio LLM server: the words of the last user text plus
    :data:`AUDIO_TOKENS_PER_SECOND` per second of the audio received."""
    try:
        seconds = request.audio_seconds
    except Exception:  # undecodable audio: a real server would refuse; count the text
        seconds = 0.0
    tokens = len(request.last_user_text.split()) + round(AUDIO_TOKENS_PER_SECOND * seconds)
    return completion("ok", prompt_tokens=tokens, completion_tokens=1)


def as_reply(value: Reply | str | dict) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return completion(value)
    if isinstance(value, dict) and "choices" in value:
        return Reply(200, value)
    return completion(json.dumps(value))
