"""What goes over the wire to an OpenAI-compatible server: messages, sampling, structured-output modes, replies."""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from pydantic import BaseModel

from lalm_bench.llm.chat_model import Completion
from lalm_bench.llm.interface import AudioPart, Message, Sampling, TextPart, Usage
from lalm_bench.llm.structured import schema_name, strict_json_schema

StructuredMode = Literal["json_schema", "vllm", "json_object", "none"]
STRUCTURED_MODES: tuple[str, ...] = ("json_schema", "vllm", "json_object", "none")
#: What a structured call falls back to when the server rejects a mode.
FALLBACK: dict[str, StructuredMode] = {"json_schema": "json_object", "vllm": "json_object", "json_object": "none"}
RANK = {"json_schema": 0, "vllm": 0, "json_object": 1, "none": 2}
#: Words in an error message that mean the server rejected the structured-output request itself.
_STRUCTURED_WORDS = ("response_format", "json_schema", "json_object", "structured_output", "guided_json", "guided")
SCHEMA_PROMPT = "Reply with one JSON object only (no prose, no code fences) that matches this JSON schema:\n{schema}"


AudioFormat = Literal["input_audio", "audio_url"]
AudioEncoding = Literal["wav", "flac"]
AUDIO_FORMATS: tuple[str, ...] = ("input_audio", "audio_url")
AUDIO_ENCODINGS: tuple[str, ...] = ("wav", "flac")


def encode_audio(part: AudioPart, encoding: AudioEncoding = "wav") -> tuple[bytes, str]:
    """The bytes to send for ``part`` and their format: WAV as is, or re-encoded as FLAC (lossless, about
    half the bytes of 16-bit speech); MP3 is sent as it is."""
    if encoding == "wav" or part.format != "wav":
        return part.data, part.format
    import io

    import soundfile

    with soundfile.SoundFile(io.BytesIO(part.data)) as f:
        subtype = f.subtype if f.subtype in ("PCM_16", "PCM_24", "PCM_S8") else "PCM_24"
        samples = f.read(dtype="int32" if subtype == "PCM_24" else "int16", always_2d=True)
        rate = f.samplerate
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="FLAC", subtype=subtype)
    return out.getvalue(), "flac"


def audio_content_part(
    part: AudioPart, audio_format: AudioFormat = "input_audio", encoding: AudioEncoding = "wav"
) -> dict[str, Any]:
    """One audio content part in the shape ``audio_format`` names.

    ``input_audio``: ``{"data": <base64, no data: prefix>, "format": "wav"|"mp3"|"flac"}`` (OpenAI's spec has
    wav and mp3; vLLM turns it into ``data:audio/<format>;base64,<data>`` and decodes the bytes by content).
    ``audio_url``: ``{"url": "data:audio/<format>;base64,<data>"}`` (vLLM, SGLang)."""
    data, fmt = encode_audio(part, encoding)
    b64 = base64.b64encode(data).decode("ascii")
    if audio_format == "audio_url":
        return {"type": "audio_url", "audio_url": {"url": f"data:audio/{fmt};base64,{b64}"}}
    return {"type": "input_audio", "input_audio": {"data": b64, "format": fmt}}


def to_openai_content(
    message: Message, audio_format: AudioFormat = "input_audio", audio_encoding: AudioEncoding = "wav"
) -> str | list[dict[str, Any]]:
    """A message's ``content``: a plain string when it holds no audio (text parts joined by a newline, as
    vLLM joins them), else a list of parts in order."""
    if not any(isinstance(part, AudioPart) for part in message.content):
        return "\n".join(part.text for part in message.content if isinstance(part, TextPart))
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, AudioPart):
            parts.append(audio_content_part(part, audio_format, audio_encoding))
        else:
            parts.append({"type": "text", "text": part.text})
    return parts


def to_openai_messages(
    messages: list[Message], audio_format: AudioFormat = "input_audio", audio_encoding: AudioEncoding = "wav"
) -> list[dict[str, Any]]:
    return [{"role": m.role, "content": to_openai_content(m, audio_format, audio_encoding)} for m in messages]


def sampling_kwargs(sampling: Sampling) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"temperature": sampling.temperature}
    if sampling.top_p is not None:
        kwargs["top_p"] = sampling.top_p
    if sampling.max_tokens is not None:
        kwargs["max_tokens"] = sampling.max_tokens
    if sampling.seed is not None:
        kwargs["seed"] = sampling.seed
    return kwargs


def response_format_for(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name(schema), "strict": True, "schema": strict_json_schema(schema)},
    }


def with_schema_prompt(messages: list[Message], schema: type[BaseModel]) -> list[Message]:
    """``messages`` with the JSON schema spelled out at the end of the last user message (for servers
    that cannot enforce it)."""
    import json

    note = TextPart(SCHEMA_PROMPT.format(schema=json.dumps(strict_json_schema(schema))))
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            msg = messages[i]
            return [*messages[:i], Message(msg.role, (*msg.content, note)), *messages[i + 1 :]]
    return [*messages, Message("user", (note,))]


def rejects_structured_output(message: str) -> bool:
    """Whether a server's error message says it cannot take the structured-output request."""
    text = message.lower()
    return any(word in text for word in _STRUCTURED_WORDS)


class BadReply(Exception):
    """A 200 reply that is no chat completion (empty, not JSON, or JSON of another shape)."""

    def __init__(self, reason: str, body: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.body = body


def to_completion(reply: Any, attempts: int, body: str = "") -> Completion:
    """The :class:`Completion` in a chat-completions reply (its JSON, parsed); ``BadReply`` (with ``body``, the
    reply as received) when it holds none."""
    try:
        choice = reply["choices"][0]
        message = choice["message"]
        text = message.get("content")
        finish_reason = choice.get("finish_reason")
    except (AttributeError, IndexError, KeyError, TypeError):
        raise BadReply("JSON that is not a chat completion", body[:4000]) from None
    if text is None:  # no answer at all (a refusal, tool calls only, a reasoning model out of tokens): not ""
        shown = {k: v for k, v in message.items() if v is not None}
        raise BadReply(
            f"no answer text: message content is null (finish_reason {finish_reason})",
            json.dumps({"message": shown, "finish_reason": finish_reason}, default=str)[:4000],
        )
    if not isinstance(text, str):
        raise BadReply("a message content that is not text", str(text)[:4000])
    usage = Usage()
    raw_usage = reply.get("usage")
    if isinstance(raw_usage, dict):
        try:
            usage = Usage(int(raw_usage.get("prompt_tokens") or 0), int(raw_usage.get("completion_tokens") or 0))
        except (TypeError, ValueError):
            usage = Usage()
    return Completion(text=text, usage=usage, attempts=attempts, finish_reason=finish_reason)
