"""Provider ``openai``: any OpenAI-compatible chat-completions server (vLLM, DashScope, OpenAI, llama.cpp).

Built on the official ``openai`` async client with its own retries off; transport retries here use
tenacity (exponential backoff with jitter, ``Retry-After`` honoured, bounded attempts and total wait)
on 429, 408, 5xx, timeouts and connection errors, never on other 4xx. Audio is sent as portable
``input_audio`` parts. Structured calls send ``response_format: json_schema`` (strict); a server
that rejects it (HTTP 400/422 naming ``response_format``) is asked again without it, and the model
remembers that for the rest of the session.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import random
from typing import Any, Literal

from pydantic import BaseModel

from lalm_bench.errors import first_line
from lalm_bench.llm.base import AudioPart, Message, Sampling, TextPart, Usage
from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    LLMUnreachableError,
    scrub,
)
from lalm_bench.llm.provider import BaseChatModel, Completion
from lalm_bench.llm.structured import schema_name, strict_json_schema
from lalm_bench.llm.util import is_local_url, redact_url

log = logging.getLogger("lalm_bench.llm")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
LOCAL_DUMMY_KEY = "EMPTY"
StructuredMode = Literal["json_schema", "vllm", "none"]


def to_openai_content(message: Message) -> str | list[dict[str, Any]]:
    """A message's ``content``: a plain string for one text part, else a list of parts."""
    if len(message.content) == 1 and isinstance(message.content[0], TextPart):
        return message.content[0].text
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, AudioPart):
            data = base64.b64encode(part.data).decode("ascii")
            parts.append({"type": "input_audio", "input_audio": {"data": data, "format": part.format}})
        else:
            parts.append({"type": "text", "text": part.text})
    return parts


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    return [{"role": m.role, "content": to_openai_content(m)} for m in messages]


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


def _retry_after_s(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue  # an HTTP date: fall back to our own backoff
    return None


def _is_retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


class OpenAIChatModel(BaseChatModel):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    ``max_attempts`` bounds the HTTP attempts per completion (``max_retries``, if given, sets it to
    ``max_retries + 1``); ``max_total_wait_s`` bounds the total backoff sleep per completion;
    ``backoff_initial_s``/``backoff_max_s``/``jitter_s`` shape the exponential backoff.
    ``structured_output``: ``json_schema`` (portable ``response_format``), ``vllm`` (vLLM's
    ``extra_body.structured_outputs``) or ``none`` (rely on the prompt)."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        timeout: float = 300.0,
        max_attempts: int = 5,
        max_retries: int | None = None,
        max_total_wait_s: float = 120.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        jitter_s: float = 1.0,
        concurrency: int = 8,
        cache: ResponseCache | str | bool | None = True,
        structured_output: StructuredMode = "json_schema",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not model:
            raise LLMConfigError("openai provider: empty model name (use openai/<model>)")
        base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise LLMConfigError(f"base URL {redact_url(base_url)!r} must start with http:// or https://")
        if max_retries is not None:
            max_attempts = max_retries + 1
        if max_attempts < 1 or concurrency < 1 or timeout <= 0:
            raise LLMConfigError("max_attempts, concurrency and timeout must be positive")
        if structured_output not in ("json_schema", "vllm", "none"):
            raise LLMConfigError(
                f"structured_output must be json_schema, vllm or none, not {structured_output!r}"
            )
        key = os.environ.get(api_key_env, "")
        if not key:
            if not is_local_url(base_url):
                raise LLMAuthError(
                    f"environment variable {api_key_env} is not set: it must hold the API key for "
                    f"{redact_url(base_url)} (or name another variable with --api-key-env)"
                )
            key = LOCAL_DUMMY_KEY  # local vLLM/llama.cpp servers accept any key
        self._api_key = key
        self._key_is_dummy = key == LOCAL_DUMMY_KEY
        self._secret = None if self._key_is_dummy else key  # what error messages must never contain
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_attempts = int(max_attempts)
        self.max_total_wait_s = float(max_total_wait_s)
        self.backoff_initial_s = float(backoff_initial_s)
        self.backoff_max_s = float(backoff_max_s)
        self.jitter_s = float(jitter_s)
        self.concurrency = int(concurrency)
        self.structured_output: StructuredMode = structured_output
        self.extra_body = dict(extra_body or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._sem: asyncio.Semaphore | None = None
        super().__init__(model, cache=cache, base_url=base_url)

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.model!r}, base_url={redact_url(self.base_url)!r})"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "api_key_env": self.api_key_env,
            "timeout_s": self.timeout,
            "max_attempts": self.max_attempts,
            "concurrency": self.concurrency,
            "structured_output": self.structured_output,
        }

    def _client_for_loop(self) -> tuple[Any, asyncio.Semaphore]:
        # httpx connection pools and semaphores belong to one event loop: renew them per loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._client is None or self._sem is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=0
            )
            self._sem = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._client, self._sem

    async def _complete(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        client, sem = self._client_for_loop()
        kwargs = sampling_kwargs(sampling)
        extra_body = dict(self.extra_body)
        mode = self.structured_output if schema is not None else "none"
        if schema is not None and mode == "json_schema":
            kwargs["response_format"] = response_format_for(schema)
        elif schema is not None and mode == "vllm":
            extra_body["structured_outputs"] = {"json": strict_json_schema(schema)}
        if extra_body:
            kwargs["extra_body"] = extra_body
        payload = to_openai_messages(messages)
        async with sem:
            try:
                return await self._send(client, payload, kwargs)
            except LLMRequestError as exc:
                if mode == "none" or not _rejects_structured_output(exc):
                    raise
                log.warning(
                    "%s: the server rejected %s structured output; not sending it again", self.name, mode
                )
                self.structured_output = "none"
                kwargs.pop("response_format", None)
                if "extra_body" in kwargs:
                    kwargs["extra_body"].pop("structured_outputs", None)
                comp = await self._send(client, payload, kwargs)
                comp.attempts += exc.attempts
                comp.extra["structured_output_fallback"] = True
                return comp

    async def _send(self, client: Any, payload: list[dict[str, Any]], kwargs: dict[str, Any]) -> Completion:
        import openai
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        def wait(state: Any) -> float:
            # Exponential backoff with additive jitter, at least Retry-After, within the total-wait budget.
            delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (state.attempt_number - 1))
            delay += random.uniform(0, self.jitter_s)
            exc = state.outcome.exception() if state.outcome is not None else None
            retry_after = _retry_after_s(exc) if exc is not None else None
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.backoff_max_s))
            return max(0.0, min(delay, self.max_total_wait_s - state.idle_for))

        def out_of_time(state: Any) -> bool:
            return state.idle_for >= self.max_total_wait_s

        def before_sleep(state: Any) -> None:
            self.stats.retries += 1
            exc = state.outcome.exception()
            log.info(
                "%s: attempt %d failed (%s); retrying in %.2f s",
                self.name,
                state.attempt_number,
                scrub(first_line(exc), self._secret),
                state.next_action.sleep if state.next_action else 0.0,
            )

        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.max_attempts) | out_of_time,  # type: ignore[operator]
                wait=wait,
                retry=retry_if_exception(_is_retryable),
                before_sleep=before_sleep,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    self.stats.http_attempts += 1
                    response = await client.chat.completions.create(
                        model=self.model, messages=payload, **kwargs
                    )
        except openai.APIError as exc:
            err = self._map_error(exc, attempts)
            err.attempts = attempts
            err.status_code = getattr(exc, "status_code", None)
            raise err from None
        return self._to_completion(response, attempts)

    def _to_completion(self, response: Any, attempts: int) -> Completion:
        try:
            choice = response.choices[0]
            text = choice.message.content or ""
            finish_reason = choice.finish_reason
        except (AttributeError, IndexError, TypeError):
            raise LLMResponseError(
                f"{self.name}: the server at {redact_url(self.base_url)} sent a reply that is not a "
                "chat completion",
                raw_text=str(response)[:2000],
            ) from None
        usage = Usage()
        raw_usage = getattr(response, "usage", None)
        if raw_usage is not None:
            usage = Usage(int(raw_usage.prompt_tokens or 0), int(raw_usage.completion_tokens or 0))
        return Completion(text=text, usage=usage, attempts=attempts, finish_reason=finish_reason)

    def _server_message(self, exc: Any) -> str:
        body = getattr(exc, "body", None)
        msg = None
        if isinstance(body, dict):
            msg = body.get("message") or body.get("detail") or body.get("error")
        text = " ".join(str(msg if msg else getattr(exc, "message", exc)).split())
        return scrub(text, self._secret)[:300]

    def _map_error(self, exc: Exception, attempts: int) -> LLMError:
        import openai

        url = redact_url(self.base_url)
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeoutError(f"{self.name}: no reply from {url} within {self.timeout:g} s ({tries})")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            reason = scrub(first_line(cause), self._secret)[:200]
            return LLMUnreachableError(
                f"{self.name}: cannot reach the server at {url} after {tries} ({reason}); is it running?"
            )
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            msg = self._server_message(exc)
            if status in (401, 403):
                hint = (
                    f"environment variable {self.api_key_env} is not set"
                    if self._key_is_dummy
                    else f"check the key in environment variable {self.api_key_env}"
                )
                return LLMAuthError(f"{self.name}: {url} refused the API key (HTTP {status}): {hint}")
            if status == 429:
                return LLMRateLimitError(
                    f"{self.name}: rate-limited by {url} (HTTP 429) after {tries}: {msg}"
                )
            if status >= 500:
                return LLMServerError(
                    f"{self.name}: server error from {url} (HTTP {status}) after {tries}: {msg}"
                )
            if status == 404:
                return LLMRequestError(
                    f"{self.name}: HTTP 404 from {url}: {msg} (wrong model name or base URL?)"
                )
            return LLMRequestError(f"{self.name}: {url} rejected the request (HTTP {status}): {msg}")
        return LLMResponseError(
            f"{self.name}: bad reply from {url}: {scrub(first_line(exc), self._secret)[:300]}"
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is gone
                await client.close()
        await super().aclose()


def _rejects_structured_output(exc: LLMRequestError) -> bool:
    text = str(exc).lower()
    return exc.status_code in (400, 422) and any(
        word in text for word in ("response_format", "json_schema", "structured_output", "guided")
    )
