"""Throughput and resume latency of `lalm-bench predict` against the loopback OpenAI server.

    uv run python benchmarks/predict.py [--latency 0.2] [--json out.json] [--quick]

(A) Throughput: items/s of the real `predict` command (library call, warm imports, --quiet, response
cache off) against `ScriptedOpenAIServer` answering every request after a simulated latency (200 ms), at
--concurrency 1, 8 and 32, on synthetic 1-s 16 kHz WAVs (20 items per unit of concurrency, at least 40).
A plain asyncio + openai script sending the same requests at the same concurrency (no logs, no cache, no
manifests, audio read once beforehand) is the baseline. Target: 32 vs 1 >= 20x (ideal 32x).

(B) Resume: a benchmark of N items (5,305 like MMAU-Pro) of which N - 305 are logged; the same command is
started again as a fresh process and the time from its start to the first request the server receives is
measured (imports, reading the benchmark and the log, checking every audio path, building the model).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions
from lalm_bench.llm.testserver import RecordedRequest, Reply, ScriptedOpenAIServer, completion
from lalm_bench.predict.command import predict_command
from lalm_bench.predict.config import PredictConfig

REPO = Path(__file__).resolve().parents[1]


def make_benchmark(folder: Path, n: int, seconds: float) -> Path:
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rate = 16000
    t = np.arange(round(seconds * rate)) / rate
    with open(folder / "bench.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n):
            name = f"clip{i:05d}.wav"
            if not (audio / name).exists():
                sf.write(audio / name, 0.3 * np.sin(2 * np.pi * (200 + i % 500) * t), rate, subtype="PCM_16")
            row = {"id": f"item{i:05d}", "audio_path": name, "question": f"What is heard in clip {i}?",
                   "choices": ["a tone", "a voice", "silence"], "category": f"cat{i % 4}"}  # fmt: skip
            fh.write(json.dumps(row) + "\n")
    return folder / "bench.jsonl"


class Responder:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.first: float | None = None

    def __call__(self, req: RecordedRequest) -> Reply:
        if self.first is None:
            self.first = time.time()
        return completion("a tone", prompt_tokens=30, completion_tokens=2, delay_s=self.latency)


def run_predict_once(bench: Path, out: Path, url: str, concurrency: int, condition: str, limit: int) -> float:
    cfg = PredictConfig(
        benchmark=bench,
        audio_root=bench.parent / "audio",
        model="openai/m",
        conditions=(condition,),
        limit=limit,
        llm=LLMOptions(base_urls=(url,), concurrency=concurrency, use_cache=False),
    )
    t0 = time.perf_counter()
    predict_command(cfg, OutputOptions(out, overwrite=True, quiet=True))
    return time.perf_counter() - t0


async def plain(bench: Path, url: str, concurrency: int, limit: int) -> float:
    """The baseline: the same requests with the openai client and a semaphore, nothing else."""
    from openai import AsyncOpenAI

    rows = [json.loads(x) for x in bench.read_text().splitlines()][:limit]
    audio = {r["id"]: base64.b64encode((bench.parent / "audio" / r["audio_path"]).read_bytes()).decode() for r in rows}
    client = AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(r: dict) -> str:
        content = [{"type": "input_audio", "input_audio": {"data": audio[r["id"]], "format": "wav"}},
                   {"type": "text", "text": r["question"]}]  # fmt: skip
        async with sem:
            resp = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": content}], temperature=0.0
            )
        return resp.choices[0].message.content or ""

    t0 = time.perf_counter()
    await asyncio.gather(*(one(r) for r in rows))
    wall = time.perf_counter() - t0
    await client.close()
    return wall


def throughput(tmp: Path, latency: float, levels: list[int]) -> list[dict]:
    n_max = max(40, 20 * max(levels))
    bench = make_benchmark(tmp / "tp", n_max, 1.0)
    rows = []
    with ScriptedOpenAIServer(Responder(latency)) as server:
        run_predict_once(bench, tmp / "warm.parquet", server.base_url, 4, "audio", 8)  # imports, caches warm
        for c in levels:
            n = max(40, 20 * c)
            for cond in ("audio", "noise") if c == max(levels) else ("audio",):
                wall = run_predict_once(bench, tmp / f"c{c}_{cond}.parquet", server.base_url, c, cond, n)
                rows.append({"variant": f"predict --condition {cond}", "concurrency": c, "items": n,
                             "wall_s": round(wall, 3), "items_per_s": round(n / wall, 2)})  # fmt: skip
            wall = asyncio.run(plain(bench, server.base_url, c, n))
            rows.append({"variant": "plain openai script", "concurrency": c, "items": n, "wall_s": round(wall, 3),
                         "items_per_s": round(n / wall, 2)})  # fmt: skip
            print(rows[-2] if c != max(levels) else rows[-3:], flush=True)
    return rows


def resume(tmp: Path, n: int, done: int) -> dict:
    bench = make_benchmark(tmp / "resume", n, 0.2)
    out = tmp / "resume" / "p.parquet"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    responder = Responder(0.0)
    with ScriptedOpenAIServer(responder) as server:
        cmd = [sys.executable, "-m", "lalm_bench", "predict", "--benchmark", str(bench), "--model", "openai/m",
               "--audio-root", str(bench.parent / "audio"),
               "--base-url", server.base_url, "--condition", "noise", "--output", str(out), "--quiet",
               "--concurrency", "32", "--no-llm-cache"]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--limit", str(done)], env=env, check=True, capture_output=True)
        first_run = time.perf_counter() - t0
        responder.first = None
        n_before = len(server.requests)
        start = time.time()
        proc = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
        end = time.time()
        assert responder.first is not None and len(server.requests) - n_before == n - done
    help_start = time.time()
    subprocess.run([sys.executable, "-m", "lalm_bench", "predict", "--help"], env=env, check=True, capture_output=True)
    return {
        "items": n,
        "logged_before": done,
        "first_run_s": round(first_run, 2),
        "first_run_items_per_s": round(done / first_run, 1),
        "resume_to_first_request_s": round(responder.first - start, 3),
        "resume_total_s": round(end - start, 3),
        "python_start_and_help_s": round(time.time() - help_start, 3),
        "stderr": proc.stderr.strip()[-300:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--quick", action="store_true", help="concurrency 1 and 8 only; 1,000 items for resume")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    levels = [1, 8] if args.quick else [1, 8, 32]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = throughput(tmp, args.latency, levels)
        by = {(r["variant"], r["concurrency"]): r["items_per_s"] for r in rows}
        top = max(levels)
        ratio = by[("predict --condition audio", top)] / by[("predict --condition audio", 1)]
        print(f"\nthroughput ratio {top} vs 1: {ratio:.1f}x (ideal {top}x)")
        res = resume(tmp, 1000 if args.quick else 5305, 700 if args.quick else 5000)
        print(json.dumps(res, indent=1))
    print("\n| variant | concurrency | items | wall s | items/s | x predict@1 |\n|---|---:|---:|---:|---:|---:|")
    base = by[("predict --condition audio", 1)]
    for r in rows:
        print(f"| {r['variant']} | {r['concurrency']} | {r['items']} | {r['wall_s']} | {r['items_per_s']} | "
              f"{r['items_per_s'] / base:.1f} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"latency_s": args.latency, "throughput": rows, "ratio": ratio,
                                         "resume": res}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
