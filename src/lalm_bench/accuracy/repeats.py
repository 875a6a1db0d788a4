"""Run-to-run noise of a repeated control (``noise``, ``noise@1``, … : other seeds or samples).

Per repeated control: the accuracy of every repeat and its difference against ``audio``, the spread of both
across the repeats (range and SD), and per pair of repeats the paired difference (Tango, clustered; McNemar),
the test–retest agreement of correctness (share of items right or wrong in both, Cohen's kappa) and the share
of items with the same option picked (among items parsed in both); over all repeats the share of items whose
correctness never changes and Fleiss' kappa. :func:`add_spread` writes the spread of the differences next to
every comparison of a repeated control (overall and per category).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from lalm_bench import stats


def run_to_run(
    repeats: dict[str, list[str]],
    correct: dict[str, np.ndarray],
    choice: dict[str, np.ndarray],
    clusters: np.ndarray,
    reference: str = "audio",
) -> dict[str, Any]:
    """``{control: {runs, accuracy_spread, difference_spread, pairs, same_correctness_all, fleiss_kappa}}``."""
    cl = None if len(set(clusters.tolist())) == clusters.size else clusters
    out: dict[str, Any] = {}
    for base, names in repeats.items():
        ref = correct[reference].astype(np.float64)
        runs = {
            c: {"accuracy": float(correct[c].mean()), "difference": float(correct[c].mean() - ref.mean())}
            for c in names
        }
        pairs: dict[str, Any] = {}
        for x, y in combinations(names, 2):
            d = stats.paired_binary_difference(correct[y].astype(float), correct[x].astype(float), clusters=cl)
            kappa = stats.cohen_kappa(correct[x], correct[y])
            parsed = (choice[x] >= 0) & (choice[y] >= 0)
            pairs[f"{y} - {x}"] = {
                "difference": d["difference"],
                "ci95": d["ci95"],
                "ci_method": d["ci_method"],
                "mcnemar_p": stats.mcnemar_exact(d["b"], d["c"])["p_value"],
                "same_correctness": kappa["observed"],
                "cohen_kappa": kappa["value"],
                "cohen_kappa_note": kappa["reason"],
                "same_choice": float((choice[x] == choice[y])[parsed].mean()) if parsed.any() else None,
                "both_parsed": int(parsed.sum()),
            }
        table = np.stack([correct[c] for c in names], axis=1)
        right = table.sum(axis=1)
        fleiss = stats.fleiss_kappa(np.stack([right, len(names) - right], axis=1))
        out[base] = {
            "repeats": names,
            "runs": runs,
            "accuracy_spread": stats.spread([r["accuracy"] for r in runs.values()]),
            "difference_spread": stats.spread([r["difference"] for r in runs.values()]),
            "pairs": pairs,
            "same_correctness_all": float(np.mean((right == 0) | (right == len(names)))) if right.size else None,
            "fleiss_kappa": fleiss["value"],
            "fleiss_kappa_note": fleiss["reason"],
            "definition": "runs: accuracy of each repeat and its difference against audio; *_spread: range and SD "
            "across the repeats; pairs: later repeat - earlier (Tango, clustered where items share a clip), "
            "test-retest agreement of correctness (share, Cohen's kappa) and the share of identical picks; "
            "same_correctness_all: items right in every repeat or wrong in every repeat",
        }
    return out


def add_spread(groups: list[dict[str, Any]], repeats: dict[str, list[str]]) -> None:
    """Next to each comparison of a repeated control: ``run_to_run_differences`` (every repeat's difference
    against audio in this group) and ``run_to_run_range`` ([min, max])."""
    for g in groups:
        for names in repeats.values():
            diffs = {c: g["comparisons"][c]["difference"] for c in names if c in g["comparisons"]}
            values = [v for v in diffs.values() if v is not None]
            for c in names:
                if c in g["comparisons"]:
                    g["comparisons"][c]["run_to_run_differences"] = diffs
                    g["comparisons"][c]["run_to_run_range"] = [min(values), max(values)] if values else None


def summary_lines(run_to_run: dict[str, Any] | None) -> list[str]:
    """One line per repeated control for the terminal."""
    lines = []
    for base, r in (run_to_run or {}).items():
        acc = ", ".join(f"{c} {100 * v['accuracy']:.1f}" for c, v in r["runs"].items())
        ds = r["difference_spread"]
        kappas = [p["cohen_kappa"] for p in r["pairs"].values() if p["cohen_kappa"] is not None]
        kappa = (
            f", Cohen's kappa {min(kappas):.2f}" + (f"-{max(kappas):.2f}" if len(kappas) > 1 else "") if kappas else ""
        )
        lines.append(
            f"run-to-run ({base}, {len(r['repeats'])} runs): accuracy % {acc}; difference vs audio ranges "
            f"{100 * ds['min']:+.1f} to {100 * ds['max']:+.1f} points; same correctness in every run for "
            f"{100 * r['same_correctness_all']:.1f}% of items{kappa}"
        )
    return lines
