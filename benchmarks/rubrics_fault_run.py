"""Closing measurement for `rubrics generate`: 20 real Clotho clips against the fake OpenAI server
with faults injected (500, 429, slow replies, dropped connections, invalid JSON), then reruns.

    uv run python benchmarks/rubrics_fault_run.py [--clotho ../shared/data/clotho] [--json out.json]

Phases: (A) a fresh deterministic run over 20 clips (captions from the shared Clotho CSV, baseline
captions from projects/make_rubrics/sample_baseline_evaluation.csv); (B) the same command again
(resume: nothing to do); (C) the same run with --overwrite (replies come from the response cache,
failed calls are retried); (D) three stochastic runs in parallel; (E) the five real evaluation
clips with audio through the audio model path. Everything runs on 127.0.0.1; the real openai
client, retry, repair and cache code paths are used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions, SamplingOptions, default_model_factory
from lalm_bench.llm.testserver import FaultInjector, ScriptedOpenAIServer
from lalm_bench.rubrics.common.clips import ClipSelection
from lalm_bench.rubrics.common.fakes import RubricLLM
from lalm_bench.rubrics.generate.config import GenerateConfig
from lalm_bench.rubrics.generate.job import GenerateJob
from lalm_bench.runs import RunEngine

REPO = Path(__file__).resolve().parents[1]

RATES = {"500": 0.10, "429": 0.10, "slow": 0.05, "drop": 0.03, "invalid": 0.08}
FAST = {"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "jitter_s": 0.05}


def run_phase(name: str, server, injector, cfg: GenerateConfig, output: OutputOptions) -> dict:
    models = []

    def factory(spec: str, llm: LLMOptions):
        m = default_model_factory(spec, llm)
        models.append(m)
        return m

    import asyncio

    n0, counts0 = len(server.requests), dict(injector.counts)
    t0 = time.perf_counter()
    pipe = GenerateJob(cfg, output)
    error = None
    with RunEngine(pipe, factory) as engine:
        engine.prepare()
        try:
            asyncio.run(engine.run())
        except Exception as exc:  # a fatal error is part of the measurement, not a crash
            error = f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - t0
    summary = pipe.result().model_dump()
    faults = {k: v - counts0.get(k, 0) for k, v in injector.counts.items() if v - counts0.get(k, 0)}
    stats = {}
    for m in models:
        for k, v in m.stats.as_dict().items():
            stats[k] = stats.get(k, 0) + v
    return {
        "phase": name,
        "wall_s": round(wall, 2),
        "server_requests": len(server.requests) - n0,
        "server_replies_by_kind": faults,
        "pipeline": summary["total"],
        "runs": [
            {k: r[k] for k in ("run", "done", "clips", "ok", "failed", "calls", "cache_hits", "retries")}
            for r in summary["runs"]
        ],
        "llm_stats": stats,
        "failed_clips": _failures(pipe),
        "error": error,
    }


def kill_phase(server, llm, base: dict, out: Path) -> dict:
    """kill -9 the CLI mid-run (slow replies), rerun the same command; count what was repeated."""
    import signal
    import subprocess

    out = out / "kill"
    cmd = [
        sys.executable, "-c", "import sys; from lalm_bench.cli import main; main(sys.argv[1:])",
        "rubrics", "generate", "--csv", str(base["csv"]), "--limit", "20", "--baseline-file",
        str(base["baseline_file"]), "--rubric-model", base["rubric_model"], "--base-url", server.base_url,
        "--output-dir", str(out), "--run-name", "kill", "--mode", "stochastic", "--runs", "2",
        "--timeout", "10", "--quiet",
    ] + [x for k, v in base["model_options"].items() for x in ("--llm-option", f"{k}={v}")]  # fmt: skip
    log0 = out / "stoch" / "kill_0" / "log.jsonl"
    env = dict(os.environ)
    llm.delay_s, mark = 0.2, len(llm.log)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None and not (log0.exists() and log0.read_bytes().count(b"\n") >= 6):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logged = {}
    for k, seed in enumerate((42, 43)):
        lines = (out / "stoch" / f"kill_{k}" / "log.jsonl").read_text().splitlines()
        logged[seed] = {json.loads(x)["clip"] for x in lines if x.endswith("}")}
    at_kill, n0 = len(llm.log), len(server.requests)
    llm.delay_s = 0.0
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, env=env, capture_output=True, text=True).returncode
    after = llm.log[at_kill:]
    answered = llm.log[mark:]
    final = [(out / "stoch" / f"kill_{k}" / "log.jsonl").read_text().splitlines() for k in range(2)]
    return {
        "phase": "F kill -9 mid-run, rerun",
        "rerun_exit_code": rc,
        "rerun_wall_s": round(time.perf_counter() - t0, 2),
        "records_at_kill": {str(s): len(v) for s, v in logged.items()},
        "records_after_rerun": [len(f) for f in final],
        "distinct_clips_after_rerun": [len({json.loads(x)["clip"] for x in f}) for f in final],
        "server_requests_after_restart": len(server.requests) - n0,
        "requests_after_restart_for_clips_logged_before_kill": sum(c in logged.get(s, ()) for _, c, s in after),
        "requests_before_kill_for_unlogged_clips": [
            list(x) for x in llm.log[mark:at_kill] if x[1] not in logged.get(x[2], ())
        ],
        "requests_sent_twice": [list(x) for x in set(answered) if answered.count(x) > 1],
    }


def _failures(pipe: GenerateJob) -> list[str]:
    return [
        f"{run.name}/{r.clip}: {r.failed_step}: {r.error}"
        for run in pipe.runs
        for r in run.records[run.resumed :]
        if r.status == "failed"
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clotho", type=Path, default=REPO.parent / "shared" / "data" / "clotho")
    ap.add_argument("--out", type=Path, default=None, help="Output folder (default: a temporary one).")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0, help="Fault injection seed.")
    args = ap.parse_args()
    csv = args.clotho / "clotho_captions_evaluation.csv"
    if not csv.is_file():
        sys.exit(f"{csv} not found")
    out = args.out or Path(tempfile.mkdtemp(prefix="rubrics-faults-"))
    os.environ["LALM_BENCH_LLM_CACHE"] = str(out / "llm-cache.sqlite")
    os.environ.pop("OPENAI_API_KEY", None)

    import pandas as pd

    captions = pd.read_csv(csv, keep_default_na=False, dtype=str)
    llm = RubricLLM({c: row.file_name for row in captions.itertuples() for c in row[2:]})
    injector = FaultInjector(llm, RATES, seed=args.seed, slow_s=1.5)
    base = dict(
        csv=csv, rubric_model="openai/Qwen/Qwen3-Omni-30B-A3B-Instruct",
        baseline_file=REPO / "projects" / "make_rubrics" / "sample_baseline_evaluation.csv", model_options=FAST,
    )  # fmt: skip
    output = OutputOptions(out, quiet=True)
    results = []
    with ScriptedOpenAIServer(injector) as server:
        base["base_url"] = server.base_url
        llm_options = LLMOptions(
            base_urls=(server.base_url,), timeout=10.0, max_retries=4, concurrency=8, provider_options=FAST
        )
        clips = ClipSelection(csv=csv, limit=20)

        def config(**kw) -> GenerateConfig:
            kw.setdefault("baseline_file", base["baseline_file"])
            return GenerateConfig(
                clips=kw.pop("clips", clips), rubric_model=base["rubric_model"], llm=llm_options, **kw
            )

        stochastic = {"mode": "stochastic", "sampling": SamplingOptions(temperature=0.8), "runs": 3}
        overwrite = OutputOptions(out, quiet=True, overwrite=True)
        results.append(run_phase("A fresh run, faults on", server, injector, config(), output))
        results.append(run_phase("B same command (resume)", server, injector, config(), output))
        results.append(run_phase("C --overwrite (cache)", server, injector, config(), overwrite))
        results.append(run_phase("D 3 stochastic runs", server, injector, config(**stochastic), output))
        for attempt in range(1, 4):  # a fatal error (e.g. unreachable after the retries) stops the job:
            if not results[-1]["error"]:  # the same command resumes it
                break
            phase = f"D{attempt} same command (resume)"
            results.append(run_phase(phase, server, injector, config(**stochastic), output))
        audio_dir = args.clotho / "audio" / "evaluation"
        if audio_dir.is_dir():
            for f in sorted(audio_dir.glob("*.wav")):
                llm.register_audio(f.name, f.read_bytes())
            audio_clips = ClipSelection(csv=csv, limit=5, audio_dir=audio_dir)
            cfg = config(clips=audio_clips, baseline_file=None, run_name="audio", audio_model="openai/omni")
            results.append(
                run_phase("E 5 real clips, audio model", server, injector, replace(cfg, rubric_with_audio=True), output)
            )
        results.append(kill_phase(server, llm, base, out))
    for r in results:
        if "pipeline" not in r:
            print(json.dumps(r, indent=1))
            continue
        p, s = r["pipeline"], r["llm_stats"]
        print(
            f"{r['phase']:<30} {r['wall_s']:>6.1f}s  server requests {r['server_requests']:>3} "
            f"{r['server_replies_by_kind']}\n{'':<32}"
            f"clips {p['processed']:>3} ok {p['ok']:>3} failed {p['failed']:>2}"
            f" | chat calls {s.get('requests', 0):>3} cache hits {s.get('cache_hits', 0):>3}"
            f" http attempts {s.get('http_attempts', 0):>3} retries {s.get('retries', 0):>3}"
            f" repairs {s.get('repairs', 0):>2} call failures {s.get('failures', 0):>2}"
        )
        for f in r["failed_clips"]:
            print(f"{'':<32}failed: {f}")
        if r["error"]:
            print(f"{'':<32}error: {r['error']}")
    print(f"outputs in {out}")
    if args.json:
        args.json.write_text(json.dumps({"rates": RATES, "phases": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
