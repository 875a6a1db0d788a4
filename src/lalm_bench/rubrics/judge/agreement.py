"""Agreement of the raters (judge x sample) of a judge run, in three views of the same verdicts.

* ``verdicts``: the three labels as given (``overall`` and ``per_criterion`` at the top level, as before);
* ``applicability``: assessed (``met`` or ``not_met``) against ``cannot_assess``: do the raters agree on
  whether the criterion can be judged for this caption?
* ``met_not_met``: ``met`` against ``not_met`` among the raters who assessed (a ``cannot_assess`` is a
  missing value): where they judged it, do they agree on the verdict?

One alpha over three labels mixes the two questions (a run can agree well on met/not met and poorly on
applicability). Judge errors are missing values in every view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lalm_bench.rubrics.judge.ratings import CaptionJudgments, CaptionKey, majority
from lalm_bench.rubrics.judge.schema import ERROR, VERDICTS

Label = Callable[[CaptionJudgments, Any, int], "str | None"]


def _as_given(v: str) -> str | None:
    return v


def _applicability(v: str) -> str | None:
    return "cannot_assess" if v == "cannot_assess" else "assessed"


def _met_not_met(v: str) -> str | None:
    return None if v == "cannot_assess" else v


VIEWS: dict[str, tuple[Callable[[str], str | None], tuple[str, ...]]] = {
    "verdicts": (_as_given, VERDICTS),
    "applicability": (_applicability, ("assessed", "cannot_assess")),
    "met_not_met": (_met_not_met, ("met", "not_met")),
}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def agreement_table(
    groups: Mapping[CaptionKey, CaptionJudgments],
    criteria: Sequence[int],
    raters: Sequence[Any],
    label: Label,
    view: str = "verdicts",
) -> dict[str, Any]:
    """Krippendorff's alpha (nominal), Fleiss' kappa (units every rater labelled) and the unanimous share over
    every (caption, criterion in ``criteria``), with the labels mapped by ``view`` (see the module docstring)."""
    from lalm_bench import stats

    mapping, categories = VIEWS[view]
    matrix: list[list[str | None]] = [[] for _ in raters]
    counts = []
    unanimous = pairable = 0
    for g in groups.values():
        for c in criteria:
            row = [label(g, r, c) for r in raters]
            row = [None if v in (None, ERROR) else mapping(v) for v in row]  # type: ignore[arg-type]
            for i, v in enumerate(row):
                matrix[i].append(v)
            valid = [v for v in row if v is not None]
            if len(valid) >= 2:
                pairable += 1
                unanimous += len(set(valid)) == 1
            if len(valid) == len(raters):
                counts.append([valid.count(v) for v in categories])
    alpha = stats.krippendorff_alpha(matrix, "nominal") if matrix[0] else None
    kappa = stats.fleiss_kappa(counts) if counts else None
    return {
        "krippendorff_alpha": alpha,
        "fleiss_kappa": kappa,
        "units_complete": len(counts),
        "unanimous_share": _rate(unanimous, pairable),
        "units_pairable": pairable,
    }


def agreement_tables(
    groups: Mapping[CaptionKey, CaptionJudgments], n: int, raters: Sequence[Any], label: Label
) -> dict[str, Any]:
    """``overall`` and ``per_criterion`` of the verdicts as given, then the same for the two other views."""

    def view_tables(view: str) -> dict[str, Any]:
        return {
            "overall": agreement_table(groups, range(n), raters, label, view),
            "per_criterion": [{"index": c, **agreement_table(groups, [c], raters, label, view)} for c in range(n)],
        }

    return {**view_tables("verdicts"), "applicability": view_tables("applicability"),
            "met_not_met": view_tables("met_not_met")}  # fmt: skip


def agreement(groups: Mapping[CaptionKey, CaptionJudgments], n: int, judges: Sequence[str]) -> dict[str, Any] | None:
    """Agreement of the raters over every (caption, criterion), overall and per criterion, in the three views;
    ``None`` with a single rater. With several judges and several samples, also between the judges (each
    judge's majority over its samples)."""
    raters = sorted({r for g in groups.values() for r in g.ratings})
    if len(raters) < 2:
        return None
    out: dict[str, Any] = {
        "raters": [{"judge": j, "sample": s} for j, s in raters],
        **agreement_tables(groups, n, raters, lambda g, r, c: g.ratings[r][c] if r in g.ratings else None),
    }
    samples = {s for _, s in raters}
    if len(judges) > 1 and len(samples) > 1:

        def judge_label(g: CaptionJudgments, judge: Any, c: int) -> str | None:
            rows = [row for (j, _), row in g.ratings.items() if j == judge]
            return majority(row[c] for row in rows) if rows else None

        out["between_judges"] = {"raters": list(judges), **agreement_tables(groups, n, list(judges), judge_label)}
    return out
