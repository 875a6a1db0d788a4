"""What the test server received: each request recorded, with its audio parts parsed the way vLLM parses them."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    body: Any  # parsed JSON, or None when the body is not JSON
    in_flight: int = 1  # requests being handled by the server when this one arrived, itself included

    @property
    def messages(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("messages", [])

    @property
    def audio_shapes(self) -> list[str]:
        """The type of every audio content part (``input_audio`` or ``audio_url``), in message order."""
        return [part["type"] for part in audio_content_parts(self.messages)]

    @property
    def audio_parts(self) -> list[dict[str, Any]]:
        """Every audio part of the request as ``{"data": <base64>, "format": ...}``, in message order, whichever
        shape it came in (an ``audio_url`` data URL gives its media subtype as the format)."""
        return [parse_audio_part(part)[0] for part in audio_content_parts(self.messages)]

    @property
    def audio_bytes(self) -> list[bytes]:
        """The decoded bytes of every audio part (what the server would hand to its audio encoder)."""
        return [parse_audio_part(part)[1] for part in audio_content_parts(self.messages)]

    @property
    def decoded_audio(self) -> list[tuple[Any, int]]:
        """Every audio part decoded as a server would: ``(samples, sample_rate)`` with float32 samples of shape
        ``(frames, channels)`` (soundfile; raises on bytes it cannot decode)."""

        import soundfile

        out = []
        for data in self.audio_bytes:
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
            out.append((samples, int(rate)))
        return out

    @property
    def audio_seconds(self) -> float:
        """Total duration of the request's audio parts (0.0 without audio)."""

        import soundfile

        total = 0.0
        for data in self.audio_bytes:
            info = soundfile.info(io.BytesIO(data))
            total += info.frames / info.samplerate
        return total

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (its text parts joined)."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, str):
                    return content
                return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        return ""


class AudioPartError(ValueError):
    """An audio content part a real server would refuse (the message says why)."""


def audio_content_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        part
        for msg in messages
        if isinstance(msg, dict) and isinstance(msg.get("content"), list)
        for part in msg["content"]
        if isinstance(part, dict) and part.get("type") in ("input_audio", "audio_url")
    ]


def parse_audio_part(part: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``({"data", "format"}, audio bytes)`` of one audio content part, parsed as vLLM parses it
    (``vllm/entrypoints/chat_utils.py``: ``input_audio`` becomes ``data:audio/<format>;base64,<data>``; a
    data URL must say ``;base64``; the bytes are decoded by content, whatever the format says).

    Raises :class:`AudioPartError` for what such a server refuses: a missing field, a data URL that is not
    base64 or not audio, base64 that does not decode, bytes no audio decoder reads."""
    import io

    import soundfile

    if part.get("type") == "input_audio":
        body = part.get("input_audio")
        if not isinstance(body, dict) or not isinstance(body.get("data"), str) or not body["data"]:
            raise AudioPartError("input_audio needs {'data': <base64>, 'format': ...}")
        fmt = body.get("format")
        if not isinstance(fmt, str) or not fmt:
            raise AudioPartError("input_audio needs a 'format'")
        url = f"data:audio/{fmt};base64,{body['data']}"
    else:
        body = part.get("audio_url")
        given = body.get("url") if isinstance(body, dict) else None
        if not isinstance(given, str) or not given.startswith("data:"):
            raise AudioPartError("audio_url needs {'url': 'data:audio/<format>;base64,<data>'} (no fetching here)")
        url = given
    spec, sep, data = url[len("data:") :].partition(",")
    media_type, _, encoding = spec.rpartition(";")
    if not sep or encoding != "base64":
        raise AudioPartError("only base64 data URLs are supported")
    if not media_type.startswith("audio/"):
        raise AudioPartError(f"data URL media type {media_type!r} is not audio")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AudioPartError("audio data is not valid base64 (a 'data:' prefix inside input_audio.data?)") from None
    try:
        soundfile.info(io.BytesIO(raw))
    except RuntimeError as exc:  # soundfile.LibsndfileError
        raise AudioPartError(f"cannot decode the audio: {exc}") from None
    return {"data": data, "format": media_type.split("/", 1)[1]}, raw
