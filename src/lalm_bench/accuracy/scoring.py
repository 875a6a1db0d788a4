"""Accuracy statistics: per condition, each control against ``audio``, per category, and per item labels.

Every proportion gets a 95% interval clustered by audio clip (:func:`lalm_bench.stats.describe` with
``binary=True``: the cluster-Wilson interval; items that share a clip are not independent), every
control a paired difference (:func:`lalm_bench.stats.paired_difference`, clusters resampled jointly)
and McNemar's exact test on the discordant pairs, Holm-adjusted across categories.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from lalm_bench import stats

#: Per-item labels (``reliance``): a partition of the scored items by audio right/wrong × any control right.
RELIANCE = ("needs-audio", "answerable-without-audio", "harmed-by-audio", "wrong-everywhere")
METHODS = ("rules", "embedding", "llm", "unparsed")


def reliance_labels(correct_audio: np.ndarray, correct_controls: Sequence[np.ndarray]) -> list[str]:
    """``needs-audio``: right with audio, wrong under every control; ``answerable-without-audio``: right
    with audio and under some control; ``harmed-by-audio``: wrong with audio, right under some control;
    ``wrong-everywhere``: wrong under every condition (unparsed counts as wrong)."""
    audio = np.asarray(correct_audio, dtype=bool)
    any_control = np.zeros(audio.shape, dtype=bool)
    for c in correct_controls:
        any_control |= np.asarray(c, dtype=bool)
    labels = np.where(
        audio,
        np.where(any_control, RELIANCE[1], RELIANCE[0]),
        np.where(any_control, RELIANCE[2], RELIANCE[3]),
    )
    return [str(x) for x in labels]


def _proportion(
    values: np.ndarray, clusters: np.ndarray, bootstrap: int, seed: int, prefix: str = ""
) -> dict[str, Any]:
    """A share with its clustered Wilson CI, as ``{<prefix>: share, <prefix>ci95, ...}`` keys."""
    d = stats.describe(values.astype(np.float64), bootstrap, seed, clusters=clusters, binary=True)
    key = prefix.rstrip("_") or "mean"
    out = {key: d["mean"], f"{prefix}ci95": d.get("ci95"), f"{prefix}ci_method": d.get("ci_method")}
    if d.get("ci_note"):
        out[f"{prefix}ci_note"] = d["ci_note"]
    return out


def condition_stats(
    correct: np.ndarray,
    choice: np.ndarray,
    methods: Sequence[str],
    rules: Sequence[str | None],
    missing: np.ndarray,
    clusters: np.ndarray,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Accuracy (unparsed counted wrong) with its CI, accuracy over parsed answers, unparsed rate, methods."""
    n = int(correct.size)
    parsed = choice >= 0
    acc = _proportion(correct, clusters, bootstrap, seed)
    acc_parsed = _proportion(correct[parsed], clusters[parsed], bootstrap, seed, "accuracy_parsed_")
    unparsed = _proportion(~parsed, clusters, bootstrap, seed, "unparsed_rate_")
    out: dict[str, Any] = {
        "count": n,
        "correct": int(correct.sum()),
        "accuracy": acc["mean"],
        "ci95": acc["ci95"],
        "ci_method": acc["ci_method"],
        "n_clusters": len(set(clusters.tolist())),
    }
    if "ci_note" in acc:
        out["ci_note"] = acc["ci_note"]
    out.update(parsed=int(parsed.sum()), **acc_parsed)
    out.update(unparsed=int((~parsed).sum()), **unparsed)
    counts = Counter(methods)
    out["methods"] = {m: int(counts.get(m, 0)) for m in METHODS}
    out["unparsed_reasons"] = dict(
        sorted(Counter(r or "?" for r, p in zip(rules, parsed, strict=True) if not p).items(), key=lambda kv: -kv[1])
    )
    out["missing_answers"] = int(missing.sum())
    if n == 0:
        out["accuracy"] = out["accuracy_parsed"] = out["unparsed_rate"] = None
    return out


def compare(
    correct_control: np.ndarray,
    correct_audio: np.ndarray,
    choice_control: np.ndarray,
    choice_audio: np.ndarray,
    clusters: np.ndarray,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """A control against ``audio`` on the same items.

    ``difference`` = accuracy(control) − accuracy(audio) with a paired (cluster) CI; McNemar's exact test
    on ``audio_only_right`` vs ``control_only_right``; ``flip_rate``: among items parsed under both, the
    share whose chosen option differs; ``agreement``: the share of items right under both or wrong under
    both (1 − the discordant share McNemar tests)."""
    ca, cc = np.asarray(correct_audio, dtype=bool), np.asarray(correct_control, dtype=bool)
    diff = stats.paired_difference(
        cc.astype(np.float64), ca.astype(np.float64), clusters=clusters, n_resamples=bootstrap, seed=seed
    )
    b = int((ca & ~cc).sum())  # right with audio only
    c = int((~ca & cc).sum())  # right under the control only
    mc = stats.mcnemar_exact(b, c)
    both = (choice_audio >= 0) & (choice_control >= 0)
    flips = both & (choice_audio != choice_control)
    flip = _proportion(flips[both], clusters[both], bootstrap, seed, "flip_rate_")
    agree = _proportion(ca == cc, clusters, bootstrap, seed, "agreement_")
    out: dict[str, Any] = {
        "against": "audio",
        "count": int(ca.size),
        "difference": diff["difference"],
        "ci95": diff["ci95"],
        "ci_method": diff["ci_method"],
    }
    if diff.get("ci_note"):
        out["ci_note"] = diff["ci_note"]
    out.update(
        mcnemar_p=mc["p_value"] if ca.size else None,
        mcnemar_p_text=mc["p_value_text"] if ca.size else None,
        audio_only_right=b,
        control_only_right=c,
        both_right=int((ca & cc).sum()),
        both_wrong=int((~ca & ~cc).sum()),
        flip_rate=flip["flip_rate"],
        flips=int(flips.sum()),
        both_parsed=int(both.sum()),
        parsed_in_one_only=int(((choice_audio >= 0) != (choice_control >= 0)).sum()),
        **{k: v for k, v in flip.items() if k != "flip_rate"},
        agreement=agree["agreement"],
        **{k: v for k, v in agree.items() if k != "agreement"},
    )
    return out


def group_stats(
    mask: np.ndarray,
    names: Sequence[str],
    correct: dict[str, np.ndarray],
    choice: dict[str, np.ndarray],
    methods: dict[str, list[str]],
    rules: dict[str, list[str | None]],
    missing: dict[str, np.ndarray],
    n_choices: np.ndarray,
    clusters: np.ndarray,
    labels: np.ndarray,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Everything for the items in ``mask``: count, chance, conditions, comparisons, reliance counts."""
    idx = np.flatnonzero(mask)
    cl = clusters[idx]
    conditions = {
        c: condition_stats(
            correct[c][idx],
            choice[c][idx],
            [methods[c][i] for i in idx],
            [rules[c][i] for i in idx],
            missing[c][idx],
            cl,
            bootstrap,
            seed,
        )
        for c in names
    }
    ref = names[0]
    comparisons = {
        c: compare(correct[c][idx], correct[ref][idx], choice[c][idx], choice[ref][idx], cl, bootstrap, seed)
        for c in names[1:]
    }
    counts = Counter(labels[idx].tolist())
    return {
        "count": int(idx.size),
        "n_clusters": len(set(cl.tolist())),
        "chance_accuracy": float(np.mean(1.0 / n_choices[idx])) if idx.size else None,
        "conditions": conditions,
        "comparisons": comparisons,
        "reliance": {label: int(counts.get(label, 0)) for label in RELIANCE},
    }


def add_holm(overall: dict[str, Any], by_category: dict[str, dict[str, Any]]) -> None:
    """``mcnemar_p_holm``: overall across the controls; per category across the categories of each control."""
    holm = stats.holm({c: cmp["mcnemar_p"] for c, cmp in overall["comparisons"].items()})
    for c, cmp in overall["comparisons"].items():
        cmp["mcnemar_p_holm"] = holm[c]
        cmp["mcnemar_p_holm_text"] = stats.format_p(holm[c])
    for control in overall["comparisons"]:
        ps = {cat: g["comparisons"][control]["mcnemar_p"] for cat, g in by_category.items()}
        adj = stats.holm(ps)
        for cat, g in by_category.items():
            g["comparisons"][control]["mcnemar_p_holm"] = adj[cat]
            g["comparisons"][control]["mcnemar_p_holm_text"] = stats.format_p(adj[cat])
