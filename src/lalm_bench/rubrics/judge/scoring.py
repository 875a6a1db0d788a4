"""From verdicts to numbers: the score of a caption, and the summary statistics.

Rules (also in ``docs/rubrics-judge.md``):

* the verdict of a (caption, criterion) is the majority over its raters (:mod:`.ratings`);
* ``skip`` (default): which criteria apply to a clip is decided once per (clip, criterion) from the
  references' verdicts (:mod:`.applicability`), and every caption of the clip is scored on those: the
  **score** of a caption is the weight of its ``met`` applicable criteria over the weight of the
  applicable criteria (``cannot_assess`` on an applicable criterion counts as not met; criteria that do
  not apply are left out), and its **coverage** is the share of that weight the judge assessed
  (``met`` or ``not_met``) on this caption. ``fail``: every criterion applies to every clip and
  ``cannot_assess`` counts as not met;
* a caption with a judge error on any criterion has no score (counted under ``unscored.judge_error``,
  never 0, never ``cannot_assess``): a score always covers the whole rubric. A caption of a clip where
  nothing applies has no score either (``unscored.nothing_assessed``);
* the score of a system on a clip is the mean score of its scored captions of that clip (one for a
  model, up to four for the references), and the system's score is the mean over clips, with a CI
  clustered by clip (``stats.describe``; the method is named); differences between systems are
  paired by clip, on the clips both scored.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lalm_bench.rubrics.judge import applicability
from lalm_bench.rubrics.judge.agreement import agreement
from lalm_bench.rubrics.judge.ratings import CaptionJudgments, CaptionKey, group_records
from lalm_bench.rubrics.judge.schema import ERROR, VERDICTS, JudgeRecord

Applicability = Mapping[str, applicability.ClipApplicability] | None  # None: every criterion applies (fail)


def caption_score(
    verdicts: Sequence[str],
    weights: Sequence[float],
    policy: str = "skip",
    applicable: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Score of one caption from its (aggregated) verdicts, one per criterion, under ``policy``.

    ``applicable`` (``skip`` only): the clip's applicable criteria (:mod:`.applicability`); the caption is
    scored on exactly those. Without it, ``skip`` decides per caption (its assessed criteria), the rule
    for one caption on its own; ``fail`` always scores every criterion."""
    if policy not in ("skip", "fail"):
        raise ValueError(f"cannot-assess policy must be skip or fail, got {policy!r}")
    if len(verdicts) != len(weights) or (applicable is not None and len(applicable) != len(weights)):
        raise ValueError(f"{len(verdicts)} verdicts for {len(weights)} criteria")
    if policy == "fail":
        applicable = [True] * len(weights)
    elif applicable is None:
        applicable = [v in ("met", "not_met") for v in verdicts]
    counts = Counter(verdicts)
    rows = list(zip(verdicts, weights, applicable, strict=True))
    met_w = sum(w for v, w, a in rows if a and v == "met")
    applicable_w = sum(w for _, w, a in rows if a)
    assessed_w = sum(w for v, w, a in rows if a and v in ("met", "not_met"))
    out: dict[str, Any] = {
        "score": None,
        "met_weight": met_w,
        "assessed_weight": applicable_w,
        "coverage": assessed_w / applicable_w if applicable_w > 0 else None,
        "applicable": sum(applicable),
        **{label: counts.get(label, 0) for label in (*VERDICTS, ERROR)},
        "met_not_applicable": sum(v == "met" and not a for v, _, a in rows),
        "unscored": None,
    }
    if counts.get(ERROR):
        out["unscored"] = "judge_error"
    elif applicable_w <= 0:
        out["unscored"] = "nothing_assessed"
    else:
        out["score"] = met_w / applicable_w
    return out


Scored = list[tuple[CaptionJudgments, list[str], dict[str, Any]]]  # (ratings, aggregated verdicts, score)


@dataclass
class Scoring:
    summary: dict[str, Any]
    groups: dict[CaptionKey, CaptionJudgments]
    captions: dict[str, Scored]  # system -> its judged captions
    applicability: Applicability = None


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _clip_means(scored: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Mean value per clip (clip order as first seen)."""
    per: dict[str, list[float]] = defaultdict(list)
    for clip, s in scored:
        per[clip].append(s)
    return {clip: sum(v) / len(v) for clip, v in per.items()}


def decide_applicability(
    aggregated: Sequence[tuple[CaptionJudgments, list[str]]], n: int, policy: str, reference_system: str | None
) -> Applicability:
    """Step 1: the clip-level applicability under ``skip`` (``None`` under ``fail``: everything applies)."""
    if policy != "skip":
        return None
    return applicability.decide(((g.system, g.clip, agg) for g, agg in aggregated), n, reference_system)


def score_captions(
    aggregated: Sequence[tuple[CaptionJudgments, list[str]]],
    weights: Sequence[float],
    policy: str,
    decided: Applicability,
) -> Scored:
    """Step 2: every caption scored on its clip's applicable criteria."""
    return [
        (g, agg, caption_score(agg, weights, policy, None if decided is None else decided[g.clip].applies))
        for g, agg in aggregated
    ]


def _is_applicable(decided: Applicability, clip: str, c: int) -> bool:
    return decided is None or decided[clip].applies[c]


def system_entry(
    name: str, items: Scored, decided: Applicability, describe_clips: Any
) -> tuple[dict[str, Any], dict[str, float]]:
    """Step 3: one system's score, coverage, verdict counts and rates; also its per-clip scores."""
    per_clip = _clip_means([(g.clip, sc["score"]) for g, _, sc in items if sc["score"] is not None])
    coverage = _clip_means([(g.clip, sc["coverage"]) for g, _, sc in items if sc["coverage"] is not None])
    agg_counts = Counter(v for _, agg, _ in items for v in agg)
    raw_counts = Counter(v for g, _, _ in items for row in g.ratings.values() for v in row)
    on_applicable = [v for g, agg, _ in items for c, v in enumerate(agg) if _is_applicable(decided, g.clip, c)]
    scored_units = [v for v in on_applicable if v != ERROR]
    total = sum(agg_counts.values())
    entry: dict[str, Any] = {
        "name": name,
        "captions": len(items),
        "clips": len({g.clip for g, _, _ in items}),
        "scored_captions": sum(sc["score"] is not None for _, _, sc in items),
        "unscored": {
            reason: sum(sc["unscored"] == reason for _, _, sc in items)
            for reason in ("judge_error", "nothing_assessed")
        },
        "scored_clips": len(per_clip),
        "score": describe_clips(per_clip),
        "coverage": describe_clips(coverage),
        "verdicts": {
            **{label: agg_counts.get(label, 0) for label in (*VERDICTS, ERROR)},
            "total": total,
            "applicable": len(on_applicable),
            "met_rate": _rate(sum(v == "met" for v in scored_units), len(scored_units)),
            "cannot_assess_rate": _rate(agg_counts["cannot_assess"], total - agg_counts[ERROR]),
            "cannot_assess_on_applicable": sum(v == "cannot_assess" for v in on_applicable),
            "met_not_applicable": sum(sc["met_not_applicable"] for _, _, sc in items),
            "error_rate": _rate(agg_counts[ERROR], total),
        },
        "ratings": {label: raw_counts.get(label, 0) for label in (*VERDICTS, ERROR)},
    }
    return entry, per_clip


def by_judge(
    items: Scored, judges: Sequence[str], weights: Sequence[float], policy: str, reference_system: str | None,
    every: Sequence[CaptionJudgments], describe_clips: Any,
) -> dict[str, Any]:  # fmt: skip
    """Step 3b: each judge's own score of a system, applicability decided from that judge's verdicts."""
    n = len(weights)
    out = {}
    for j in judges:
        decided = decide_applicability([(g, g.aggregated(n, j)) for g in every], n, policy, reference_system)
        scored = score_captions([(g, g.aggregated(n, j)) for g, _, _ in items], weights, policy, decided)
        out[j] = describe_clips(_clip_means([(g.clip, sc["score"]) for g, _, sc in scored if sc["score"] is not None]))
    return out


def criterion_entry(
    c: int, weight: float, captions: Mapping[str, Scored], decided: Applicability, bootstrap: int, seed: int
) -> dict[str, Any]:
    """Step 4: one criterion's met rate per system, over the captions of the clips where it applies."""
    from lalm_bench import stats

    per_sys: dict[str, Any] = {}
    for name, items in captions.items():
        labels = [(g.clip, agg[c]) for g, agg, _ in items]
        valid = [(clip, v) for clip, v in labels if v != ERROR]
        judged = [(clip, v) for clip, v in valid if _is_applicable(decided, clip, c)]
        per_sys[name] = {
            "assessed": len(judged),
            "met_rate": stats.describe(
                [float(v == "met") for _, v in judged],
                bootstrap,
                seed,
                clusters=[clip for clip, _ in judged],
                binary=True,
            ),
            "cannot_assess_rate": _rate(sum(v == "cannot_assess" for _, v in valid), len(valid)),
            "error_rate": _rate(len(labels) - len(valid), len(labels)),
        }
    entry: dict[str, Any] = {"index": c, "weight": weight, "systems": per_sys}
    if decided is not None:
        entry["applicable_clips"] = sum(clip.applies[c] for clip in decided.values())
    return entry


def differences(by_system_clip: Mapping[str, Mapping[str, float]], bootstrap: int, seed: int) -> list[dict[str, Any]]:
    """Step 5: every two systems, paired by clip on the clips both scored."""
    from lalm_bench import stats

    out = []
    for a, b in itertools.combinations(by_system_clip, 2):
        common = [clip for clip in by_system_clip[a] if clip in by_system_clip[b]]
        diff = stats.paired_difference(
            [by_system_clip[a][c] for c in common],
            [by_system_clip[b][c] for c in common],
            clusters=common,
            n_resamples=bootstrap,
            seed=seed,
        )
        out.append({"a": a, "b": b, **diff})
    return out


def summarize(
    records: Sequence[JudgeRecord],
    *,
    weights: Sequence[float],
    systems: Sequence[str],
    judges: Sequence[str],
    policy: str,
    bootstrap: int,
    seed: int,
    reference_system: str | None = None,
) -> Scoring:
    """Per-system scores and coverage, per-criterion met rates, paired differences between systems and rater
    agreement (``summary``), with the grouped ratings the row tables are built from. ``reference_system``
    names the system whose verdicts decide applicability under ``skip`` (:mod:`.applicability`)."""
    from lalm_bench import stats

    n = len(weights)
    groups = group_records(records)
    aggregated = [(g, g.aggregated(n)) for g in groups.values()]
    decided = decide_applicability(aggregated, n, policy, reference_system)
    captions: dict[str, Scored] = {s: [] for s in systems}
    for item in score_captions(aggregated, weights, policy, decided):
        captions.setdefault(item[0].system, []).append(item)

    def describe_clips(per_clip: dict[str, float]) -> dict[str, Any]:
        clips = list(per_clip)
        return stats.describe([per_clip[c] for c in clips], bootstrap, seed, clusters=clips, bounds=(0.0, 1.0))

    by_system_clip: dict[str, dict[str, float]] = {}
    out_systems: list[dict[str, Any]] = []
    for name in systems:
        items = captions.get(name, [])
        entry, by_system_clip[name] = system_entry(name, items, decided, describe_clips)
        if len(judges) > 1:
            entry["by_judge"] = by_judge(
                items, judges, weights, policy, reference_system, list(groups.values()), describe_clips
            )
        out_systems.append(entry)
    summary = {
        "systems": out_systems,
        "applicability": None if decided is None else applicability.summary(decided, weights),
        "criteria": [
            criterion_entry(c, weights[c], {s: captions.get(s, []) for s in systems}, decided, bootstrap, seed)
            for c in range(n)
        ],
        "differences": differences(by_system_clip, bootstrap, seed),
        "agreement": agreement(groups, n, judges),
    }
    return Scoring(summary, groups, captions, decided)


def score_rows(captions: dict[str, Scored], n_raters: int) -> list[dict[str, Any]]:
    """One row per judged caption: the aggregated score and its parts."""
    rows = []
    for name, items in captions.items():
        for g, _, sc in items:
            rows.append(
                {
                    "system": name,
                    "clip": g.clip,
                    "caption_index": g.caption_index,
                    "caption": g.caption,
                    "score": sc["score"],
                    "met_weight": sc["met_weight"],
                    "assessed_weight": sc["assessed_weight"],
                    "coverage": sc["coverage"],
                    "applicable": sc["applicable"],
                    "met": sc["met"],
                    "not_met": sc["not_met"],
                    "cannot_assess": sc["cannot_assess"],
                    "error": sc["error"],
                    "met_not_applicable": sc["met_not_applicable"],
                    "unscored": sc["unscored"],
                    "raters": len(g.ratings),
                    "raters_expected": n_raters,
                }
            )
    return rows


def verdict_rows(
    records: Sequence[JudgeRecord],
    criteria: Sequence[dict[str, Any]],
    groups: dict[CaptionKey, CaptionJudgments],
    decided: Applicability = None,
) -> list[dict[str, Any]]:
    """One row per rating: (caption, criterion, judge, sample) with the verdict, its reason, the majority and
    whether the criterion applies to the clip (:mod:`.applicability`)."""
    n = len(criteria)
    majority_of = {key: g.aggregated(n) for key, g in groups.items()}
    rows = []
    for r in records:
        agg = majority_of[(r.system, r.clip, r.caption_index)]
        shown = {j: i for i, j in enumerate(r.order)}
        for c in range(n):
            rows.append(
                {
                    "system": r.system,
                    "clip": r.clip,
                    "caption_index": r.caption_index,
                    "criterion_index": c,
                    "criterion": criteria[c]["criterion"],
                    "weight": criteria[c]["weight"],
                    "judge": r.judge,
                    "sample": r.sample,
                    "position": shown.get(c, c) + 1,
                    "verdict": r.verdicts[c],
                    "reason": r.reasons[c],
                    "majority": agg[c],
                    "applies": _is_applicable(decided, r.clip, c),
                    "error": r.error if r.verdicts[c] == ERROR else None,
                }
            )
    return rows
