"""Closing measurement for `rubrics judge`: 20 real Clotho clips (captions from the sample baseline file and
the human references) judged against a rubric, by the scripted judge on the fake OpenAI server with faults
injected (500, 429, slow replies, dropped connections, invalid JSON), then reruns and a kill -9.

    uv run python benchmarks/rubrics_fault_run.py --out /tmp/faults          # makes the rubrics
    uv run python benchmarks/rubrics_judge_run.py --rubric /tmp/faults/deter/run_0 [--out DIR] [--json out.json]

Phases: (A) the judge command, faults on; (B) the same command again (resume: no call); (C) the same with
--cannot-assess fail (a new summary, no call); (D) 3 samples x 2 judges at temperature 0.8 with verdicts
flipped at random by the scripted judge (agreement); (E) kill -9 mid-run, then the same command. Every
run is the real CLI in a subprocess (`python -m lalm_bench rubrics judge ...`), the real openai client,
retry, repair and cache code paths; the commands are printed. The scripted judge decides by key words
(see lalm_bench.rubrics.common.fakes.JudgeLLM): the numbers show the machinery, not the quality of a judge.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lalm_bench.llm.testserver import FaultInjector, ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import JudgeLLM

REPO = Path(__file__).resolve().parents[1]
RATES = {"500": 0.10, "429": 0.10, "slow": 0.05, "drop": 0.03, "invalid": 0.08}
FAST = ["--llm-option", "backoff_initial_s=0.05", "--llm-option", "backoff_max_s=0.5", "--llm-option", "jitter_s=0.05"]


def judge_args(rubric: Path, csv: Path, base_url: str, out: Path, *extra: str) -> list[str]:
    return [
        "rubrics", "judge", "--rubric", str(rubric),
        "--captions", str(REPO / "projects" / "make_rubrics" / "sample_baseline_evaluation.csv"), "--name", "baseline",
        "--references", "--csv", str(csv), "--judge-model", "openai/judge", "--base-url", base_url,
        "--output-dir", str(out), "--timeout", "1", "--quiet", *FAST, *extra,
    ]  # fmt: skip


def run(name: str, server, injector, args: list[str], env: dict) -> dict:
    cmd = [sys.executable, "-m", "lalm_bench", *args]
    n0, counts0 = len(server.requests), dict(injector.counts)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    out = Path(args[args.index("--output-dir") + 1])
    doc = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    faults = {k: v - counts0.get(k, 0) for k, v in injector.counts.items() if v - counts0.get(k, 0)}
    return {
        "phase": name,
        "command": "lalm-bench " + shlex.join(args),
        "exit_code": proc.returncode,
        "stderr": proc.stderr.strip()[-600:],
        "wall_s": round(wall, 2),
        "server_requests": len(server.requests) - n0,
        "server_replies_by_kind": faults,
        "summary": _digest(doc),
    }


def until_done(name: str, server, injector, args: list[str], env: dict) -> list[dict]:
    """The command, then again while it stops on a fatal error (a request whose last attempt met a dropped
    connection counts as "server unreachable", which stops the job): the same command resumes it."""
    out = [run(name, server, injector, args, env)]
    for attempt in range(1, 4):
        if out[-1]["exit_code"] == 0:
            break
        out.append(run(f"{name.split()[0]}{attempt} same command (resume)", server, injector, args, env))
    return out


def _digest(doc: dict | None) -> dict | None:
    if doc is None:
        return None
    systems = {}
    for s in doc["systems"]:
        d = s["score"]
        systems[s["name"]] = {
            "captions": s["captions"],
            "scored": s["scored_captions"],
            "clips": s["scored_clips"],
            "mean": d["mean"],
            "ci95": d.get("ci95"),
            "ci_method": d.get("ci_method"),
            "unscored": s["unscored"],
            "met_rate": s["verdicts"]["met_rate"],
            "cannot_assess_rate": s["verdicts"]["cannot_assess_rate"],
            "coverage": (s.get("coverage") or {}).get("mean"),
            "error_rate": s["verdicts"]["error_rate"],
            "tokens": s["tokens"]["prompt_tokens"] + s["tokens"]["completion_tokens"],
            "by_judge": {j: v["mean"] for j, v in s.get("by_judge", {}).items()} or None,
        }
    ag = doc.get("agreement")
    return {
        "policy": doc["policy"]["cannot_assess"],
        "rubric": {k: doc["rubric"][k] for k in ("label", "kind", "size", "sha256")},
        "excluded_references": len(doc["clips"]["excluded_references"]),
        "systems": systems,
        "differences": [
            {k: d[k] for k in ("a", "b", "n", "difference", "ci95", "ci_method")} for d in doc["differences"]
        ],
        "run": doc["run"],
        "agreement": None
        if not ag
        else {
            "raters": len(ag["raters"]),
            "krippendorff_alpha": ag["overall"]["krippendorff_alpha"]["value"],
            "fleiss_kappa": (ag["overall"]["fleiss_kappa"] or {}).get("value"),
            "unanimous_share": ag["overall"]["unanimous_share"],
            "alpha_applicability": ag["applicability"]["overall"]["krippendorff_alpha"]["value"],
            "alpha_met_not_met": ag["met_not_met"]["overall"]["krippendorff_alpha"]["value"],
        },
    }


def kill_phase(server, llm, args: list[str], env: dict) -> dict:
    """kill -9 the CLI mid-run (slow replies), rerun the same command; count what was repeated."""
    out = Path(args[args.index("--output-dir") + 1])
    log = out / "log.jsonl"
    cmd = [sys.executable, "-m", "lalm_bench", *args]
    llm.delay_s = 0.2
    mark = len(llm.log)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None and not (log.exists() and log.read_bytes().count(b"\n") >= 30):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logged = {json.loads(x)["caption"] for x in log.read_text().splitlines() if x.endswith("}")}
    at_kill, n0 = len(llm.log), len(server.requests)
    llm.delay_s = 0.0
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, env=env, capture_output=True, text=True).returncode
    after = [c for c, *_ in llm.log[at_kill:]]
    before = {c for c, *_ in llm.log[mark:at_kill]}
    lines = log.read_text().splitlines()
    keys = [tuple(json.loads(x)[k] for k in ("system", "clip", "caption_index")) for x in lines]
    return {
        "phase": "E kill -9 mid-run, same command again",
        "command": "lalm-bench " + shlex.join(args),
        "rerun_exit_code": rc,
        "rerun_wall_s": round(time.perf_counter() - t0, 2),
        "records_at_kill": len(logged),
        "records_after_rerun": len(lines),
        "distinct_units_after_rerun": len(set(keys)),
        "server_requests_after_restart": len(server.requests) - n0,
        "requests_after_restart_for_captions_logged_before_kill": sum(c in logged for c in after),
        "captions_asked_before_and_after_the_kill": sorted({c for c in after if c in before}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rubric", type=Path, required=True, help="e.g. the deter/run_0 folder of rubrics_fault_run.py")
    ap.add_argument("--clotho", type=Path, default=REPO.parent / "shared" / "data" / "clotho")
    ap.add_argument("--out", type=Path, default=None, help="Output folder (default: a temporary one).")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=0, help="Fault injection seed.")
    args = ap.parse_args()
    csv = args.clotho / "clotho_captions_evaluation.csv"
    if not csv.is_file():
        sys.exit(f"{csv} not found")
    out = args.out or Path(tempfile.mkdtemp(prefix="rubrics-judge-"))
    env = {**os.environ, "LALM_BENCH_LLM_CACHE": str(out / "llm-cache.sqlite"), "PYTHONPATH": str(REPO / "src")}
    env.pop("OPENAI_API_KEY", None)
    llm = JudgeLLM(flip=0.2)
    injector = FaultInjector(llm, RATES, seed=args.seed, slow_s=1.5)
    results = []
    with ScriptedOpenAIServer(injector) as server:
        base = judge_args(args.rubric, csv, server.base_url, out / "judge", "--plot", str(out / "judge" / "judge.png"))
        results += until_done("A fresh run, faults on", server, injector, base, env)
        results.append(run("B same command (resume)", server, injector, base, env))
        results.append(run("C --cannot-assess fail", server, injector, [*base, "--cannot-assess", "fail"], env))
        several = judge_args(
            args.rubric, csv, server.base_url, out / "samples", "--judge-model", "openai/judge-2",
            "--samples", "3", "--temperature", "0.8",
        )  # fmt: skip
        results += until_done("D 3 samples x 2 judges, T 0.8", server, injector, several, env)
        injector.rates = {}
        # another seed: other criterion orders and evidence, so phase A's cached replies do not serve this run
        kill = judge_args(args.rubric, csv, server.base_url, out / "kill", "--seed", "7")
        results.append(kill_phase(server, llm, kill, env))
    for r in results:
        print(f"\n== {r['phase']}\n{r['command']}")
        s = r.get("summary")
        if s is None:
            print(json.dumps({k: v for k, v in r.items() if k not in ("phase", "command")}, indent=1))
            continue
        print(
            f"exit {r['exit_code']}, {r['wall_s']} s, server requests {r['server_requests']} "
            f"{r['server_replies_by_kind']}; run: {s['run']}"
        )
        for name, x in s["systems"].items():
            ci = x["ci95"]
            print(
                f"  {name:<11} score {x['mean']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}] ({x['ci_method']}), "
                f"{x['scored']}/{x['captions']} captions scored on {x['clips']} clips, unscored {x['unscored']}, "
                f"met {x['met_rate']:.3f}, cannot assess {x['cannot_assess_rate']:.3f}, errors {x['error_rate']:.3f}"
                + (f", by judge {x['by_judge']}" if x["by_judge"] else "")
            )
        for d in s["differences"]:
            print(f"  {d['a']} - {d['b']}: {d['difference']:+.3f} {d['ci95']} ({d['ci_method']}, {d['n']} clips)")
        if s["agreement"]:
            print(f"  agreement: {s['agreement']}")
    print(f"\noutputs in {out}")
    if args.json:
        args.json.write_text(json.dumps({"rates": RATES, "phases": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
