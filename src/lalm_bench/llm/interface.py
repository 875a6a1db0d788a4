"""The chat-model interface every provider implements (no SDK imports here).

A request is a list of :class:`Message` whose content is text and audio parts, optional JSON
schema (a pydantic model) for structured output, and :class:`Sampling` parameters. Providers are
looked up by ``provider/model`` strings in :mod:`lalm_bench.llm.registry`.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel


@dataclass(frozen=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class AudioPart:
    """Audio bytes with their format (``wav`` or ``mp3``), sent base64-encoded as ``input_audio``."""

    data: bytes = field(repr=False)
    format: Literal["wav", "mp3"] = "wav"
    type: Literal["audio"] = "audio"

    @functools.cached_property
    def sha256(self) -> str:  # computed once: the record and the cache key both need it
        return hashlib.sha256(self.data).hexdigest()


Part = TextPart | AudioPart


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: tuple[Part, ...]

    @classmethod
    def text(cls, role: Literal["system", "user", "assistant"], text: str) -> Message:
        return cls(role=role, content=(TextPart(text),))


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int | None = 1024
    seed: int | None = None

    @property
    def deterministic(self) -> bool:
        return self.temperature == 0.0


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ChatResult:
    """A reply: raw text, the parsed object (when a schema was given), usage and bookkeeping."""

    text: str
    parsed: BaseModel | None = None
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    attempts: int = 1
    model: str = ""
    latency_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChatModel(Protocol):
    """What the LLM jobs need from a chat model."""

    name: str  # the full "provider/model" string

    async def chat(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel] | None = None,
        sampling: Sampling | None = None,
        cache_key_extra: dict[str, Any] | None = None,
    ) -> ChatResult:
        """Send one chat request. With ``schema``, ``parsed`` holds a validated instance or the call
        raises :class:`lalm_bench.llm.errors.LLMError`. ``cache_key_extra`` (e.g. prompt version,
        run name and seed for stochastic runs) is mixed into the response-cache key."""
        ...

    async def aclose(self) -> None: ...
