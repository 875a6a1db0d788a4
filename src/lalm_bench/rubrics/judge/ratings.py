"""The ratings of a judge run grouped by caption, and the majority over raters.

A **rater** is one (judge, sample) pair; with several raters the verdict of a (caption, criterion) is the
most frequent verdict among the raters that gave one; a tie goes to ``not_met``, then ``cannot_assess``
(so ``met`` needs more votes than any other verdict); raters whose call failed (judge errors) do not
vote, and when none voted the verdict is a judge error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from lalm_bench.rubrics.judge.schema import ERROR, JudgeRecord

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
