"""CPU per request of the transport's ``send`` (issue 21): N answered requests against one loopback server.

The server runs in its own process (``benchmarks/predict.py --serve fixed 0 0``: no latency), so the CPU
measured (``time.process_time`` of this process) is the client's: openai + httpx + ``send``. Run it once per
checkout to compare (``PYTHONPATH=<checkout>/src`` selects which ``lalm_bench`` is imported)::

    uv run --no-sync python benchmarks/transport_send.py --n 2000 --reps 5
    PYTHONPATH=<other checkout>/src uv run --no-sync python benchmarks/transport_send.py --n 2000 --reps 5

``--profile`` prints cProfile's top entries of one repetition instead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path


async def _sends(url: str, n: int, concurrency: int) -> tuple[float, float]:
    """``n`` answered requests, ``concurrency`` at once; (CPU s, wall s) of this process."""
    import openai

    from lalm_bench.llm.chat_model import LLMStats
    from lalm_bench.llm.openai_transport import Endpoint, RetryPolicy, send

    endpoint = Endpoint("bench/m", "m", url, "OPENAI_API_KEY", 30.0, RetryPolicy(), key_is_dummy=True)
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, timeout=30.0)
    stats = LLMStats()
    payload = [{"role": "user", "content": [{"type": "text", "text": "Which is it? A or B"}]}]
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            await send(endpoint, client, payload, {"temperature": 0.0, "max_tokens": 16}, stats=stats)

    await asyncio.gather(*(one() for _ in range(min(n, 50))))  # connections and imports warm
    c0, w0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    await client.close()
    assert stats.retries == 0
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="requests per repetition")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--profile", action="store_true", help="cProfile one repetition, print the top entries")
    args = ap.parse_args()
    import lalm_bench

    here = Path(__file__).parent
    server = subprocess.Popen(
        [sys.executable, str(here / "predict.py"), "--serve", "fixed", "0", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()  # type: ignore[union-attr]
        print(f"lalm_bench from {Path(lalm_bench.__file__).parent}; server {url}")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(asyncio.run, _sends(url, args.n, args.concurrency))
            pstats.Stats(prof).sort_stats("cumulative").print_stats(r"openai_transport|tenacity", 15)
            return
        cpus = []
        for _ in range(args.reps):
            cpu, wall = asyncio.run(_sends(url, args.n, args.concurrency))
            cpus.append(cpu / args.n * 1e3)
            print(f"  {args.n} requests: CPU {cpu / args.n * 1e3:.3f} ms/request, wall {wall:.2f} s")
        print(f"CPU ms/request: median {statistics.median(cpus):.3f} (min {min(cpus):.3f}, max {max(cpus):.3f})")
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()


if __name__ == "__main__":
    main()
