"""Shared bits for the LLM tests."""

from __future__ import annotations

import asyncio
import io
import math
import struct
import wave
from typing import Any

from pydantic import BaseModel

from lalm_bench.llm.openai_provider import OpenAIChatModel

# Tiny backoff so retry tests run fast; the logic is the same as in production.
FAST: dict[str, Any] = {"backoff_initial_s": 0.001, "backoff_max_s": 0.005, "jitter_s": 0.0, "timeout": 5.0}


class Criteria(BaseModel):
    class Item(BaseModel):
        text: str
        weight: int

    items: list[Item]
    note: str | None = None


def make_wav(seconds: float = 0.05, rate: int = 8000, freq: float = 440.0) -> bytes:
    """A mono 16-bit PCM sine WAV made with the standard ``wave`` module."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(int(seconds * rate))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def model_for(server, **options: Any) -> OpenAIChatModel:
    opts = {**FAST, "cache": None, **options}
    return OpenAIChatModel("Qwen/Qwen3-Omni-30B-A3B-Instruct", base_url=server.base_url, **opts)


def run(coro):
    return asyncio.run(coro)
