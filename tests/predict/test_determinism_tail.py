"""The temperature-0 re-asks start in the run's tail, while the last items are in flight, and re-ask the same
items as a check after the run would: the first fresh answers in benchmark order."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from lalm_bench.llm.testserver import RecordedRequest, Reply, ScriptedOpenAIServer, completion
from tests.predict.helpers import question_of, synthetic_benchmark

SLOW_S = 1.0


class SlowOne:
    """Answers at once, except item ``slow`` (first ask only: ``SLOW_S``); keeps when each question arrived
    and when the slow answer left."""

    def __init__(self, slow: int) -> None:
        self.slow = f"Question number {slow}:"
        self.arrivals: list[tuple[str, float]] = []
        self.slow_replied: float | None = None
        self._lock = threading.Lock()

    def __call__(self, req: RecordedRequest) -> Reply:
        q = question_of(req)
        with self._lock:
            first = all(a != q for a, _ in self.arrivals)
            self.arrivals.append((q, time.monotonic()))
        if q.startswith(self.slow) and first:
            time.sleep(SLOW_S)
            self.slow_replied = time.monotonic()
        return completion(f"An answer to: {q}")

    def asked_again(self) -> list[tuple[str, float]]:
        seen: set[str] = set()
        again = []
        for q, t in self.arrivals:
            if q in seen:
                again.append((q.split(":")[0], t))
            seen.add(q)
        return again


def _predict(run_cli, bench: Path, url: str, out: Path):
    return run_cli(
        "predict", "--benchmark", bench, "--model", "openai/fake", "--base-url", url, "--condition", "none",
        "--concurrency", "8", "--output", out, "--llm-cache", out.parent / "cache.sqlite",
    )  # fmt: skip


@pytest.mark.parametrize("slow", [39, 1])
def test_re_asks_start_in_the_tail_and_choose_the_first_answers(run_cli, tmp_path, slow):
    bench = synthetic_benchmark(tmp_path, 40)
    responder = SlowOne(slow)
    with ScriptedOpenAIServer(responder) as server:
        res = _predict(run_cli, bench, server.base_url, tmp_path / "p.parquet")
        assert len(server.requests) == 40 + 3
    assert res.exit_code == 0, res.stderr
    again = responder.asked_again()
    assert sorted(q for q, _ in again) == ["Question number 0", "Question number 1", "Question number 2"]
    when = dict(again)
    assert responder.slow_replied is not None
    if slow == 39:  # the last item dispatched: all three re-asked while it is in flight
        assert all(t < responder.slow_replied for t in when.values())
    else:  # item 1 still in flight: item 0 re-asked at once, items 1 and 2 only once item 1 is answered
        assert when["Question number 0"] < responder.slow_replied
        assert when["Question number 1"] >= responder.slow_replied
        assert when["Question number 2"] >= responder.slow_replied
    check = json.loads((tmp_path / "p_none.manifest.json").read_text())["canary"]["determinism"]
    assert check["checked"] is True and check["asked"] == 3 and check["compared"] == 3
    assert check["deterministic"] is True and check["condition"] == "none"
