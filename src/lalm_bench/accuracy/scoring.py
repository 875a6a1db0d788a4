"""Accuracy statistics: per condition, each control against ``audio``, per category, and per item labels.

Every proportion gets a 95% Wilson interval, clustered by audio clip where items share one
(``cluster-wilson``; :func:`lalm_bench.stats.describe` with ``binary=True``), every control a paired
difference with Tango's score interval for paired 0/1 outcomes (:func:`lalm_bench.stats.paired_binary_difference`,
``cluster-tango`` where items share a clip) and McNemar's exact test on the discordant pairs,
Holm-adjusted across the categories that have a testable comparison.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from lalm_bench import stats

#: Per-item labels (``reliance``) of one run per condition: right or wrong with audio × right under some
#: control. ``refused-without-audio``: right with audio, right under no control, and some control's
#: answer was a refusal (the ``right-only-with-audio`` cell, set apart because a refusal is not a wrong pick).
RELIANCE = ("right-only-with-audio", "refused-without-audio", "right-only-without-audio", "right-both", "wrong-both")
#: The labels of format 1, still accepted by ``--subset`` (their meaning is the new label's).
OLD_LABELS = {
    "answerable-without-audio": "right-both",
    "harmed-by-audio": "right-only-without-audio",
    "wrong-everywhere": "wrong-both",
}
NEEDS_AUDIO = "needs-audio"
NEEDS_AUDIO_FDR = 0.05
METHODS = ("rules", "embedding", "llm", "unparsed")
REFUSAL_RULE = "refusal"
RELIANCE_DEFINITION = {
    "right-only-with-audio": "right with audio, wrong (not a refusal) or unparsed under every control",
    "refused-without-audio": "right with audio, right under no control, and a refusal under some control",
    "right-only-without-audio": "wrong (or unparsed) with audio, right under at least one control",
    "right-both": "right with audio and right under at least one control",
    "wrong-both": "wrong (or unparsed) under every condition",
}


def reliance_labels(
    correct_audio: np.ndarray, correct_controls: Sequence[np.ndarray], refused_controls: Sequence[np.ndarray] = ()
) -> list[str]:
    """One label of :data:`RELIANCE` per item (unparsed counts as wrong); ``refused_controls``: per control,
    whether its answer was a refusal."""
    audio = np.asarray(correct_audio, dtype=bool)
    any_control = np.zeros(audio.shape, dtype=bool)
    for c in correct_controls:
        any_control |= np.asarray(c, dtype=bool)
    any_refused = np.zeros(audio.shape, dtype=bool)
    for r in refused_controls:
        any_refused |= np.asarray(r, dtype=bool)
    labels = np.where(
        audio,
        np.where(any_control, "right-both", np.where(any_refused, "refused-without-audio", "right-only-with-audio")),
        np.where(any_control, "right-only-without-audio", "wrong-both"),
    )
    return [str(x) for x in labels]


def expected_by_flipping(counts: dict[str, int]) -> dict[str, Any]:
    """Under no audio effect the two discordant cells are exchangeable: each is expected to hold half of
    them. ``audio_only`` = right-only-with-audio + refused-without-audio, ``control_only`` =
    right-only-without-audio; returns both counts, the expected count of each, and the excess."""
    b = counts["right-only-with-audio"] + counts["refused-without-audio"]
    c = counts["right-only-without-audio"]
    return {
        "right_with_audio_only": b,
        "right_without_audio_only": c,
        "expected_each": (b + c) / 2,
        "excess_right_with_audio_only": b - (b + c) / 2,
        "definition": "under no audio effect the discordant items are exchangeable: (b + c) / 2 expected in each "
        "cell, with b = right-only-with-audio + refused-without-audio, c = right-only-without-audio",
    }


def needs_audio_test(correct_audio: np.ndarray, correct_repeats: Sequence[np.ndarray]) -> dict[str, Any]:
    """Per item, the exact one-sided sign test across R repeated runs of one control.

    Each repeat pairs the audio answer with one control answer; a discordant pair counts + (right with
    audio, wrong without) or − (the reverse). Under no audio effect the two are equally likely, so
    p = P(Binomial(k, 1/2) >= k₊) over the k discordant pairs (1 without any). With one audio run an item
    right with audio and wrong in all R repeats gets p = 2^−R, its smallest possible value. The p-values
    of all items are adjusted by Benjamini–Hochberg; ``needs_audio`` is q <= :data:`NEEDS_AUDIO_FDR`."""
    from scipy.stats import binom

    audio = np.asarray(correct_audio, dtype=bool)
    reps = np.vstack([np.asarray(r, dtype=bool) for r in correct_repeats])
    plus = (audio[None, :] & ~reps).sum(axis=0)
    minus = (~audio[None, :] & reps).sum(axis=0)
    k = plus + minus
    p = np.where(k > 0, binom.sf(plus - 1, np.maximum(k, 1), 0.5), 1.0)
    q = np.asarray(stats.benjamini_hochberg(p), dtype=np.float64)
    return {"p": p, "q": q, "flag": q <= NEEDS_AUDIO_FDR, "min_p": 0.5 ** len(correct_repeats)}


def _proportion(
    values: np.ndarray, clusters: np.ndarray | None, bootstrap: int, seed: int, prefix: str = ""
) -> dict[str, Any]:
    """A share with its Wilson CI (clustered when ``clusters`` is given), as ``{<prefix>: share,
    <prefix>ci95, ...}`` keys."""
    if clusters is not None and len(set(clusters.tolist())) == clusters.size:
        clusters = None
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
    """Accuracy (unparsed counted wrong) with its CI, accuracy over parsed answers, the unparsed rate split
    into refusals (``refusal_rate``: rule ``refusal``) and other unparsed answers, methods."""
    n = int(correct.size)
    parsed = choice >= 0
    refused = np.array([r == REFUSAL_RULE for r in rules], dtype=bool) & ~parsed
    acc = _proportion(correct, clusters, bootstrap, seed)
    acc_parsed = _proportion(correct[parsed], clusters[parsed], bootstrap, seed, "accuracy_parsed_")
    unparsed = _proportion(~parsed, clusters, bootstrap, seed, "unparsed_rate_")
    refusal = _proportion(refused, clusters, bootstrap, seed, "refusal_rate_")
    other = _proportion(~parsed & ~refused, clusters, bootstrap, seed, "other_unparsed_rate_")
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
    out.update(refusals=int(refused.sum()), **refusal)
    out.update(other_unparsed=int((~parsed & ~refused).sum()), **other)
    counts = Counter(methods)
    out["methods"] = {m: int(counts.get(m, 0)) for m in METHODS}
    out["unparsed_reasons"] = dict(
        sorted(Counter(r or "?" for r, p in zip(rules, parsed, strict=True) if not p).items(), key=lambda kv: -kv[1])
    )
    out["missing_answers"] = int(missing.sum())
    if n == 0:
        out["accuracy"] = out["accuracy_parsed"] = out["unparsed_rate"] = None
        out["refusal_rate"] = out["other_unparsed_rate"] = None
    return out


def _difference(cc: np.ndarray, ca: np.ndarray, clusters: np.ndarray | None, prefix: str = "") -> dict[str, Any]:
    d = stats.paired_binary_difference(cc.astype(np.float64), ca.astype(np.float64), clusters=clusters)
    out = {prefix.rstrip("_") or "difference": d["difference"], f"{prefix}ci95": d["ci95"],
           f"{prefix}ci_method": d["ci_method"]}  # fmt: skip
    if d.get("design_effect") is not None:
        out[f"{prefix}design_effect"] = d["design_effect"]
    if d.get("ci_note"):
        out[f"{prefix}ci_note"] = d["ci_note"]
    return out


def compare(
    correct_control: np.ndarray,
    correct_audio: np.ndarray,
    choice_control: np.ndarray,
    choice_audio: np.ndarray,
    clusters: np.ndarray | None,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """A control against ``audio`` on the same items.

    ``difference`` = accuracy(control) − accuracy(audio) (unparsed = wrong) with Tango's paired score
    interval (``cluster-tango`` where items share a clip); ``difference_parsed``: the same on the
    ``difference_parsed_count`` items parsed under both; ``difference_bounds``: the difference if every
    unparsed answer had been right under one condition and wrong under the other (the worst cases);
    McNemar's exact test on ``audio_only_right`` vs ``control_only_right`` with ``expected_by_flipping``
    = (b + c) / 2 per cell under no audio effect; ``flip_rate``: among items parsed under both, the share
    whose chosen option differs; ``agreement``: the share right under both or wrong under both."""
    ca, cc = np.asarray(correct_audio, dtype=bool), np.asarray(correct_control, dtype=bool)
    pa, pc = np.asarray(choice_audio) >= 0, np.asarray(choice_control) >= 0
    if clusters is not None and len(set(clusters.tolist())) == clusters.size:
        clusters = None
    b = int((ca & ~cc).sum())  # right with audio only
    c = int((~ca & cc).sum())  # right under the control only
    mc = stats.mcnemar_exact(b, c)
    both = pa & pc
    flips = both & (choice_audio != choice_control)
    flip = _proportion(flips[both], None if clusters is None else clusters[both], bootstrap, seed, "flip_rate_")
    agree = _proportion(ca == cc, clusters, bootstrap, seed, "agreement_")
    n = int(ca.size)
    out: dict[str, Any] = {"against": "audio", "count": n, **_difference(cc, ca, clusters)}
    parsed_diff = _difference(cc[both], ca[both], None if clusters is None else clusters[both], "difference_parsed_")
    out.update(parsed_diff, difference_parsed_count=int(both.sum()))
    if n:
        low = (cc.sum() - (ca | ~pa).sum()) / n  # control's unparsed wrong, audio's unparsed right
        high = ((cc | ~pc).sum() - ca.sum()) / n
        out["difference_bounds"] = [float(low), float(high)]
    else:
        out["difference_bounds"] = None
    out.update(
        mcnemar_p=mc["p_value"] if n else None,
        mcnemar_p_text=mc["p_value_text"] if n else None,
        audio_only_right=b,
        control_only_right=c,
        expected_by_flipping=(b + c) / 2,
        both_right=int((ca & cc).sum()),
        both_wrong=int((~ca & ~cc).sum()),
        flip_rate=flip["flip_rate"],
        flips=int(flips.sum()),
        both_parsed=int(both.sum()),
        parsed_in_one_only=int((pa != pc).sum()),
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
    needs_audio: np.ndarray | None = None,
    hedged: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Everything for the items in ``mask``: count, chance, conditions, comparisons, reliance counts with the
    counts expected by flipping alone, and (with repeats) the ``needs-audio`` count."""
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
    if hedged is not None:
        for c in names:
            conditions[c]["hedged_picks"] = int(hedged[c][idx].sum())
    ref = names[0]
    comparisons = {
        c: compare(correct[c][idx], correct[ref][idx], choice[c][idx], choice[ref][idx], cl, bootstrap, seed)
        for c in names[1:]
    }
    counts = Counter(labels[idx].tolist())
    reliance = {label: int(counts.get(label, 0)) for label in RELIANCE}
    out = {
        "count": int(idx.size),
        "n_clusters": len(set(cl.tolist())),
        "chance_accuracy": float(np.mean(1.0 / n_choices[idx])) if idx.size else None,
        "conditions": conditions,
        "comparisons": comparisons,
        "reliance": reliance,
        "expected_by_flipping": expected_by_flipping(reliance)["expected_each"],
    }
    if needs_audio is not None:
        out[NEEDS_AUDIO] = int(needs_audio[idx].sum())
    return out


def testable(cmp: dict[str, Any]) -> str | None:
    """Why a comparison is left out of a Holm family (``None``: it is in): fewer than two items, or no
    discordant pair (McNemar's exact test is then p = 1 by definition; b + c is ancillary to the
    conditional test, so leaving such comparisons out keeps the family-wise error control)."""
    if cmp.get("mcnemar_p") is None:
        return "no items"
    if cmp.get("count", 2) < 2:
        return "fewer than two items: reported, not adjusted"
    if cmp.get("audio_only_right", 1) + cmp.get("control_only_right", 0) == 0:
        return "no discordant pair: no test"
    return None


def add_holm(overall: dict[str, Any], by_category: dict[str, dict[str, Any]]) -> None:
    """``mcnemar_p_holm``: overall across the controls; per category across the categories of each control
    that have a testable comparison (:func:`testable`); the others get ``None`` and ``holm_note``."""
    for family in [overall["comparisons"]] + [
        {cat: g["comparisons"][control] for cat, g in by_category.items()} for control in overall["comparisons"]
    ]:
        notes = {key: testable(cmp) for key, cmp in family.items()}
        stats.holm_family(family, "mcnemar_p", "mcnemar_p_holm", notes)
