"""Many concurrent structured calls against a server injecting faults: every fault is absorbed."""

from __future__ import annotations

import asyncio
import json

from lalm_bench.llm import LLMError, Message, ResponseCache
from lalm_bench.llm.testserver import FaultInjector, completion
from tests.llm.helpers import Criteria, model_for, run


def test_concurrent_calls_survive_injected_faults(server, tmp_path):
    def answer(req):
        clip = req.messages[0]["content"]  # the repair retry appends messages; the clip stays first
        return completion(json.dumps({"items": [{"text": clip, "weight": 1}]}))

    faults = FaultInjector(
        answer, {"500": 0.1, "429": 0.1, "drop": 0.05, "slow": 0.03, "invalid": 0.1}, seed=1, slow_s=3.0
    )
    server.responder = faults
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = model_for(server, cache=cache, concurrency=4, timeout=0.5, max_attempts=8)

    async def all_calls():
        return await asyncio.gather(
            *(model.chat([Message.text("user", f"clip {i}")], schema=Criteria) for i in range(40)),
            return_exceptions=True,
        )

    results = run(all_calls())
    failed = [r for r in results if isinstance(r, LLMError)]
    ok = [r for r in results if not isinstance(r, BaseException)]
    assert len(ok) + len(failed) == 40
    # a call fails only when both its reply and its repair were invalid
    assert all("repair" in str(e) for e in failed)
    assert [r.parsed.items[0].text for r in ok] == [
        f"clip {i}" for i, r in enumerate(results) if not isinstance(r, BaseException)
    ]
    s = model.stats
    transport_faults = sum(faults.counts[k] for k in ("500", "429", "drop", "slow"))
    assert sum(faults.counts.values()) == len(server.requests) == s.http_attempts
    assert s.retries == transport_faults > 0
    assert faults.counts["invalid"] == s.repairs + s.failures and s.repairs > 0
    assert s.completions == 40 + s.repairs and s.failures == len(failed)
    assert len(cache) == len(ok)  # failures are not cached

    server.clear()
    again = run(all_calls())  # the rerun is served from the cache, and retries only what failed
    assert sum(1 for r in again if not isinstance(r, BaseException) and r.cached) == len(ok)
    assert s.cache_hits == len(ok)
