"""The LLM settings every LLM job shares, and building chat models from them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.llm.interface import ChatModel, Sampling

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_RETRIES = 4


@dataclass(frozen=True)
class LLMOptions:
    """How to reach chat models: server(s), key, limits, response cache, provider options."""

    base_urls: tuple[str, ...] = ()  # empty: $OPENAI_BASE_URL or the provider's default
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight per server
    timeout: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    use_cache: bool = True
    cache_path: Path | None = None  # default: $LALM_BENCH_LLM_CACHE, else the user cache dir
    provider_options: dict[str, Any] = field(default_factory=dict)
    audio_format: str = "input_audio"  # input_audio | audio_url: how audio goes into a chat request
    audio_encoding: str = "wav"  # wav | flac

    def __post_init__(self) -> None:
        from lalm_bench.errors import register_option_secrets, register_url_credentials
        from lalm_bench.llm.errors import LLMConfigError
        from lalm_bench.llm.urls import redact_url, url_problem

        register_option_secrets(self.provider_options)
        for url in self.base_urls:
            register_url_credentials(url)
            problem = url_problem(url)
            if problem is not None:
                raise LLMConfigError(f"--base-url {redact_url(url)!r}: {problem}")

    @property
    def base_url(self) -> str | None:
        return self.base_urls[0] if self.base_urls else None

    def public(self) -> dict[str, Any]:
        """What a manifest records (URLs without credentials; never the key itself, nor key-like options)."""
        from lalm_bench.errors import redact_value
        from lalm_bench.llm.urls import redact_url

        return {
            "base_urls": [redact_url(u) for u in self.base_urls],
            "api_key_env": self.api_key_env,
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "max_retries": self.max_retries,
            "cache": (str(self.cache_path) if self.cache_path else "default") if self.use_cache else None,
            "provider_options": redact_value(self.provider_options),
            "audio_format": self.audio_format,
            "audio_encoding": self.audio_encoding,
        }


@dataclass(frozen=True)
class SamplingOptions:
    """Sampling of a generation step; deterministic (temperature 0) by default."""

    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int | None = 1024

    def sampling(self, seed: int | None = None, *, temperature: float | None = None) -> Sampling:
        t = self.temperature if temperature is None else temperature
        return Sampling(temperature=t, top_p=self.top_p, max_tokens=self.max_tokens, seed=seed)


#: Builds the chat model of a ``provider/model`` spec; jobs take one to run against fakes or wrapped models.
ModelFactory = Callable[[str, "LLMOptions"], ChatModel]


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    """The chat model from the LLM registry for the (first) server in ``llm`` (the provider SDK is imported then)."""
    return make_chat_model(spec, llm)


def make_chat_model(spec: str, options: LLMOptions, *, base_url: str | None = None) -> ChatModel:
    """The chat model for ``spec`` (``provider/model``) with the settings ``options`` holds.

    A provider gets only the settings it takes (an in-process model has no base URL or request
    timeout); ``--llm-option`` values are passed as given, so a wrong one is an error."""
    from lalm_bench.llm.registry import get_chat_model, provider_factory

    shared: dict[str, Any] = {
        "base_url": base_url if base_url is not None else options.base_url,
        "api_key_env": options.api_key_env,
        "timeout": options.timeout,
        "max_retries": options.max_retries,
        "concurrency": options.concurrency,
        "audio_format": options.audio_format,
        "audio_encoding": options.audio_encoding,
    }
    factory = provider_factory(spec)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        params = {}  # type: ignore[assignment]
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        shared = {k: v for k, v in shared.items() if k in params}
    cache: Any = (str(options.cache_path) if options.cache_path else True) if options.use_cache else None
    if "cache" in params or not params:
        shared["cache"] = cache
    return get_chat_model(spec, **shared, **_provider_options(options.provider_options, params))


def _provider_options(given: dict[str, Any], params: Any) -> dict[str, Any]:
    """The ``--llm-option`` values for one provider: a job may use models of several providers, so an
    option another provider takes is left out here; one that no provider takes stays (and is refused)."""
    if not params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(given)
    elsewhere = _options_of_other_providers()
    return {k: v for k, v in given.items() if k in params or k not in elsewhere}


def _options_of_other_providers() -> set[str]:
    from lalm_bench.llm.registry import known_providers, provider_constructor

    names: set[str] = set()
    for provider in known_providers():
        try:
            names |= set(inspect.signature(provider_constructor(provider)).parameters)
        except (ImportError, TypeError, ValueError):  # a provider that cannot even be imported here
            continue
    return names
