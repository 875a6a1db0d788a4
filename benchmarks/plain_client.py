"""The bare client of ``benchmarks/predict.py compare``: a plain asyncio + openai script, nothing else.

    python benchmarks/plain_client.py BENCH.jsonl AUDIO_ROOT OUT.jsonl --concurrency 32 --base-url URL [...]

Reads the benchmark, and for every item reads its WAV, base64-encodes it and sends the same request as
``predict`` (an ``input_audio`` part and the question) to the server with the fewest requests in flight,
at most ``--concurrency`` per server; writes one JSON line per answer at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
from pathlib import Path


async def main(args: argparse.Namespace) -> None:
    from openai import AsyncOpenAI

    rows = [json.loads(x) for x in Path(args.bench).read_text().splitlines()]
    root = Path(args.audio_root)
    clients = [AsyncOpenAI(base_url=u, api_key="EMPTY", max_retries=0) for u in args.base_url]
    sems = [asyncio.Semaphore(args.concurrency) for _ in clients]
    load = [0] * len(clients)

    async def one(r: dict) -> dict:
        i = min(range(len(clients)), key=load.__getitem__)
        load[i] += 1
        try:
            async with sems[i]:
                data = base64.b64encode((root / r["audio_path"]).read_bytes()).decode()
                content = [{"type": "input_audio", "input_audio": {"data": data, "format": "wav"}},
                           {"type": "text", "text": r.get("prompt", r["question"])}]  # fmt: skip
                resp = await clients[i].chat.completions.create(
                    model="m", messages=[{"role": "user", "content": content}], temperature=0.0
                )
        finally:
            load[i] -= 1
        return {"id": r["id"], "output": resp.choices[0].message.content}

    out = await asyncio.gather(*(one(r) for r in rows))
    for c in clients:
        await c.close()
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(o) + "\n" for o in out)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("audio_root")
    ap.add_argument("out")
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--base-url", action="append", required=True)
    asyncio.run(main(ap.parse_args()))
