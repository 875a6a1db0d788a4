"""Which criteria apply to a clip: decided once per (clip, criterion), the same for every caption of the clip.

Rule (also in ``docs/rubrics-judge.md``): a criterion **applies** to a clip when a strict majority of the
deciding captions' verdicts on it are assessed (``met`` or ``not_met``) rather than ``cannot_assess``.
The deciding captions are the clip's reference captions (their verdicts aggregated over raters, judge
errors left out) when at least one of them has a verdict on the criterion; otherwise every judged caption
of the clip, of every system. A tie, or no verdict at all, means the criterion does not apply.

Under ``--cannot-assess skip`` every caption of the clip is then scored on exactly the applicable
criteria: a ``cannot_assess`` verdict on an applicable criterion counts as not met for that caption, a
verdict on a criterion that does not apply is left out. So two systems are scored on the same criteria
on each clip, and how much of that the judge could assess on each caption is reported apart
(``coverage``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lalm_bench.rubrics.judge.schema import ERROR

APPLICABILITY_RULE = (
    "a criterion applies to a clip when a strict majority of the verdicts of the clip's reference captions "
    "(each aggregated over raters; judge errors left out) are met or not_met rather than cannot_assess; "
    "without a reference verdict, the verdicts of every judged caption of the clip decide; a tie or no "
    "verdict: it does not apply. Every caption of the clip is scored on the applicable criteria only; "
    "cannot_assess on an applicable criterion counts as not met"
)
SOURCES = ("references", "all_captions", "none")


@dataclass(frozen=True)
class ClipApplicability:
    """Per criterion of one clip: whether it applies, and whose verdicts decided it."""

    applies: tuple[bool, ...]
    source: tuple[str, ...]  # one of SOURCES per criterion


def applies(verdicts: Iterable[str]) -> bool:
    """The rule on one (clip, criterion): strictly more assessed verdicts than ``cannot_assess`` ones."""
    assessed = unassessable = 0
    for v in verdicts:
        if v in ("met", "not_met"):
            assessed += 1
        elif v == "cannot_assess":
            unassessable += 1
    return assessed > unassessable


def decide_clip(
    reference_verdicts: Sequence[Sequence[str]], other_verdicts: Sequence[Sequence[str]], n: int
) -> ClipApplicability:
    """Applicability of the ``n`` criteria of one clip from the aggregated verdicts of its reference captions
    and of its other captions (one list of ``n`` verdicts per caption)."""
    flags, sources = [], []
    for c in range(n):
        refs = [row[c] for row in reference_verdicts if row[c] != ERROR]
        if refs:
            flags.append(applies(refs))
            sources.append("references")
            continue
        rest = [row[c] for row in [*reference_verdicts, *other_verdicts] if row[c] != ERROR]
        flags.append(applies(rest))
        sources.append("all_captions" if rest else "none")
    return ClipApplicability(tuple(flags), tuple(sources))


def decide(
    aggregated: Iterable[tuple[str, str, Sequence[str]]], n: int, reference_system: str | None
) -> dict[str, ClipApplicability]:
    """Applicability per clip from ``(system, clip, aggregated verdicts)`` of every judged caption."""
    refs: dict[str, list[Sequence[str]]] = {}
    others: dict[str, list[Sequence[str]]] = {}
    for system, clip, verdicts in aggregated:
        refs.setdefault(clip, [])
        others.setdefault(clip, [])
        (refs if system == reference_system else others)[clip].append(verdicts)
    return {clip: decide_clip(refs[clip], others[clip], n) for clip in refs}


def summary(per_clip: Mapping[str, ClipApplicability], weights: Sequence[float]) -> dict[str, object]:
    """Counts of the decision over every (clip, criterion): how many apply, and who decided."""
    units = [(a, s) for clip in per_clip.values() for a, s in zip(clip.applies, clip.source, strict=True)]
    per_clip_count = [sum(clip.applies) for clip in per_clip.values()]
    total_w = sum(weights)
    return {
        "rule": APPLICABILITY_RULE,
        "clips": len(per_clip),
        "units": len(units),
        "applicable": sum(a for a, _ in units),
        "decided_by": {s: sum(src == s for _, src in units) for s in SOURCES},
        "criteria_per_clip": {
            "mean": sum(per_clip_count) / len(per_clip_count) if per_clip_count else None,
            "min": min(per_clip_count, default=None),
            "max": max(per_clip_count, default=None),
        },
        "weight_share_per_clip": (
            sum(sum(w for w, a in zip(weights, clip.applies, strict=True) if a) for clip in per_clip.values())
            / (total_w * len(per_clip))
            if per_clip and total_w > 0
            else None
        ),
    }
