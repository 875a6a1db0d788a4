"""LLM-layer errors: one-line, user-fixable messages that never contain an API key."""

from __future__ import annotations

from typing import Any

from lalm_bench.errors import LalmBenchError, redact


class LLMError(LalmBenchError):
    """A chat-model call that failed (after its retries, where retrying makes sense).

    ``attempts`` counts the HTTP attempts made; ``status_code`` is the last HTTP status, if any;
    ``usage`` the tokens spent before failing (a reply and its repair), if any; ``structured_output`` the
    structured-output mode of a structured call that got a reply, if any."""

    attempts: int = 0
    structured_output: str | None = None
    status_code: int | None = None
    usage: Any = None


class LLMConfigError(LLMError):
    """A bad model string, provider or provider option."""


class LLMAuthError(LLMError):
    """The server refused the credentials (HTTP 401/403) or no API key is set."""


class LLMUnreachableError(LLMError):
    """No connection to the server after the retries."""


class LLMTimeoutError(LLMUnreachableError):
    """The server did not answer within the request timeout, after the retries."""


class LLMRateLimitError(LLMError):
    """HTTP 429 after the retries."""


class LLMServerError(LLMError):
    """HTTP 5xx after the retries."""


class LLMRequestError(LLMError):
    """The server rejected the request (HTTP 400/404/422, ...): retrying would not help."""


class LLMResponseError(LLMError):
    """A reply that is not valid JSON for the schema, even after the one repair retry.

    ``raw_text`` holds the last reply (``raw_texts`` all of them) so callers can log it."""

    def __init__(self, message: str, raw_text: str = "", raw_texts: list[str] | None = None) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.raw_texts = list(raw_texts) if raw_texts is not None else [raw_text]


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with ``secrets`` and every credential :func:`lalm_bench.errors.redact` knows replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return redact(text)
