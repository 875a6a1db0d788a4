"""One LLM step of a long job: a chat call whose failure is either fatal or recorded per item.

Fatal errors stop the whole job, because the next item would fail the same way: bad credentials,
a bad model/provider setting, the server unreachable after the retries, an unknown model (HTTP
404). A timeout, 429/5xx after the retries or an invalid reply fail only the item's step, which
is recorded in a :class:`StepReply` with the raw replies and the tokens spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import first_line
from lalm_bench.llm.errors import (
    LLMAuthError,
    LLMConfigError,
    LLMError,
    LLMRequestError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from lalm_bench.llm.interface import ChatModel, ChatResult, Message, Sampling


class StepReply(BaseModel):
    """The raw text and parsed object of one LLM step, with its bookkeeping."""

    raw: str | None = None
    raw_attempts: list[str] | None = None  # every reply when a repair retry was needed
    parsed: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str | None = None
    structured_output: str | None = None  # the structured-output mode that produced the reply (None: no schema)


def is_fatal(exc: BaseException) -> bool:
    """Whether ``exc`` must stop the job (see the module docstring)."""
    if isinstance(exc, LLMTimeoutError):
        return False
    if isinstance(exc, (LLMAuthError, LLMConfigError, LLMUnreachableError)):
        return True
    return isinstance(exc, LLMRequestError) and exc.status_code == 404


def is_step_error(exc: BaseException) -> bool:
    """Errors recorded as a failed step of one item."""
    return isinstance(exc, LLMError) and not is_fatal(exc)


async def call_step(
    model: ChatModel,
    messages: list[Message],
    *,
    schema: type[BaseModel] | None = None,
    sampling: Sampling | None = None,
    cache_key_extra: dict[str, Any] | None = None,
    limit: asyncio.Semaphore | None = None,
) -> tuple[ChatResult | None, StepReply]:
    """One chat call (under ``limit``, if given): ``(result, reply)``, or ``(None, reply)`` with the
    error recorded when the step failed. Fatal errors and anything that is no LLM error raise."""
    t0 = time.perf_counter()
    try:
        async with limit if limit is not None else contextlib.nullcontext():
            res = await model.chat(messages, schema=schema, sampling=sampling, cache_key_extra=cache_key_extra)
    except Exception as exc:
        if not is_step_error(exc):
            raise
        raws = getattr(exc, "raw_texts", None)
        usage = getattr(exc, "usage", None)
        return None, StepReply(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            raw=getattr(exc, "raw_text", None) or None,
            raw_attempts=list(raws) if raws and len(raws) > 1 else None,
            error=first_line(exc),
            attempts=int(getattr(exc, "attempts", 0) or 0),
            seconds=round(time.perf_counter() - t0, 3),
            structured_output=getattr(exc, "structured_output", None),
        )
    raws = res.extra.get("raw_texts") if isinstance(res.extra, dict) else None
    return res, StepReply(
        raw=res.text,
        raw_attempts=list(raws) if raws else None,
        parsed=res.parsed.model_dump(mode="json") if res.parsed is not None else None,
        attempts=res.attempts,
        cached=res.cached,
        prompt_tokens=res.usage.prompt_tokens,
        completion_tokens=res.usage.completion_tokens,
        seconds=round(time.perf_counter() - t0, 3),
        finish_reason=res.extra.get("finish_reason") if isinstance(res.extra, dict) else None,
        structured_output=res.extra.get("structured_output") if isinstance(res.extra, dict) else None,
    )


def structured_counts(replies: Iterable[StepReply]) -> dict[str, int]:
    """``{mode: replies}``: the structured-output modes that produced ``replies`` (cached ones included,
    with the mode recorded when they were made); replies of calls without a schema are left out."""
    counts = Counter(r.structured_output for r in replies if r.structured_output)
    return dict(sorted(counts.items()))
