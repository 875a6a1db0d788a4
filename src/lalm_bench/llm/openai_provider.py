"""Provider ``openai``: any OpenAI-compatible chat-completions server (vLLM, DashScope, OpenAI, llama.cpp).

Built on the official ``openai`` async client with its own retries off; transport retries here use
tenacity (exponential backoff with jitter, ``Retry-After`` honoured, bounded attempts and total wait)
on 429, 408, 5xx, timeouts, connection errors and 200 replies that are no chat completion (empty,
not JSON), never on other 4xx. A 5xx other than 502/503/504 whose error body is the same twice in a
row is not retried again (a deterministic failure). Audio is sent as portable ``input_audio`` parts.

Structured calls send ``response_format: json_schema`` (strict). Servers differ in what they accept:
a rejection is recognised by the error text (``response_format``, ``json_schema``, ``json_object``,
...), whatever the status code (some answer 500), and is never retried as such. The call then falls
back to ``response_format: json_object`` with the schema in the prompt, then to the prompt alone
(:data:`FALLBACK`); the model (one per server and model name in a job) keeps the mode that worked
for the rest of its life, and :meth:`OpenAIChatModel.describe` (which feeds manifests) records it.
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
StructuredMode = Literal["json_schema", "vllm", "json_object", "none"]
STRUCTURED_MODES: tuple[str, ...] = ("json_schema", "vllm", "json_object", "none")
#: What a structured call falls back to when the server rejects a mode.
FALLBACK: dict[str, StructuredMode] = {"json_schema": "json_object", "vllm": "json_object", "json_object": "none"}
_RANK = {"json_schema": 0, "vllm": 0, "json_object": 1, "none": 2}
#: 5xx statuses that are transient by definition: retried even when the error body repeats.
TRANSIENT_5XX = (502, 503, 504)
#: Words in an error message that mean the server rejected the structured-output request itself.
_STRUCTURED_WORDS = ("response_format", "json_schema", "json_object", "structured_output", "guided_json", "guided")
SCHEMA_PROMPT = "Reply with one JSON object only (no prose, no code fences) that matches this JSON schema:\n{schema}"


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


class _BadReply(Exception):
    """A 200 reply that is no chat completion (empty, not JSON, or JSON of another shape)."""

    def __init__(self, reason: str, body: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.body = body


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

    if isinstance(exc, (openai.APIConnectionError, _BadReply)):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


def _error_text(exc: BaseException) -> str:
    """The body (or message) of an HTTP error, for comparing repeated failures."""
    body = getattr(exc, "body", None)
    if body is not None:
        try:
            import json

            return json.dumps(body, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return str(body)
    return str(getattr(exc, "message", exc))


class OpenAIChatModel(BaseChatModel):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    ``max_attempts`` bounds the HTTP attempts per completion (``max_retries``, if given, sets it to
    ``max_retries + 1``); ``max_total_wait_s`` bounds the total backoff sleep per completion;
    ``backoff_initial_s``/``backoff_max_s``/``jitter_s`` shape the exponential backoff.
    ``structured_output``: ``json_schema`` (portable ``response_format``), ``vllm`` (vLLM's
    ``extra_body.structured_outputs``), ``json_object`` (``response_format: json_object`` and the schema
    in the prompt) or ``none`` (the schema in the prompt only); a rejected mode falls back (see the
    module docstring)."""

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
        if structured_output not in STRUCTURED_MODES:
            raise LLMConfigError(
                f"structured_output must be one of {', '.join(STRUCTURED_MODES)}, not {structured_output!r}"
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
        self.structured_output_requested: StructuredMode = structured_output
        self.structured_output: StructuredMode = structured_output
        self.structured_fallbacks: list[dict[str, Any]] = []
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
            "structured_output_requested": self.structured_output_requested,
            "structured_output_fallbacks": list(self.structured_fallbacks),
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
        attempts = 0
        async with sem:
            while True:
                mode: StructuredMode = self.structured_output if schema is not None else "none"
                kwargs, payload = self._request(messages, sampling, schema, mode)
                try:
                    comp = await self._send(client, payload, kwargs, structured=mode != "none")
                except LLMError as exc:
                    attempts += exc.attempts
                    if schema is None or mode == "none" or not getattr(exc, "structured_rejected", False):
                        exc.attempts = attempts
                        raise
                    self._fall_back(mode, exc)
                    continue
                comp.attempts += attempts
                if schema is not None:
                    comp.extra["structured_output"] = mode
                    if mode != self.structured_output_requested:
                        comp.extra["structured_output_fallback"] = True
                return comp

    def _request(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None, mode: StructuredMode
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        kwargs = sampling_kwargs(sampling)
        extra_body = dict(self.extra_body)
        if schema is not None and mode == "json_schema":
            kwargs["response_format"] = response_format_for(schema)
        elif schema is not None and mode == "vllm":
            extra_body["structured_outputs"] = {"json": strict_json_schema(schema)}
        elif schema is not None:
            if mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            messages = with_schema_prompt(messages, schema)
        if extra_body:
            kwargs["extra_body"] = extra_body
        return kwargs, to_openai_messages(messages)

    def _fall_back(self, mode: StructuredMode, exc: LLMError) -> None:
        """The server rejected ``mode``: use the next one from now on."""
        nxt = FALLBACK[mode]
        if _RANK[nxt] <= _RANK[self.structured_output]:
            return  # a concurrent call fell back already
        log.warning(
            "%s: the server rejected structured output '%s' (%s); using '%s' from now on",
            self.name,
            mode,
            first_line(exc)[:200],
            nxt,
        )
        self.structured_fallbacks.append({"from": mode, "to": nxt, "reason": first_line(exc)[:300]})
        self.structured_output = nxt

    async def _send(
        self,
        client: Any,
        payload: list[dict[str, Any]],
        kwargs: dict[str, Any],
        *,
        structured: bool | None = None,
    ) -> Completion:
        """One completion with transport retries. ``structured``: the request carries a structured-output
        mode, so an error naming it is a rejection of that mode (raised at once, marked
        ``structured_rejected``)."""
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

        last_error: list[str] = []  # the previous deterministic-looking error body
        repeated: list[bool] = [False]

        def should_retry(exc: BaseException) -> bool:
            if not _is_retryable(exc):
                return False
            if (
                isinstance(exc, openai.APIStatusError)
                and structured
                and rejects_structured_output(self._server_message(exc, limit=None))
            ):
                return False  # a rejected response_format is not retried as such, whatever the status
            key = None
            if isinstance(exc, _BadReply):
                key = "reply:" + exc.body[:4000]
            elif (
                isinstance(exc, openai.APIStatusError)
                and exc.status_code >= 500
                and exc.status_code not in TRANSIENT_5XX
            ):
                key = f"{exc.status_code}:{_error_text(exc)[:4000]}"
            if key is not None:
                if last_error and last_error[0] == key:
                    repeated[0] = True
                    return False
                last_error[:] = [key]
            return True

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
        answered = False  # the server answered some attempt: a later dropped connection is not "unreachable"
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.max_attempts) | out_of_time,  # type: ignore[operator]
                wait=wait,
                retry=retry_if_exception(should_retry),
                before_sleep=before_sleep,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    self.stats.http_attempts += 1
                    try:
                        response = await client.chat.completions.create(model=self.model, messages=payload, **kwargs)
                    except openai.APIStatusError:
                        answered = True
                        raise
                    except ValueError as exc:  # json.JSONDecodeError: an empty or non-JSON 200 body
                        answered = True
                        body = str(getattr(exc, "doc", "") or "")
                        raise _BadReply("empty body" if not body.strip() else "not JSON", body) from None
                    answered = True
                    comp = self._to_completion(response, attempts)
        except openai.APIError as exc:
            err = self._map_error(exc, attempts, repeated=repeated[0], answered=answered)
            err.attempts = attempts
            err.status_code = getattr(exc, "status_code", None)
            if structured and isinstance(exc, openai.APIStatusError):
                rejected = rejects_structured_output(self._server_message(exc, limit=None))
                err.structured_rejected = rejected  # type: ignore[attr-defined]
            raise err from None
        except _BadReply as exc:
            again = " (the same reply twice)" if repeated[0] else ""
            err = LLMResponseError(
                f"{self.name}: the server at {redact_url(self.base_url)} sent a reply that is not a chat "
                f"completion ({exc.reason}) after {attempts} attempt{'s' if attempts != 1 else ''}{again}",
                raw_text=scrub(exc.body[:2000], self._secret),
            )
            err.attempts = attempts
            err.status_code = 200
            raise err from None
        return comp

    def _to_completion(self, response: Any, attempts: int) -> Completion:
        try:
            choice = response.choices[0]
            text = choice.message.content or ""
            finish_reason = choice.finish_reason
        except (AttributeError, IndexError, TypeError):
            raise _BadReply("JSON that is not a chat completion", str(response)[:4000]) from None
        if not isinstance(text, str):
            raise _BadReply("a message content that is not text", str(text)[:4000])
        usage = Usage()
        raw_usage = getattr(response, "usage", None)
        if raw_usage is not None:
            try:
                usage = Usage(int(raw_usage.prompt_tokens or 0), int(raw_usage.completion_tokens or 0))
            except (AttributeError, TypeError, ValueError):
                usage = Usage()
        return Completion(text=text, usage=usage, attempts=attempts, finish_reason=finish_reason)

    def _server_message(self, exc: Any, limit: int | None = 300) -> str:
        body = getattr(exc, "body", None)
        msg = None
        if isinstance(body, dict):
            msg = body.get("message") or body.get("detail") or body.get("error")
        elif isinstance(body, str):
            msg = body
        text = " ".join(str(msg if msg else getattr(exc, "message", exc)).split())
        return scrub(text, self._secret)[:limit]

    def _map_error(self, exc: Exception, attempts: int, *, repeated: bool = False, answered: bool = False) -> LLMError:
        import openai

        url = redact_url(self.base_url)
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}" + (
            ", the same error twice, so not retried again" if repeated else ""
        )
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeoutError(f"{self.name}: no reply from {url} within {self.timeout:g} s ({tries})")
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            reason = scrub(first_line(cause), self._secret)[:200]
            if answered:  # reachable, but this request kept failing: the item fails, the job goes on
                return LLMServerError(
                    f"{self.name}: the connection to {url} dropped on the last of {tries} ({reason}); "
                    "the server answered earlier attempts"
                )
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
                return LLMRateLimitError(f"{self.name}: rate-limited by {url} (HTTP 429) after {tries}: {msg}")
            if status >= 500:
                return LLMServerError(f"{self.name}: server error from {url} (HTTP {status}) after {tries}: {msg}")
            if status == 404:
                return LLMRequestError(f"{self.name}: HTTP 404 from {url}: {msg} (wrong model name or base URL?)")
            return LLMRequestError(f"{self.name}: {url} rejected the request (HTTP {status}): {msg}")
        return LLMResponseError(f"{self.name}: bad reply from {url}: {scrub(first_line(exc), self._secret)[:300]}")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # its event loop is gone
                await client.close()
        await super().aclose()
