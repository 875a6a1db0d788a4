"""Chat models for every LLM job (predict, accuracy's LLM reader, rubrics generate and judge): one interface,
providers chosen by ``provider/model`` strings.

``get_chat_model("openai/Qwen/Qwen3-Omni-30B-A3B-Instruct", base_url=...)`` returns a
:class:`ChatModel`; provider SDKs (``openai``, ``transformers``) are imported only on first use.
"""

from lalm_bench.llm.cache import (
    CACHE_ENV,
    RUN_IDENTITY_KEYS,
    ResponseCache,
    cache_key,
    default_cache_path,
    is_cacheable,
    open_cache,
)
from lalm_bench.llm.chat_model import BaseChatModel, Completion, LLMStats
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
)
from lalm_bench.llm.interface import (
    AudioPart,
    ChatModel,
    ChatResult,
    Message,
    Part,
    Sampling,
    TextPart,
    Usage,
)
from lalm_bench.llm.registry import get_chat_model, known_providers, parse_model_spec, register_provider
from lalm_bench.llm.structured import ReplyParseError, extract_json, parse_reply, strict_json_schema
from lalm_bench.llm.urls import redact_url

__all__ = [
    "CACHE_ENV",
    "RUN_IDENTITY_KEYS",
    "AudioPart",
    "BaseChatModel",
    "ChatModel",
    "ChatResult",
    "Completion",
    "LLMAuthError",
    "LLMConfigError",
    "LLMError",
    "LLMRateLimitError",
    "LLMRequestError",
    "LLMResponseError",
    "LLMServerError",
    "LLMStats",
    "LLMTimeoutError",
    "LLMUnreachableError",
    "Message",
    "Part",
    "ReplyParseError",
    "ResponseCache",
    "Sampling",
    "TextPart",
    "Usage",
    "cache_key",
    "default_cache_path",
    "describe_model",
    "extract_json",
    "get_chat_model",
    "is_cacheable",
    "known_providers",
    "open_cache",
    "parse_model_spec",
    "parse_reply",
    "redact_url",
    "register_provider",
    "strict_json_schema",
]


def describe_model(model: ChatModel) -> dict:
    """What to record about ``model`` in a manifest (name, provider, base URL without credentials)."""
    describe = getattr(model, "describe", None)
    return describe() if callable(describe) else {"name": model.name}
