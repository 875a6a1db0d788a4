"""Shared provider machinery: response cache, structured-output parsing, the repair retry, counters."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from lalm_bench.llm.cache import ResponseCache, cache_key, is_cacheable, open_cache
from lalm_bench.llm.errors import LLMError, LLMResponseError
from lalm_bench.llm.interface import ChatResult, Message, Sampling, Usage
from lalm_bench.llm.structured import ReplyParseError, parse_reply, strict_json_schema
from lalm_bench.llm.urls import redact_url

log = logging.getLogger("lalm_bench.llm")

#: Characters per allowed token beyond which a reply cannot come from a model honouring ``max_tokens``
#: (real tokens average about 4 characters); longer replies fail the step instead of being stored.
CHARS_PER_TOKEN = 32
MIN_REPLY_CHARS = 16_384
#: The longest reply kept when the request set no ``max_tokens``.
MAX_REPLY_CHARS = 1_000_000
#: What an error keeps of a reply that was too long.
KEPT_CHARS = 2_000


def reply_char_limit(max_tokens: int | None) -> int:
    """The most characters a reply may have for a request with ``max_tokens``."""
    if max_tokens is None:
        return MAX_REPLY_CHARS
    return min(MAX_REPLY_CHARS, max(MIN_REPLY_CHARS, int(max_tokens) * CHARS_PER_TOKEN))


REPAIR_PROMPT = (
    "Your previous reply could not be used: {error}.\n"
    "Reply again with the corrected JSON only (no prose, no code fences), matching this JSON schema:\n"
    "{schema}"
)


@dataclass
class Completion:
    """One completion from a provider backend (after its transport retries)."""

    text: str
    usage: Usage = field(default_factory=Usage)
    attempts: int = 1
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LLMStats:
    """Counters over a model's lifetime (for summaries and closing notes)."""

    requests: int = 0  # chat() calls
    cache_hits: int = 0
    cache_misses: int = 0  # cacheable calls not found in the cache
    completions: int = 0  # completions requested from the backend, repairs included
    http_attempts: int = 0
    retries: int = 0  # transport retries (429, 5xx, timeouts, connection errors)
    repairs: int = 0  # repair retries after an invalid structured reply
    failures: int = 0  # chat() calls that raised
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class BaseChatModel:
    """Implements :class:`~lalm_bench.llm.interface.ChatModel` on top of :meth:`_complete`."""

    provider: ClassVar[str] = ""
    #: The structured-output mode of a structured call whose completion does not name one: ``none`` means
    #: the reply follows the schema only as far as the prompt asks it to.
    structured_mode: ClassVar[str] = "none"

    def __init__(
        self, model: str, *, cache: ResponseCache | str | bool | None = True, base_url: str | None = None
    ) -> None:
        self.model = model
        self.name = f"{self.provider}/{model}"
        self.base_url = base_url
        self._owns_cache = not isinstance(cache, ResponseCache)
        self.cache = open_cache(cache)
        self.stats = LLMStats()
        #: Structured calls answered by the backend in this process, per structured-output mode used.
        self.structured_used: Counter[str] = Counter()

    async def _complete(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        raise NotImplementedError

    def request_shape(self) -> dict[str, Any]:
        """How this model sends a request, where it differs from the default shape (part of the response
        cache key: a server may read a WAV ``input_audio`` and a FLAC ``audio_url`` differently)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What to record about this model in a manifest (never credentials)."""
        return {
            "name": self.name,
            "provider": self.provider,
            "model": self.model,
            "base_url": redact_url(self.base_url),
            "cache": str(self.cache.path) if self.cache is not None else None,
            "structured_output_used": dict(sorted(self.structured_used.items())),
        }

    async def chat(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel] | None = None,
        sampling: Sampling | None = None,
        cache_key_extra: dict[str, Any] | None = None,
    ) -> ChatResult:
        sampling = sampling or Sampling()
        start = time.perf_counter()
        self.stats.requests += 1
        key = None
        if self.cache is not None and is_cacheable(sampling, cache_key_extra):
            key = cache_key(
                model=self.name,
                base_url=self.base_url,
                messages=messages,
                sampling=sampling,
                schema=schema,
                extra=cache_key_extra,
                shape=self.request_shape(),
            )
            hit = self._from_cache(key, schema, start)
            if hit is not None:
                return hit
            self.stats.cache_misses += 1
        try:
            result = await self._chat_uncached(messages, schema, sampling)
        except LLMError:
            self.stats.failures += 1
            raise
        result.latency_s = time.perf_counter() - start
        if key is not None and self.cache is not None:
            meta: dict[str, Any] = {
                k: result.extra[k] for k in ("repaired", "finish_reason", "structured_output") if k in result.extra
            }
            self.cache.put(key, result.text, result.usage, self.name, meta)
            result.extra["cache_key"] = key
        return result

    def _from_cache(self, key: str, schema: type[BaseModel] | None, start: float) -> ChatResult | None:
        assert self.cache is not None
        entry = self.cache.get(key)
        if entry is None:
            return None
        parsed = None
        if schema is not None:
            try:
                parsed = parse_reply(entry.text, schema)
            except ReplyParseError:
                return None  # cannot happen for entries we wrote; treat as a miss
        self.stats.cache_hits += 1
        return ChatResult(
            text=entry.text,
            parsed=parsed,
            usage=entry.usage,
            cached=True,
            attempts=0,
            model=self.name,
            latency_s=time.perf_counter() - start,
            extra={"cache_key": key, **entry.meta},
        )

    async def _completion(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        self.stats.completions += 1
        comp = await self._complete(messages, sampling, schema)
        self.stats.prompt_tokens += comp.usage.prompt_tokens
        self.stats.completion_tokens += comp.usage.completion_tokens
        limit = reply_char_limit(sampling.max_tokens)
        if len(comp.text) > limit:
            exc = LLMResponseError(
                f"{self.name}: a reply of {len(comp.text):,} characters, more than the {limit:,} a reply of at most "
                f"max_tokens={sampling.max_tokens} tokens can hold; not stored",
                raw_text=comp.text[:KEPT_CHARS] + f"… [cut: {len(comp.text):,} characters in all]",
            )
            exc.attempts = comp.attempts
            exc.usage = Usage(comp.usage.prompt_tokens, comp.usage.completion_tokens)
            raise exc
        return comp

    async def _chat_uncached(
        self, messages: list[Message], schema: type[BaseModel] | None, sampling: Sampling
    ) -> ChatResult:
        comp = await self._completion(messages, sampling, schema)
        usage = Usage(comp.usage.prompt_tokens, comp.usage.completion_tokens)
        attempts = comp.attempts
        extra: dict[str, Any] = {"finish_reason": comp.finish_reason, **comp.extra}
        if schema is None:
            return ChatResult(text=comp.text, usage=usage, attempts=attempts, model=self.name, extra=extra)
        mode = str(comp.extra.get("structured_output") or self.structured_mode)
        extra["structured_output"] = mode
        self.structured_used[mode] += 1
        texts = [comp.text]
        try:
            parsed = parse_reply(comp.text, schema)
        except ReplyParseError as err:
            self.stats.repairs += 1
            log.info("%s: invalid structured reply (%s); one repair retry", self.name, err)
            repair = [
                *messages,
                Message.text("assistant", comp.text or "(empty reply)"),
                Message.text(
                    "user",
                    REPAIR_PROMPT.format(error=err, schema=json.dumps(strict_json_schema(schema))),
                ),
            ]
            try:
                comp = await self._completion(repair, sampling, schema)
            except LLMError as failed:
                spent = failed.usage if isinstance(failed.usage, Usage) else Usage()
                failed.attempts = attempts + int(failed.attempts or 0)
                failed.usage = Usage(
                    usage.prompt_tokens + spent.prompt_tokens, usage.completion_tokens + spent.completion_tokens
                )
                if isinstance(failed, LLMResponseError):
                    failed.raw_texts = [*texts, *failed.raw_texts]
                failed.structured_output = mode
                raise
            usage.prompt_tokens += comp.usage.prompt_tokens
            usage.completion_tokens += comp.usage.completion_tokens
            attempts += comp.attempts
            texts.append(comp.text)
            extra.update(finish_reason=comp.finish_reason, repaired=True, raw_texts=texts)
            try:
                parsed = parse_reply(comp.text, schema)
            except ReplyParseError as err2:
                exc = LLMResponseError(
                    f"{self.name}: invalid structured reply ({schema.__name__}) even after a repair retry: {err2}",
                    raw_text=comp.text,
                    raw_texts=texts,
                )
                exc.attempts = attempts
                exc.usage = usage
                exc.structured_output = mode
                raise exc from None
        else:
            extra["repaired"] = False
        return ChatResult(text=comp.text, parsed=parsed, usage=usage, attempts=attempts, model=self.name, extra=extra)

    async def aclose(self) -> None:
        if self.cache is not None and self._owns_cache:
            self.cache.close()
            self.cache = None
