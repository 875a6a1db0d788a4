"""The loopback server's batching latency: replies take longer the more requests it holds."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from lalm_bench.llm.testserver import BatchingLatency, ScriptedOpenAIServer


def _post(url: str) -> float:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(url + "/chat/completions", body, {"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as resp:
        assert json.loads(resp.read())["choices"][0]["message"]["content"] == "ok"
    return time.perf_counter() - t0


def test_latency_grows_with_the_requests_in_flight():
    with ScriptedOpenAIServer(BatchingLatency(0.05, 0.1)) as server:
        alone = _post(server.base_url)
        assert server.requests[0].in_flight == 1 and alone >= 0.15
        threads = [threading.Thread(target=_post, args=(server.base_url,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert max(r.in_flight for r in server.requests) >= 2
        assert server.in_flight == 0
