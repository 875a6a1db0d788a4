"""Provider ``openai``: any OpenAI-compatible chat-completions server (vLLM, DashScope, OpenAI, llama.cpp).

Built on the official ``openai`` async client with its own retries off; transport retries here use
tenacity (exponential backoff with jitter, ``Retry-After`` honoured, bounded attempts and total wait)
on 429, 408, 5xx, timeouts, connection errors and 200 replies that are no chat completion (empty,
not JSON), never on other 4xx. A 5xx other than 502/503/504 whose error body is the same twice in a
row is not retried again (a deterministic failure). Audio is sent as ``input_audio`` parts (portable) or, with
``audio_format='audio_url'``, as data URLs; WAV or FLAC (``audio_encoding``); see :mod:`lalm_bench.llm.openai_wire`.

Structured calls send ``response_format: json_schema`` (strict). Servers differ in what they accept:
a rejection is recognised by the error text (``response_format``, ``json_schema``, ``json_object``,
...), whatever the status code (some answer 500), and is never retried as such. The call then falls
back to ``response_format: json_object`` with the schema in the prompt, then to the prompt alone
(:data:`FALLBACK`); the model (one per server and model name in a job) keeps the mode that worked
for the rest of its life, and :meth:`OpenAIChatModel.describe` (which feeds manifests) records it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import first_line, register_option_secrets, register_secret, register_url_credentials
from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.chat_model import BaseChatModel, Completion
from lalm_bench.llm.errors import LLMAuthError, LLMConfigError, LLMError
from lalm_bench.llm.interface import Message, Sampling
from lalm_bench.llm.openai_pool import ClientPool
from lalm_bench.llm.openai_transport import Endpoint, RetryPolicy, send
from lalm_bench.llm.openai_wire import (
    AUDIO_ENCODINGS,
    AUDIO_FORMATS,
    FALLBACK,
    RANK,
    STRUCTURED_MODES,
    AudioEncoding,
    AudioFormat,
    StructuredMode,
    response_format_for,
    sampling_kwargs,
    to_openai_messages,
    with_schema_prompt,
)
from lalm_bench.llm.structured import strict_json_schema
from lalm_bench.llm.urls import is_local_url, redact_url, url_problem

log = logging.getLogger("lalm_bench.llm")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
LOCAL_DUMMY_KEY = "EMPTY"


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
        audio_format: AudioFormat = "input_audio",
        audio_encoding: AudioEncoding = "wav",
    ) -> None:
        if not model:
            raise LLMConfigError("openai provider: empty model name (use openai/<model>)")
        base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        problem = url_problem(base_url)
        if problem is not None:
            raise LLMConfigError(f"base URL {redact_url(base_url)!r}: {problem}")
        if max_retries is not None:
            max_attempts = max_retries + 1
        if max_attempts < 1 or concurrency < 1 or timeout <= 0:
            raise LLMConfigError("max_attempts, concurrency and timeout must be positive")
        if structured_output not in STRUCTURED_MODES:
            raise LLMConfigError(
                f"structured_output must be one of {', '.join(STRUCTURED_MODES)}, not {structured_output!r}"
            )
        if audio_format not in AUDIO_FORMATS:
            raise LLMConfigError(f"audio_format must be one of {', '.join(AUDIO_FORMATS)}, not {audio_format!r}")
        if audio_encoding not in AUDIO_ENCODINGS:
            raise LLMConfigError(f"audio_encoding must be one of {', '.join(AUDIO_ENCODINGS)}, not {audio_encoding!r}")
        self.audio_format: AudioFormat = audio_format
        self.audio_encoding: AudioEncoding = audio_encoding
        register_url_credentials(base_url)
        register_option_secrets(extra_body)
        key = os.environ.get(api_key_env, "")
        if not key:
            if not is_local_url(base_url):
                raise LLMAuthError(
                    f"environment variable {api_key_env} is not set: it must hold the API key for "
                    f"{redact_url(base_url)} (or name another variable with --api-key-env)"
                )
            key = LOCAL_DUMMY_KEY  # local vLLM/llama.cpp servers accept any key
        if key != LOCAL_DUMMY_KEY:
            register_secret(key)
        self._api_key = key
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_attempts = int(max_attempts)
        self.concurrency = int(concurrency)
        self.structured_output_requested: StructuredMode = structured_output
        self.structured_output: StructuredMode = structured_output
        self.structured_fallbacks: list[dict[str, Any]] = []
        self.extra_body = dict(extra_body or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: ClientPool | None = None
        self._sem: asyncio.Semaphore | None = None
        super().__init__(model, cache=cache, base_url=base_url)
        self.endpoint = Endpoint(
            name=self.name,
            model=self.model,
            base_url=base_url,
            api_key_env=api_key_env,
            timeout=self.timeout,
            retry=RetryPolicy(
                max_attempts=self.max_attempts,
                max_total_wait_s=float(max_total_wait_s),
                backoff_initial_s=float(backoff_initial_s),
                backoff_max_s=float(backoff_max_s),
                jitter_s=float(jitter_s),
            ),
            key_is_dummy=key == LOCAL_DUMMY_KEY,
            secret=None if key == LOCAL_DUMMY_KEY else key,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel({self.model!r}, base_url={redact_url(self.base_url)!r})"

    def request_shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {}
        if self.audio_format != "input_audio":
            shape["audio_format"] = self.audio_format
        if self.audio_encoding != "wav":
            shape["audio_encoding"] = self.audio_encoding
        return shape

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
            "audio_format": self.audio_format,
            "audio_encoding": self.audio_encoding,
        }

    def _clients_for_loop(self) -> tuple[ClientPool, asyncio.Semaphore]:
        # httpx connection pools and semaphores belong to one event loop: renew them per loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._clients is None or self._sem is None:
            self._clients = ClientPool(api_key=self._api_key, base_url=self.endpoint.base_url, timeout=self.timeout)
            self._sem = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._clients, self._sem

    async def _complete(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        clients, sem = self._clients_for_loop()
        async with sem:
            with clients.client() as client:
                return await self._complete_on(client, messages, sampling, schema)

    async def _complete_on(
        self, client: Any, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        """One completion on ``client``, falling back to the next structured-output mode on a rejection."""
        attempts = 0
        while True:
            mode: StructuredMode = self.structured_output if schema is not None else "none"
            kwargs, payload = self._request(messages, sampling, schema, mode)
            try:
                comp = await send(self.endpoint, client, payload, kwargs, stats=self.stats, structured=mode != "none")
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
        return kwargs, to_openai_messages(messages, self.audio_format, self.audio_encoding)

    def _fall_back(self, mode: StructuredMode, exc: LLMError) -> None:
        """The server rejected ``mode``: use the next one from now on."""
        nxt = FALLBACK[mode]
        if RANK[nxt] <= RANK[self.structured_output]:
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

    async def aclose(self) -> None:
        clients, self._clients = self._clients, None
        if clients is not None:
            await clients.aclose()
        await super().aclose()
