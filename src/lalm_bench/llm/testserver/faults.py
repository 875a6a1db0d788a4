"""Responders that wrap another: seeded fault injection and a continuous-batching latency shape."""

from __future__ import annotations

import collections
import random
import threading
from collections.abc import Callable

from lalm_bench.llm.testserver.replies import Reply, as_reply, completion, default_responder, dropped, error
from lalm_bench.llm.testserver.requests import RecordedRequest


class FaultInjector:
    """A responder that answers like ``responder`` but injects faults at seeded random rates.

    ``rates`` maps fault kinds to probabilities: ``500``, ``429`` (with ``Retry-After: 0``),
    ``drop`` (connection closed), ``slow`` (``slow_s`` delay: set it above the client timeout for a
    timeout), ``invalid`` (a 200 reply whose content is not JSON, which triggers the repair
    retry). ``counts`` tallies what was sent (``ok`` for clean replies)."""

    KINDS = ("500", "429", "drop", "slow", "invalid")

    def __init__(
        self,
        responder: Callable[[RecordedRequest], Reply | str | dict],
        rates: dict[str, float],
        *,
        seed: int = 0,
        slow_s: float = 5.0,
    ) -> None:
        unknown = set(rates) - set(self.KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.responder = responder
        self.rates = rates
        self.slow_s = slow_s
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            u = self._rng.random()
        kind = "ok"
        acc = 0.0
        for k in self.KINDS:
            acc += self.rates.get(k, 0.0)
            if u < acc:
                kind = k
                break
        with self._lock:
            self.counts[kind] += 1
        if kind == "500":  # numbered: a transient error, not one that repeats word for word
            return error(500, f"injected server error #{self.counts[kind]}")
        if kind == "429":
            return error(429, "injected rate limit", retry_after=0)
        if kind == "drop":
            return dropped()
        if kind == "invalid":
            return completion("Sorry, I cannot produce JSON right now.")
        reply = as_reply(self.responder(request))
        if kind == "slow":
            reply.delay_s = self.slow_s
        return reply


class BatchingLatency:
    """A responder whose replies take ``base_s + per_request_s * in_flight`` seconds, ``in_flight`` being the
    requests the server holds when the request arrives (itself included): the shape of a continuous-batching
    server (vLLM, SGLang), whose step time grows with the batch. ``responder`` gives the reply."""

    def __init__(
        self,
        base_s: float,
        per_request_s: float,
        responder: Callable[[RecordedRequest], Reply | str | dict] = default_responder,
    ) -> None:
        self.base_s, self.per_request_s, self.responder = base_s, per_request_s, responder

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = as_reply(self.responder(request))
        reply.delay_s += self.base_s + self.per_request_s * request.in_flight
        return reply
