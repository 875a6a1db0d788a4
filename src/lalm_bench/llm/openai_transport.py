"""One completion from an OpenAI-compatible server: transport retries, Retry-After, the errors failures become."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import first_line
from lalm_bench.llm.chat_model import Completion
from lalm_bench.llm.errors import (
    LLMAuthError,
    LLMError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    LLMUnreachableError,
    scrub,
)
from lalm_bench.llm.openai_wire import _BadReply, rejects_structured_output, to_completion
from lalm_bench.llm.urls import redact_url

if TYPE_CHECKING:
    from lalm_bench.llm.openai_provider import OpenAIChatModel

log = logging.getLogger("lalm_bench.llm")

#: 5xx statuses that are transient by definition: retried even when the error body repeats.
TRANSIENT_5XX = (502, 503, 504)


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


async def send(
    model: OpenAIChatModel,
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
        delay = min(model.backoff_max_s, model.backoff_initial_s * 2 ** (state.attempt_number - 1))
        delay += random.uniform(0, model.jitter_s)
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = _retry_after_s(exc) if exc is not None else None
        if retry_after is not None:
            delay = max(delay, min(retry_after, model.backoff_max_s))
        return max(0.0, min(delay, model.max_total_wait_s - state.idle_for))

    def out_of_time(state: Any) -> bool:
        return state.idle_for >= model.max_total_wait_s

    last_error: list[str] = []  # the previous deterministic-looking error body
    repeated: list[bool] = [False]

    def should_retry(exc: BaseException) -> bool:
        if not _is_retryable(exc):
            return False
        if (
            isinstance(exc, openai.APIStatusError)
            and structured
            and rejects_structured_output(server_message(exc, model._secret, limit=None))
        ):
            return False  # a rejected response_format is not retried as such, whatever the status
        key = None
        if isinstance(exc, _BadReply):
            key = "reply:" + exc.body[:4000]
        elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500 and exc.status_code not in TRANSIENT_5XX:
            key = f"{exc.status_code}:{_error_text(exc)[:4000]}"
        if key is not None:
            if last_error and last_error[0] == key:
                repeated[0] = True
                return False
            last_error[:] = [key]
        return True

    def before_sleep(state: Any) -> None:
        model.stats.retries += 1
        exc = state.outcome.exception()
        log.info(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            model.name,
            state.attempt_number,
            scrub(first_line(exc), model._secret),
            state.next_action.sleep if state.next_action else 0.0,
        )

    attempts = 0
    answered = False  # the server answered some attempt: a later dropped connection is not "unreachable"
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(model.max_attempts) | out_of_time,  # type: ignore[operator]
            wait=wait,
            retry=retry_if_exception(should_retry),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                attempts += 1
                model.stats.http_attempts += 1
                try:
                    response = await client.chat.completions.create(model=model.model, messages=payload, **kwargs)
                except openai.APIStatusError:
                    answered = True
                    raise
                except ValueError as exc:  # json.JSONDecodeError: an empty or non-JSON 200 body
                    answered = True
                    body = str(getattr(exc, "doc", "") or "")
                    raise _BadReply("empty body" if not body.strip() else "not JSON", body) from None
                answered = True
                comp = to_completion(response, attempts)
    except openai.APIError as exc:
        err = map_error(model, exc, attempts, repeated=repeated[0], answered=answered)
        err.attempts = attempts
        err.status_code = getattr(exc, "status_code", None)
        if structured and isinstance(exc, openai.APIStatusError):
            rejected = rejects_structured_output(server_message(exc, model._secret, limit=None))
            err.structured_rejected = rejected  # type: ignore[attr-defined]
        raise err from None
    except _BadReply as exc:
        again = " (the same reply twice)" if repeated[0] else ""
        err = LLMResponseError(
            f"{model.name}: the server at {redact_url(model.base_url)} sent a reply that is not a chat "
            f"completion ({exc.reason}) after {attempts} attempt{'s' if attempts != 1 else ''}{again}",
            raw_text=scrub(exc.body[:2000], model._secret),
        )
        err.attempts = attempts
        err.status_code = 200
        raise err from None
    return comp


def server_message(exc: Any, secret: str | None, limit: int | None = 300) -> str:
    """The server's error message of ``exc`` on one line, without ``secret``, cut at ``limit`` characters."""
    body = getattr(exc, "body", None)
    msg = None
    if isinstance(body, dict):
        msg = body.get("message") or body.get("detail") or body.get("error")
    elif isinstance(body, str):
        msg = body
    text = " ".join(str(msg if msg else getattr(exc, "message", exc)).split())
    return scrub(text, secret)[:limit]


def map_error(
    model: OpenAIChatModel, exc: Exception, attempts: int, *, repeated: bool = False, answered: bool = False
) -> LLMError:
    """The one-line :class:`LLMError` for an ``openai`` exception after ``attempts`` attempts."""
    import openai

    url = redact_url(model.base_url)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}" + (
        ", the same error twice, so not retried again" if repeated else ""
    )
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(f"{model.name}: no reply from {url} within {model.timeout:g} s ({tries})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        reason = scrub(first_line(cause), model._secret)[:200]
        if answered:  # reachable, but this request kept failing: the item fails, the job goes on
            return LLMServerError(
                f"{model.name}: the connection to {url} dropped on the last of {tries} ({reason}); "
                "the server answered earlier attempts"
            )
        return LLMUnreachableError(
            f"{model.name}: cannot reach the server at {url} after {tries} ({reason}); is it running?"
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        msg = server_message(exc, model._secret)
        if status in (401, 403):
            hint = (
                f"environment variable {model.api_key_env} is not set"
                if model._key_is_dummy
                else f"check the key in environment variable {model.api_key_env}"
            )
            return LLMAuthError(f"{model.name}: {url} refused the API key (HTTP {status}): {hint}")
        if status == 429:
            return LLMRateLimitError(f"{model.name}: rate-limited by {url} (HTTP 429) after {tries}: {msg}")
        if status >= 500:
            return LLMServerError(f"{model.name}: server error from {url} (HTTP {status}) after {tries}: {msg}")
        if status == 404:
            return LLMRequestError(f"{model.name}: HTTP 404 from {url}: {msg} (wrong model name or base URL?)")
        return LLMRequestError(f"{model.name}: {url} rejected the request (HTTP {status}): {msg}")
    return LLMResponseError(f"{model.name}: bad reply from {url}: {scrub(first_line(exc), model._secret)[:300]}")
