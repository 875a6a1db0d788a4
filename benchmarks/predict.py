"""Throughput and resume latency of `lalm-bench predict` against the loopback OpenAI server.

    uv run python benchmarks/predict.py [--latency 0.2] [--json out.json] [--quick]
    uv run python benchmarks/predict.py --compare [--reps 3] [--markdown out.md] [--json out.json]

(C) ``--compare``: `predict` against a bare asyncio + openai client (``benchmarks/plain_client.py``), both
as whole processes, interleaved, several repetitions; see :func:`compare`.

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
    """``n`` items with their own clip of ``seconds`` (sines of different pitch); each row also holds the
    prompt `predict` renders for it, so that the bare client sends the same text."""
    from lalm_bench.predict.prompts import load_template

    template = load_template(None)
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
            row["prompt"] = template.render(row["question"], row["choices"], row["category"])
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
    ap.add_argument("--compare", action="store_true", help="(C): predict vs the bare client, whole processes")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--seconds", type=float, nargs="+", default=[1.0, 30.0])
    ap.add_argument("--modes", nargs="+", default=["fixed", "batching"], choices=["fixed", "batching"])
    ap.add_argument("--per-request", type=float, default=0.0025, help="batching: seconds added per request in flight")
    ap.add_argument("--spread-latency", type=float, default=1.0, help="the 4-server comparison's fixed latency")
    ap.add_argument("--no-spread", action="store_true")
    ap.add_argument("--items-scale", type=float, default=1.0, help="multiply the item counts (quick looks)")
    ap.add_argument("--variants", nargs="+", default=["plain", "predict"], choices=list(VARIANTS))
    ap.add_argument("--before-src", type=Path, help="src/ of another checkout, for --variants predict-before")
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("--serve", nargs=3, metavar=("MODE", "BASE_S", "PER_REQUEST_S"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], float(args.serve[1]), float(args.serve[2]))
        return
    if args.compare:
        compare(args)
        return
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


# ---- (C) predict vs the bare client ------------------------------------------------------------------

#: What each variant runs: a fresh process over the same benchmark file and servers.
VARIANTS = {
    "plain": "bare asyncio + openai script (benchmarks/plain_client.py)",
    "predict": "lalm-bench predict --condition audio --quiet (response cache on, a fresh cache file)",
    "predict-before": "the same command from the source tree given with --before-src (e.g. a checkout of main)",
}


class _Timing:
    """A responder that remembers the first arrival and the last reply time; a request for the model
    ``__stats__`` answers with them (as JSON content) and starts over."""

    def __init__(self, mode: str, base_s: float, per_request_s: float) -> None:
        from lalm_bench.llm.testserver import BatchingLatency

        self.first: float | None = None
        self.last = 0.0
        self.count = 0
        self.lock = __import__("threading").Lock()
        self.delay = BatchingLatency(base_s, per_request_s if mode == "batching" else 0.0)

    def __call__(self, req: RecordedRequest) -> Reply:
        if (req.body or {}).get("model") == "__stats__":
            with self.lock:
                out = {"first": self.first, "last": self.last, "count": self.count}
                self.first, self.last, self.count = None, 0.0, 0
            return completion(json.dumps(out))
        reply = self.delay(req)
        now = time.time()
        with self.lock:
            self.first = now if self.first is None else min(self.first, now)
            self.last = max(self.last, now + reply.delay_s)
            self.count += 1
        return completion("a tone", prompt_tokens=30, completion_tokens=2, delay_s=reply.delay_s)


def serve(mode: str, base_s: float, per_request_s: float) -> None:
    """One loopback server in this process until stdin closes; prints its base URL."""
    server = ScriptedOpenAIServer(_Timing(mode, base_s, per_request_s), check_audio=False)
    server.record = False
    with server:
        print(server.base_url, flush=True)
        sys.stdin.read()


class Servers:
    """``n`` loopback servers, each its own process (their CPU does not share the client's GIL)."""

    def __init__(self, n: int, mode: str, base_s: float, per_request_s: float) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--serve", mode, str(base_s), str(per_request_s)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        self.urls = [p.stdout.readline().strip() for p in self.procs]  # type: ignore[union-attr]

    def stats(self) -> dict:
        """First arrival, last reply and requests over every server since the last call (and start over)."""
        import urllib.request

        got = []
        for url in self.urls:
            body = json.dumps({"model": "__stats__", "messages": [{"role": "user", "content": "x"}]}).encode()
            req = urllib.request.Request(url + "/chat/completions", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req) as resp:
                got.append(json.loads(json.loads(resp.read())["choices"][0]["message"]["content"]))
        firsts = [g["first"] for g in got if g["first"] is not None]
        return {"span_s": (max(g["last"] for g in got) - min(firsts)) if firsts else 0.0,
                "count": sum(g["count"] for g in got)}  # fmt: skip

    def close(self) -> None:
        for p in self.procs:
            p.stdin.close()  # type: ignore[union-attr]
            p.wait()


def _run(cmd: list[str], env: dict[str, str]) -> dict:
    """Run ``cmd``; wall time and CPU seconds (user + sys of the process and its children, ``os.wait4``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} exited {proc.returncode}: {err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def _variant_cmd(variant: str, bench: Path, out: Path, urls: list[str], concurrency: int) -> list[str]:
    if variant == "plain":
        cmd = [sys.executable, str(REPO / "benchmarks" / "plain_client.py"), str(bench), str(bench.parent / "audio"),
               str(out.with_suffix(".jsonl")), "--concurrency", str(concurrency)]  # fmt: skip
        return cmd + [a for u in urls for a in ("--base-url", u)]
    cmd = [sys.executable, "-m", "lalm_bench", "predict", "--benchmark", str(bench), "--model", "openai/m",
           "--audio-root", str(bench.parent / "audio"), "--condition", "audio", "--output", str(out),
           "--quiet", "--concurrency", str(concurrency), "--overwrite"]  # fmt: skip
    return cmd + [a for u in urls for a in ("--base-url", u)]


def _items(concurrency: int, seconds: float, scale: float) -> int:
    """Enough items for 10 rounds of requests (1-s clips: 40 rounds at concurrency 32)."""
    rounds = 40 if seconds <= 1 and concurrency <= 32 else 20 if seconds <= 1 else 8
    return max(concurrency * 2, round(concurrency * rounds * scale))


def compare(args: argparse.Namespace) -> None:
    """Every setting (clip length × latency mode × concurrency, and the 4-server spread) with its own
    servers; per repetition every variant once, the order alternating; items/s = items / whole-process
    wall time, and "requests" items/s = items / (last reply − first request) as the servers saw it."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    # Bytecode of the source trees, once: an installed lalm-bench (or any checkout run once) has it, but a
    # process under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module of the project each time.
    for src in {REPO / "src", *([args.before_src] if args.before_src else [])}:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, stdout=subprocess.DEVNULL)
    rows: list[dict] = []
    settings = [(sec, mode, c, 1, args.latency) for sec in args.seconds for mode in args.modes
                for c in args.concurrency]  # fmt: skip
    if not args.no_spread:
        settings += [(1.0, "fixed", 32, n, args.spread_latency) for n in (1, 4)]
    tmp = Path(tempfile.mkdtemp(prefix="predict-compare-"))
    try:
        for sec, mode, c, n_servers, latency in settings:
            n = _items(c * n_servers, sec, args.items_scale)
            bench = make_benchmark(tmp / f"clips{sec:g}", n, sec)
            lines = bench.read_text().splitlines()[:n]
            sub = bench.with_name(f"bench{n}.jsonl")
            sub.write_text("\n".join(lines) + "\n")
            servers = Servers(n_servers, mode, latency, args.per_request)
            try:
                for rep in range(args.reps):
                    order = args.variants if rep % 2 == 0 else args.variants[::-1]
                    for variant in order:
                        out = tmp / f"out-{variant}.parquet"
                        env["LALM_BENCH_LLM_CACHE"] = str(tmp / f"cache-{time.time_ns()}.sqlite")
                        servers.stats()
                        load = os.getloadavg()[0]
                        src = args.before_src if variant == "predict-before" else REPO / "src"
                        got = _run(_variant_cmd(variant, sub, out, servers.urls, c), {**env, "PYTHONPATH": str(src)})
                        seen = servers.stats()
                        # predict re-asks 3 items at the end (its determinism check, predict/checks.py)
                        assert seen["count"] >= n, (variant, seen, n)
                        row = {"clip_s": sec, "latency": mode, "concurrency": c, "servers": n_servers,
                               "base_latency_s": latency, "variant": variant, "rep": rep, "items": n,
                               "wall_s": round(got["wall_s"], 3), "items_per_s": round(n / got["wall_s"], 2),
                               "requests_items_per_s": round(n / seen["span_s"], 2),
                               "cpu_ms_per_item": round(1000 * got["cpu_s"] / n, 2),
                               "requests": seen["count"], "load": round(load, 1)}  # fmt: skip
                        rows.append(row)
                        print(json.dumps(row), flush=True)
            finally:
                servers.close()
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    table = compare_table(rows, args)
    print(table)
    if args.markdown:
        args.markdown.write_text(table)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "args": {k: str(v) for k, v in vars(args).items()}}, indent=1))


def compare_table(rows: list[dict], args: argparse.Namespace) -> str:
    """Median (min–max) over repetitions per setting and variant; ratios are medians of per-repetition ratios
    (each repetition runs the variants back to back)."""
    import statistics

    def span(xs: list[float], digits: int = 1) -> str:
        if not xs:
            return "–"
        return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"

    def ratios(num: list[dict], den: list[dict], key: str = "items_per_s") -> list[float]:
        return [q[key] / p[key] for p, q in zip(den, num, strict=False)]

    keys: dict[tuple, list[dict]] = {}
    for r in rows:
        keys.setdefault((r["clip_s"], r["latency"], r["concurrency"], r["servers"], r["base_latency_s"]), []).append(r)
    out = [
        "| clip s | server latency | concurrency | servers | items | plain items/s | predict items/s | "
        "predict / plain | requests only: predict / plain | plain CPU ms/item | predict CPU ms/item | "
        "before: predict / plain | before: CPU ms/item | load avg |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (sec, mode, c, ns, lat), rs in keys.items():
        by = {v: [r for r in rs if r["variant"] == v] for v in VARIANTS}
        lat_s = f"{lat:g} s" if mode == "fixed" else f"{lat:g} s + {args.per_request * 1000:g} ms × in flight"
        out.append(
            f"| {sec:g} | {lat_s} | {c} | {ns} | {rs[0]['items']} | {span([r['items_per_s'] for r in by['plain']])} | "
            f"{span([r['items_per_s'] for r in by['predict']])} | {span(ratios(by['predict'], by['plain']), 2)} | "
            f"{span(ratios(by['predict'], by['plain'], 'requests_items_per_s'), 2)} | "
            f"{span([r['cpu_ms_per_item'] for r in by['plain']])} | "
            f"{span([r['cpu_ms_per_item'] for r in by['predict']])} | "
            f"{span(ratios(by['predict-before'], by['plain']), 2)} | "
            f"{span([r['cpu_ms_per_item'] for r in by['predict-before']])} | "
            f"{min(r['load'] for r in rs):.1f}–{max(r['load'] for r in rs):.1f} |"
        )
    spread = {ns: rs for (sec, mode, c, ns, lat), rs in keys.items() if lat == args.spread_latency and c == 32}
    if 1 in spread and 4 in spread:
        out.append("")
        for v in ("plain", "predict"):
            one = statistics.median(r["items_per_s"] for r in spread[1] if r["variant"] == v)
            four = statistics.median(r["items_per_s"] for r in spread[4] if r["variant"] == v)
            out.append(f"- {v}: 4 servers / 1 server = {four / one:.2f}x ({four:.1f} vs {one:.1f} items/s)")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
