"""The first attempt is sent outside the retry loop: what a failure of it leads to must equal the loop's rules
(attempt numbers, waits, Retry-After, the repeated-failure rule, counts, log lines, messages)."""

from __future__ import annotations

import logging
import time

import pytest

from lalm_bench.llm import LLMRateLimitError, LLMRequestError, LLMServerError, Message
from lalm_bench.llm.testserver import error
from tests.llm.helpers import model_for, run


def ask(model, text="hi"):
    return run(model.chat([Message.text("user", text)]))


def test_first_attempt_answered_counts_one_attempt_no_retry(server):
    server.script("fine")
    model = model_for(server)
    result = ask(model)
    assert result.text == "fine" and result.attempts == 1
    assert model.stats.retries == 0 and model.stats.http_attempts == 1


def test_first_attempt_not_retryable_is_raised_at_once(server, caplog):
    server.script(error(400, "bad request"))
    model = model_for(server)
    with caplog.at_level(logging.INFO, logger="lalm_bench.llm"), pytest.raises(LLMRequestError) as info:
        ask(model)
    assert len(server.requests) == 1 and info.value.attempts == 1 and info.value.status_code == 400
    assert model.stats.retries == 0 and model.stats.http_attempts == 1
    assert "retrying" not in caplog.text


def test_first_attempt_retryable_then_answered_logs_attempt_one(server, caplog):
    server.script(error(503, "busy"), "fine")
    model = model_for(server)
    with caplog.at_level(logging.INFO, logger="lalm_bench.llm"):
        result = ask(model)
    assert result.text == "fine" and result.attempts == 2
    assert model.stats.retries == 1 and model.stats.http_attempts == 2
    retried = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retried) == 1 and ": attempt 1 failed (" in retried[0] and "503" in retried[0]


def test_retry_after_of_the_first_failure_is_honoured(server, caplog):
    server.script(error(429, "slow down", retry_after=0.4), "fine")
    model = model_for(server, backoff_max_s=5.0)  # Retry-After is capped at backoff_max_s
    t0 = time.perf_counter()
    with caplog.at_level(logging.INFO, logger="lalm_bench.llm"):
        result = ask(model)
    assert time.perf_counter() - t0 >= 0.4
    assert result.text == "fine" and result.attempts == 2
    assert any("attempt 1 failed" in r.getMessage() and "retrying in 0.40 s" in r.getMessage() for r in caplog.records)


def test_the_same_5xx_twice_stops_at_the_second_attempt(server):
    server.script(error(500, "model crashed"), error(500, "model crashed"), "never asked")
    model = model_for(server, max_attempts=5)
    with pytest.raises(LLMServerError, match=r"after 2 attempts, the same error twice") as info:
        ask(model)
    assert len(server.requests) == 2 and info.value.attempts == 2
    assert model.stats.retries == 1 and model.stats.http_attempts == 2


def test_different_5xx_bodies_are_retried(server):
    server.script(error(500, "one"), error(500, "two"), "fine")
    model = model_for(server, max_attempts=5)
    assert ask(model).attempts == 3


def test_one_attempt_allowed_a_retryable_first_failure_is_final(server):
    server.script(error(429, "slow down", retry_after=0), "never asked")
    model = model_for(server, max_attempts=1)
    with pytest.raises(LLMRateLimitError, match=r"after 1 attempt:") as info:
        ask(model)
    assert len(server.requests) == 1 and info.value.attempts == 1
    assert model.stats.retries == 0 and model.stats.http_attempts == 1
