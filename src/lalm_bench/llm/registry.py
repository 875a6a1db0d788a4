"""``provider/model`` strings → chat models. Provider modules (and their SDKs) load only when used."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from lalm_bench.llm.errors import LLMConfigError
from lalm_bench.llm.interface import ChatModel

#: provider name → ``"module:attribute"`` of a factory ``(model: str, **options) -> ChatModel``.
_PROVIDERS: dict[str, str | Callable[..., ChatModel]] = {
    "openai": "lalm_bench.llm.openai_provider:OpenAIChatModel",
    "transformers": "lalm_bench.llm.transformers_provider:TransformersChatModel",
    "mock": "lalm_bench.llm.mock:MockChatModel",
}


def register_provider(name: str, factory: str | Callable[..., ChatModel]) -> None:
    """Add (or replace) a provider: a factory, or its ``"module:attribute"`` path for lazy import."""
    if not name or "/" in name:
        raise ValueError(f"bad provider name {name!r}")
    _PROVIDERS[name] = factory


def known_providers() -> list[str]:
    return sorted(_PROVIDERS)


def parse_model_spec(spec: str) -> tuple[str, str]:
    """Split ``provider/model``; the model part may itself contain slashes (``openai/Qwen/Qwen3-...``)."""
    provider, sep, model = (spec or "").strip().partition("/")
    if not sep or not provider or not model:
        raise LLMConfigError(
            f"model {spec!r} must be given as provider/model, e.g. openai/Qwen/Qwen3-Omni-30B-A3B-Instruct "
            f"(providers: {', '.join(known_providers())})"
        )
    if provider not in _PROVIDERS:
        raise LLMConfigError(
            f"unknown model provider {provider!r} in {spec!r} (known providers: {', '.join(known_providers())})"
        )
    return provider, model


def provider_constructor(provider: str) -> Callable[..., ChatModel]:
    target = _PROVIDERS[provider]
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def provider_factory(spec: str) -> Callable[..., ChatModel]:
    """The factory of ``spec``'s provider (its module is imported here)."""
    return provider_constructor(parse_model_spec(spec)[0])


def get_chat_model(spec: str, **options: Any) -> ChatModel:
    """The chat model for ``spec`` (``provider/model``), built with ``options``.

    Options whose value is ``None`` mean "the provider's default" and are dropped (so a CLI can
    pass all its flags), except ``cache=None``, which disables the response cache. An option the
    provider does not take raises a one-line :class:`~lalm_bench.llm.errors.LLMConfigError`."""
    provider, model = parse_model_spec(spec)
    factory = provider_constructor(provider)
    opts = {k: v for k, v in options.items() if v is not None or k == "cache"}
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        params = {}  # type: ignore[assignment]
    if params and not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(opts) - set(params))
        if unknown:
            raise LLMConfigError(f"provider {provider!r} does not take option(s) {', '.join(unknown)}")
    return factory(model, **opts)
