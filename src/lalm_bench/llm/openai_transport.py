"""One completion from an OpenAI-compatible server: transport retries, Retry-After, the errors failures become.

:func:`send` knows the server only through an :class:`Endpoint` (frozen: where, the key's variable,
the timeout, the retry policy), never through the provider object that made it.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from lalm_bench.errors import first_line
from lalm_bench.llm.chat_model import Completion, LLMStats
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
from lalm_bench.llm.openai_wire import BadReply, rejects_structured_output, to_completion
from lalm_bench.llm.urls import redact_url

log = logging.getLogger("lalm_bench.llm")

#: 5xx statuses that are transient by definition: retried even when the error body repeats.
TRANSIENT_5XX = (502, 503, 504)


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retries of one completion: bounded attempts and total wait, exponential backoff with jitter."""

    max_attempts: int = 5
    max_total_wait_s: float = 120.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    jitter_s: float = 1.0

    def delay(self, attempt_number: int, retry_after: float | None, waited: float) -> float:
        """Seconds before the next attempt: backoff plus jitter, at least Retry-After, within the wait budget."""
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt_number - 1))
        delay += random.uniform(0, self.jitter_s)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max_s))
        return max(0.0, min(delay, self.max_total_wait_s - waited))


@dataclass(frozen=True)
class Endpoint:
    """One model on one OpenAI-compatible server, as the transport sees it."""

    name: str  # provider/model, for messages
    model: str  # the model name sent in requests
    base_url: str
    api_key_env: str
    timeout: float
    retry: RetryPolicy
    key_is_dummy: bool = False  # no key was set (a local server)
    secret: str | None = field(default=None, repr=False)  # what messages must never contain

    @property
    def url(self) -> str | None:
        return redact_url(self.base_url)


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

    if isinstance(exc, (openai.APIConnectionError, BadReply)):  # includes APITimeoutError
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


class _Attempts:
    """What the retry loop of one completion has seen: attempts, an answer, the last repeatable error."""

    def __init__(self, endpoint: Endpoint, stats: LLMStats, structured: bool | None) -> None:
        self.endpoint, self.stats, self.structured = endpoint, stats, structured
        self.count = 0
        self.answered = False  # the server answered some attempt: a later dropped connection is not "unreachable"
        self.repeated = False  # the same deterministic-looking failure twice in a row
        self._last: str | None = None

    def wait(self, state: Any) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = _retry_after_s(exc) if exc is not None else None
        return self.endpoint.retry.delay(state.attempt_number, retry_after, state.idle_for)

    def out_of_time(self, state: Any) -> bool:
        return bool(state.idle_for >= self.endpoint.retry.max_total_wait_s)

    def should_retry(self, exc: BaseException) -> bool:
        import openai

        if not _is_retryable(exc):
            return False
        if isinstance(exc, openai.APIStatusError) and self.structured and _rejects_structured(exc, self.endpoint):
            return False  # a rejected response_format is not retried as such, whatever the status
        key = None
        if isinstance(exc, BadReply):
            key = "reply:" + exc.body[:4000]
        elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500 and exc.status_code not in TRANSIENT_5XX:
            key = f"{exc.status_code}:{_error_text(exc)[:4000]}"
        if key is not None:
            if self._last == key:
                self.repeated = True
                return False
            self._last = key
        return True

    def before_sleep(self, state: Any) -> None:
        self.stats.retries += 1
        log.info(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            self.endpoint.name,
            state.attempt_number,
            scrub(first_line(state.outcome.exception()), self.endpoint.secret),
            state.next_action.sleep if state.next_action else 0.0,
        )


def _rejects_structured(exc: Any, endpoint: Endpoint) -> bool:
    return rejects_structured_output(server_message(exc, endpoint.secret, limit=None))


async def _attempt(
    endpoint: Endpoint, client: Any, payload: list[dict[str, Any]], kwargs: dict[str, Any], seen: _Attempts
) -> Completion:
    """One HTTP attempt; an empty or non-JSON 200 body becomes :class:`BadReply` (retried)."""
    import openai

    seen.count += 1
    seen.stats.http_attempts += 1
    try:
        # The messages travel in ``extra_body``, which the client merges into the JSON body as it is: the body
        # sent is the same, without the client's walk of every content part through its TypedDict
        # transform (about 3 ms of CPU per request with audio, the largest per-item cost of the client).
        given = {k: v for k, v in kwargs.items() if k != "extra_body"}
        extra_body = {**(kwargs.get("extra_body") or {}), "messages": payload}
        # The raw reply, read as JSON here: the same checks as the client's typed parse (which builds a
        # ChatCompletion model of every reply only for us to read three fields of it), less CPU per request.
        raw = await client.chat.completions.with_raw_response.create(
            model=endpoint.model, messages=[], extra_body=extra_body, **given
        )
    except openai.APIStatusError:
        seen.answered = True
        raise
    seen.answered = True
    body = raw.http_response.text
    try:
        reply = json.loads(body)
    except ValueError:  # an empty or non-JSON 200 body
        raise BadReply("empty body" if not body.strip() else "not JSON", body) from None
    return to_completion(reply, seen.count, body)


async def send(
    endpoint: Endpoint,
    client: Any,
    payload: list[dict[str, Any]],
    kwargs: dict[str, Any],
    *,
    stats: LLMStats,
    structured: bool | None = None,
) -> Completion:
    """One completion with transport retries (counted in ``stats``). ``structured``: the request carries a
    structured-output mode, so an error naming it is a rejection of that mode (raised at once, marked
    ``structured_rejected``).

    The first attempt is sent directly; only a retryable failure of it enters tenacity's retry loop (about
    0.3 ms of CPU per request saved on the common path), whose first turn replays that failure so that attempt
    numbers, waits, the wait budget and log lines are those of a loop around every attempt."""
    import openai

    seen = _Attempts(endpoint, stats, structured)
    try:
        try:
            return await _attempt(endpoint, client, payload, kwargs, seen)
        except (openai.APIError, BadReply) as exc:
            if not seen.should_retry(exc):
                raise
            first: BaseException = exc
        return await _retry(endpoint, client, payload, kwargs, seen, first)
    except openai.APIError as exc:
        raise _api_failure(endpoint, exc, seen) from None
    except BadReply as exc:
        raise _bad_reply_failure(endpoint, exc, seen) from None


async def _retry(
    endpoint: Endpoint,
    client: Any,
    payload: list[dict[str, Any]],
    kwargs: dict[str, Any],
    seen: _Attempts,
    first: BaseException,
) -> Completion:
    """The retry loop after a first attempt failed with ``first`` (already judged retryable): its first turn
    raises ``first`` again without a request, so tenacity counts, waits and stops as if it had sent it."""
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    replay: BaseException | None = first
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(endpoint.retry.max_attempts) | seen.out_of_time,  # type: ignore[operator]
        wait=seen.wait,
        retry=retry_if_exception(lambda exc: exc is first or seen.should_retry(exc)),
        before_sleep=seen.before_sleep,
        reraise=True,
    ):
        with attempt:
            if replay is not None:
                exc, replay = replay, None
                raise exc
            comp = await _attempt(endpoint, client, payload, kwargs, seen)
    return comp


def _api_failure(endpoint: Endpoint, exc: Exception, seen: _Attempts) -> LLMError:
    """The error an ``openai`` exception becomes once retries are over."""
    import openai

    err = map_error(endpoint, exc, seen.count, repeated=seen.repeated, answered=seen.answered)
    err.attempts = seen.count
    err.status_code = getattr(exc, "status_code", None)
    if seen.structured and isinstance(exc, openai.APIStatusError):
        err.structured_rejected = _rejects_structured(exc, endpoint)  # type: ignore[attr-defined]
    return err


def _bad_reply_failure(endpoint: Endpoint, exc: BadReply, seen: _Attempts) -> LLMError:
    """The error a 200 reply that is no chat completion becomes once retries are over."""
    n = seen.count
    again = " (the same reply twice)" if seen.repeated else ""
    err = LLMResponseError(
        f"{endpoint.name}: the server at {endpoint.url} sent a reply that is not a chat "
        f"completion ({exc.reason}) after {n} attempt{'s' if n != 1 else ''}{again}",
        raw_text=scrub(exc.body[:2000], endpoint.secret),
    )
    err.attempts = n
    err.status_code = 200
    return err


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
    endpoint: Endpoint, exc: Exception, attempts: int, *, repeated: bool = False, answered: bool = False
) -> LLMError:
    """The one-line :class:`LLMError` for an ``openai`` exception after ``attempts`` attempts."""
    import openai

    url, name, secret = endpoint.url, endpoint.name, endpoint.secret
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}" + (
        ", the same error twice, so not retried again" if repeated else ""
    )
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(f"{name}: no reply from {url} within {endpoint.timeout:g} s ({tries})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        reason = scrub(first_line(cause), secret)[:200]
        if answered:  # reachable, but this request kept failing: the item fails, the job goes on
            return LLMServerError(
                f"{name}: the connection to {url} dropped on the last of {tries} ({reason}); "
                "the server answered earlier attempts"
            )
        return LLMUnreachableError(f"{name}: cannot reach the server at {url} after {tries} ({reason}); is it running?")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        msg = server_message(exc, secret)
        if status in (401, 403):
            hint = (
                f"environment variable {endpoint.api_key_env} is not set"
                if endpoint.key_is_dummy
                else f"check the key in environment variable {endpoint.api_key_env}"
            )
            return LLMAuthError(f"{name}: {url} refused the API key (HTTP {status}): {hint}")
        if status == 429:
            return LLMRateLimitError(f"{name}: rate-limited by {url} (HTTP 429) after {tries}: {msg}")
        if status >= 500:
            return LLMServerError(f"{name}: server error from {url} (HTTP {status}) after {tries}: {msg}")
        if status == 404:
            return LLMRequestError(f"{name}: HTTP 404 from {url}: {msg} (wrong model name or base URL?)")
        return LLMRequestError(f"{name}: {url} rejected the request (HTTP {status}): {msg}")
    return LLMResponseError(f"{name}: bad reply from {url}: {scrub(first_line(exc), secret)[:300]}")
