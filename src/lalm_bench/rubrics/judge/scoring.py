"""From verdicts to numbers: majority over raters, the score of a caption, and the summary statistics.

Rules (also in ``docs/rubrics-judge.md``):

* a **rater** is one (judge, sample) pair; with several raters the verdict of a (caption, criterion) is
  the most frequent verdict among the raters that gave one; a tie goes to ``not_met``, then
  ``cannot_assess`` (so ``met`` needs more votes than any other verdict); raters whose call failed
  (judge errors) do not vote, and when none voted the verdict is a judge error;
* the **score** of a caption is the weight of its ``met`` criteria over the weight of its assessed
  criteria. ``skip`` (default): ``cannot_assess`` leaves both sums; ``fail``: it counts as not met.
  A caption with a judge error on any criterion has no score (counted under ``unscored.judge_error``,
  never 0, never ``cannot_assess``): a score always covers the whole rubric. A caption whose assessed
  weight is 0 has no score either (``unscored.nothing_assessed``);
* the score of a system on a clip is the mean score of its scored captions of that clip (one for a
  model, up to four for the references), and the system's score is the mean over clips, with a CI
  clustered by clip (``stats.describe``; the method is named); differences between systems are
  paired by clip, on the clips both scored.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lalm_bench.rubrics.judge.schema import ERROR, VERDICTS, JudgeRecord

TIE_ORDER = ("not_met", "cannot_assess", "met")
AGGREGATION_RULE = (
    "majority of the verdicts of the raters (judge x sample) that answered; ties go to not_met, then "
    "cannot_assess; no answer from any rater: judge error"
)
Rater = tuple[str, int]  # (judge, sample)
CaptionKey = tuple[str, str, int]  # (system, clip, caption_index)


def majority(labels: Iterable[str]) -> str:
    """The aggregated verdict of one (caption, criterion) over its raters (see the module docstring)."""
    counts = Counter(v for v in labels if v != ERROR)
    if not counts:
        return ERROR
    top = max(counts.values())
    return next(v for v in TIE_ORDER if counts.get(v) == top)


def caption_score(verdicts: Sequence[str], weights: Sequence[float], policy: str = "skip") -> dict[str, Any]:
    """Score of one caption from its (aggregated) verdicts, one per criterion, under ``policy``."""
    if policy not in ("skip", "fail"):
        raise ValueError(f"cannot-assess policy must be skip or fail, got {policy!r}")
    if len(verdicts) != len(weights):
        raise ValueError(f"{len(verdicts)} verdicts for {len(weights)} criteria")
    counts = Counter(verdicts)
    assessed_labels = ("met", "not_met", "cannot_assess") if policy == "fail" else ("met", "not_met")
    met_w = sum(w for v, w in zip(verdicts, weights, strict=True) if v == "met")
    assessed_w = sum(w for v, w in zip(verdicts, weights, strict=True) if v in assessed_labels)
    out: dict[str, Any] = {
        "score": None,
        "met_weight": met_w,
        "assessed_weight": assessed_w,
        **{label: counts.get(label, 0) for label in (*VERDICTS, ERROR)},
        "unscored": None,
    }
    if counts.get(ERROR):
        out["unscored"] = "judge_error"
    elif assessed_w <= 0:
        out["unscored"] = "nothing_assessed"
    else:
        out["score"] = met_w / assessed_w
    return out


@dataclass
class CaptionJudgments:
    """Every rating of one caption: rater -> verdicts in rubric order."""

    system: str
    clip: str
    caption_index: int
    caption: str
    ratings: dict[Rater, list[str]] = field(default_factory=dict)

    def aggregated(self, n: int, judge: str | None = None) -> list[str]:
        rows = [v for (j, _), v in self.ratings.items() if judge is None or j == judge]
        return [majority(r[c] for r in rows) for c in range(n)]


def group_records(records: Iterable[JudgeRecord]) -> dict[CaptionKey, CaptionJudgments]:
    groups: dict[CaptionKey, CaptionJudgments] = {}
    for r in records:
        key = (r.system, r.clip, r.caption_index)
        g = groups.setdefault(key, CaptionJudgments(r.system, r.clip, r.caption_index, r.caption))
        g.ratings[(r.judge, r.sample)] = list(r.verdicts)
    return groups


Scored = list[tuple[CaptionJudgments, list[str], dict[str, Any]]]  # (ratings, aggregated verdicts, score)


@dataclass
class Scoring:
    summary: dict[str, Any]
    groups: dict[CaptionKey, CaptionJudgments]
    captions: dict[str, Scored]  # system -> its judged captions


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _clip_scores(scored: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Mean score per clip (clip order as first seen)."""
    per: dict[str, list[float]] = defaultdict(list)
    for clip, s in scored:
        per[clip].append(s)
    return {clip: sum(v) / len(v) for clip, v in per.items()}


def summarize(
    records: Sequence[JudgeRecord],
    *,
    weights: Sequence[float],
    systems: Sequence[str],
    judges: Sequence[str],
    policy: str,
    bootstrap: int,
    seed: int,
) -> Scoring:
    """Per-system scores, per-criterion met rates, paired differences between systems and rater
    agreement (``summary``), with the grouped ratings the row tables are built from."""
    from lalm_bench import stats

    n = len(weights)
    groups = group_records(records)
    captions: dict[str, Scored] = {s: [] for s in systems}
    for g in groups.values():
        agg = g.aggregated(n)
        captions.setdefault(g.system, []).append((g, agg, caption_score(agg, weights, policy)))

    def score_of(items: Scored) -> dict[str, float]:
        return _clip_scores([(g.clip, sc["score"]) for g, _, sc in items if sc["score"] is not None])

    def describe_clips(per_clip: dict[str, float]) -> dict[str, Any]:
        clips = list(per_clip)
        return stats.describe([per_clip[c] for c in clips], bootstrap, seed, clusters=clips, bounds=(0.0, 1.0))

    by_system_clip: dict[str, dict[str, float]] = {}
    out_systems: list[dict[str, Any]] = []
    for name in systems:
        items = captions.get(name, [])
        per_clip = score_of(items)
        by_system_clip[name] = per_clip
        agg_counts = Counter(v for _, agg, _ in items for v in agg)
        raw_counts = Counter(v for g, _, _ in items for row in g.ratings.values() for v in row)
        total = sum(agg_counts.values())
        assessed = agg_counts["met"] + agg_counts["not_met"] + (agg_counts["cannot_assess"] if policy == "fail" else 0)
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
            "verdicts": {
                **{label: agg_counts.get(label, 0) for label in (*VERDICTS, ERROR)},
                "total": total,
                "met_rate": _rate(agg_counts["met"], assessed),
                "cannot_assess_rate": _rate(agg_counts["cannot_assess"], total - agg_counts[ERROR]),
                "error_rate": _rate(agg_counts[ERROR], total),
            },
            "ratings": {label: raw_counts.get(label, 0) for label in (*VERDICTS, ERROR)},
        }
        if len(judges) > 1:
            entry["by_judge"] = {
                j: describe_clips(
                    _clip_scores(
                        [
                            (g.clip, s)
                            for g, _, _ in items
                            if (s := caption_score(g.aggregated(n, j), weights, policy)["score"]) is not None
                        ]
                    )
                )
                for j in judges
            }
        out_systems.append(entry)

    criteria = []
    for c in range(n):
        per_sys: dict[str, Any] = {}
        for name in systems:
            items = captions.get(name, [])
            labels = [(g.clip, agg[c]) for g, agg, _ in items]
            valid = [(clip, v) for clip, v in labels if v != ERROR]
            judged = [(clip, v) for clip, v in valid if v != "cannot_assess" or policy == "fail"]
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
        criteria.append({"index": c, "weight": weights[c], "systems": per_sys})

    differences = []
    for a, b in itertools.combinations(systems, 2):
        common = [clip for clip in by_system_clip[a] if clip in by_system_clip[b]]
        diff = stats.paired_difference(
            [by_system_clip[a][c] for c in common],
            [by_system_clip[b][c] for c in common],
            clusters=common,
            n_resamples=bootstrap,
            seed=seed,
        )
        differences.append({"a": a, "b": b, **diff})

    summary = {
        "systems": out_systems,
        "criteria": criteria,
        "differences": differences,
        "agreement": agreement(groups, n, judges),
    }
    return Scoring(summary, groups, captions)


def agreement(groups: dict[CaptionKey, CaptionJudgments], n: int, judges: Sequence[str]) -> dict[str, Any] | None:
    """Agreement of the raters over every (caption, criterion), overall and per criterion; ``None``
    with a single rater. With several judges and several samples, also between the judges (each
    judge's majority over its samples)."""
    raters = sorted({r for g in groups.values() for r in g.ratings})
    if len(raters) < 2:
        return None
    out: dict[str, Any] = {
        "raters": [{"judge": j, "sample": s} for j, s in raters],
        **_agreement_tables(groups, n, raters, lambda g, r, c: g.ratings[r][c] if r in g.ratings else None),
    }
    samples = {s for _, s in raters}
    if len(judges) > 1 and len(samples) > 1:

        def judge_label(g: CaptionJudgments, judge: Any, c: int) -> str | None:
            rows = [row for (j, _), row in g.ratings.items() if j == judge]
            return majority(row[c] for row in rows) if rows else None

        out["between_judges"] = {
            "raters": list(judges),
            **_agreement_tables(groups, n, list(judges), judge_label),
        }
    return out


def _agreement_tables(groups: dict[CaptionKey, CaptionJudgments], n: int, raters: Sequence[Any], label) -> dict:
    from lalm_bench import stats

    keys = list(groups)

    def table(criteria: Sequence[int]) -> dict[str, Any]:
        matrix: list[list[str | None]] = [[] for _ in raters]
        counts = []
        unanimous = pairable = 0
        for key in keys:
            g = groups[key]
            for c in criteria:
                row = [label(g, r, c) for r in raters]
                row = [None if v in (None, ERROR) else v for v in row]
                for i, v in enumerate(row):
                    matrix[i].append(v)
                valid = [v for v in row if v is not None]
                if len(valid) >= 2:
                    pairable += 1
                    unanimous += len(set(valid)) == 1
                if len(valid) == len(raters):
                    counts.append([valid.count(v) for v in VERDICTS])
        alpha = stats.krippendorff_alpha(matrix, "nominal") if matrix[0] else None
        kappa = stats.fleiss_kappa(counts) if counts else None
        return {
            "krippendorff_alpha": alpha,
            "fleiss_kappa": kappa,
            "units_complete": len(counts),
            "unanimous_share": _rate(unanimous, pairable),
            "units_pairable": pairable,
        }

    return {"overall": table(range(n)), "per_criterion": [{"index": c, **table([c])} for c in range(n)]}


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
                    "met": sc["met"],
                    "not_met": sc["not_met"],
                    "cannot_assess": sc["cannot_assess"],
                    "error": sc["error"],
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
) -> list[dict[str, Any]]:
    """One row per rating: (caption, criterion, judge, sample) with the verdict, its reason and the majority."""
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
                    "error": r.error if r.verdicts[c] == ERROR else None,
                }
            )
    return rows
