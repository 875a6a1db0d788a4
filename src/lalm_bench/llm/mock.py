"""Provider ``mock``: chat models that need no server, for tests, dry runs and CI (like inspect_ai's mockllm).

* ``mock/echo``: replies with the text of the last user message;
* ``mock/schema``: with a schema, the smallest reply valid for it; else ``"mock reply"``;
* ``mock/drops-audio``: like ``echo``, but reports the same prompt tokens whatever audio is sent (what a
  server that drops the audio looks like to the serving canary);
* ``mock/listener``: answers the demo benchmark's questions (:mod:`lalm_bench.datasets.demo`) from the
  audio it receives, by measuring it (:mod:`lalm_bench.llm.mock_listen`): ``The answer is (B) 3.``;
  without audio it guesses from the text prior and says so;
* ``mock/deaf``: answers from the question text alone (a hash of question and choices picks the
  option), whatever audio is sent;
* ``mock/presence``: hears whether there is sound (RMS above −80 dBFS) but not what it is: questions
  about presence are answered from that, the others like ``deaf``; each answer starts ``I hear a
  sound;`` or ``I hear nothing;``;
* ``mock/first-option``: always picks the first option displayed (a pure position bias).

The last four read the prompt as ``predict`` writes it (question, then ``(A) text`` lines).

Usage is reported like an audio LLM's: one prompt token per word of text plus 25 per second of
audio (Qwen's audio encoders emit about 25 tokens a second). Options (``--llm-option KEY=VALUE``):
``replies`` (a list of texts consumed in order before the default behaviour), ``fail_rate`` (a
share of requests that fail with HTTP 500, decided by a hash of the request, so a rerun fails the
same ones), ``latency_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections import deque
from typing import Any

from pydantic import BaseModel

from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.chat_model import BaseChatModel, Completion
from lalm_bench.llm.errors import LLMConfigError, LLMServerError
from lalm_bench.llm.interface import AudioPart, Message, Sampling, TextPart, Usage

MODES = ("echo", "schema", "drops-audio", "listener", "deaf", "presence", "first-option")
ANSWERING = ("listener", "deaf", "presence", "first-option")  # modes that answer questions
AUDIO_TOKENS_PER_SECOND = 25


def audio_seconds(part: AudioPart) -> float:
    """Duration of an audio part (0.0 when it cannot be decoded)."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(part.data))
    except Exception:  # a mock never fails on audio; the real server would
        return 0.0
    return float(info.frames) / float(info.samplerate or 1)


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The smallest value valid for a JSON schema (objects with their required properties only)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return minimal_instance(root.get("$defs", {})[name], root)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return minimal_instance(options[0], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: minimal_instance(props[k], root) for k in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), root) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "mock" * max(1, int(schema.get("minLength", 1)) // 4 + 1)


class MockChatModel(BaseChatModel):
    """A deterministic chat model without a server (see the module docstring)."""

    structured_mode = "mock"

    provider = "mock"

    def __init__(
        self,
        model: str,
        *,
        replies: list[str] | None = None,
        fail_rate: float = 0.0,
        latency_s: float = 0.0,
        concurrency: int = 8,
        cache: ResponseCache | str | bool | None = None,
    ) -> None:
        if model not in MODES:
            raise LLMConfigError(f"mock model {model!r}: use one of {', '.join('mock/' + m for m in MODES)}")
        if not 0.0 <= float(fail_rate) <= 1.0:
            raise LLMConfigError(f"mock fail_rate must be between 0 and 1, got {fail_rate}")
        self.mode = model
        self.replies: deque[str] = deque(str(r) for r in replies or [])
        self.fail_rate = float(fail_rate)
        self.latency_s = float(latency_s)
        self.concurrency = int(concurrency)
        self.requests: list[list[Message]] = []
        super().__init__(model, cache=cache)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "fail_rate": self.fail_rate, "latency_s": self.latency_s}

    async def _complete(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        self.requests.append(messages)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        digest = hashlib.sha256(repr([(m.role, m.content) for m in messages]).encode()).digest()
        if self.fail_rate and int.from_bytes(digest[:8], "big") / 2**64 < self.fail_rate:
            err = LLMServerError(f"{self.name}: injected server error (HTTP 500)")
            err.status_code, err.attempts = 500, 1
            raise err
        texts = [p.text for m in messages for p in m.content if isinstance(p, TextPart)]
        seconds = sum(audio_seconds(p) for m in messages for p in m.content if isinstance(p, AudioPart))
        prompt_tokens = sum(len(t.split()) for t in texts)
        if self.mode != "drops-audio":
            prompt_tokens += round(AUDIO_TOKENS_PER_SECOND * seconds)
        if self.replies:
            text = self.replies.popleft()
        elif self.mode == "schema" or schema is not None:
            text = json.dumps(minimal_instance(schema.model_json_schema())) if schema else "mock reply"
        elif self.mode in ANSWERING:
            text = answer(self.mode, messages)
        else:
            last = next((m for m in reversed(messages) if m.role == "user"), None)
            text = " ".join(p.text for p in last.content if isinstance(p, TextPart)) if last else ""
        if sampling.max_tokens is not None and len(text.split()) > sampling.max_tokens:
            text = " ".join(text.split()[: sampling.max_tokens])
            finish = "length"
        else:
            finish = "stop"
        return Completion(text=text, usage=Usage(prompt_tokens, len(text.split())), finish_reason=finish)


def _last_user_text(messages: list[Message]) -> str:
    last = next((m for m in reversed(messages) if m.role == "user"), None)
    return "\n".join(p.text for p in last.content if isinstance(p, TextPart)) if last else ""


def answer(mode: str, messages: list[Message]) -> str:
    """The reply of an answering mock (``listener``, ``deaf``, ``presence``, ``first-option``)."""
    from lalm_bench.llm import mock_listen as ml

    prompt = ml.parse_prompt(_last_user_text(messages))
    part = next((p for m in messages for p in m.content if isinstance(p, AudioPart)), None)
    audio = ml.decode(part.data) if part is not None else None
    kind = ml.question_kind(prompt.question)
    if mode == "first-option":
        return ml.pick_text(prompt, 0) if prompt.choices else "I cannot say."
    if mode == "presence":
        heard = audio is not None and ml.rms(audio[0]) > ml.PRESENCE_FLOOR
        lead = "I hear a sound;" if heard else "I hear nothing;"
        if kind == "presence" and prompt.choices:
            idx = ml.keyword(prompt.choices, "yes" if heard else "no")
            if idx >= 0:
                return ml.pick_text(prompt, idx, f"{lead} the answer is")
        if not prompt.choices:
            return f"{lead} I cannot tell what it is." if heard else f"{lead} there is no sound."
        return ml.pick_text(prompt, ml.text_prior(prompt), f"{lead} the answer is")
    if mode == "listener" and audio is not None:
        heard_answer = ml.listen(prompt, audio)
        if isinstance(heard_answer, str):
            return heard_answer
        if heard_answer is not None and heard_answer >= 0:
            return ml.pick_text(prompt, heard_answer)
    if not prompt.choices:
        if mode == "listener" and audio is None:
            return "There is no audio, so I cannot describe the sound."
        return "It sounds like a short electronic sound."
    if mode == "listener" and audio is None:
        return ml.pick_text(prompt, ml.text_prior(prompt), "There is no audio; the most likely answer is")
    return ml.pick_text(prompt, ml.text_prior(prompt))
