"""Option order: is the pick the same option whatever the order the options are shown in?

Input: one row per (item, order) — ``predict --permute-choices K`` writes them into a condition's Parquet
with ``permutation_index`` (0 = the benchmark's order) and ``permutation`` (the displayed order as
indices into the original ``choices``). The displayed position picked maps back to option content
through the permutation. Per group of items (overall, per category):

- **consistency rate**: items whose picked option *content* is the same under every order given (an
  unparsed answer under any order counts as inconsistent);
- **correct under every order**: items right under every order;
- **position bias**: per number of options ``n``, how often each displayed position is picked (over all
  parsed answers) against the base rate ``1/n``: a share per position with a Wilson interval (cluster-Wilson
  with the item as cluster, since one item's orders are not independent) and Pearson's chi-square test of
  uniformity (``scipy.stats.chisquare``; it treats the answers as independent, see ``note``).

Only items asked under two or more orders enter the consistency rates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats

if TYPE_CHECKING:
    from lalm_bench.accuracy.items import Items

CHI_SQUARE_NOTE = (
    "Pearson's chi-square against 1/n per position, over all parsed answers (orders of one item are not "
    "independent: read p as descriptive when few items carry many orders)"
)


@dataclass(frozen=True)
class OrderedAnswer:
    """One answer of one item under one order."""

    item: str
    category: str
    gold: int  # index into the original choices
    permutation: tuple[int, ...]  # displayed position -> original index
    picked: int | None  # displayed position picked, None when unparsed

    @property
    def content(self) -> int | None:
        return None if self.picked is None else self.permutation[self.picked]


def consistency(answers: Sequence[OrderedAnswer], bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Consistency rate and correct-under-every-order over the items with two or more orders."""
    by_item: dict[str, list[OrderedAnswer]] = {}
    for a in answers:
        by_item.setdefault(a.item, []).append(a)
    multi = {k: v for k, v in by_item.items() if len(v) >= 2}
    same = np.array([len({a.content for a in v}) == 1 and v[0].content is not None for v in multi.values()])
    right = np.array([all(a.content == a.gold for a in v) for v in multi.values()])
    orders = sorted({len(v) for v in multi.values()})
    return {
        "items": len(multi),
        "orders_per_item": orders,
        "consistent": int(same.sum()),
        "consistency_rate": _share(same, bootstrap, seed),
        "correct_every_order": int(right.sum()),
        "correct_every_order_rate": _share(right, bootstrap, seed),
        "correct_base_order": int(sum(v[0].content == v[0].gold for v in multi.values())),
    }


def position_bias(answers: Sequence[OrderedAnswer], bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Per number of options: counts and shares of each displayed position picked, with CIs and the test."""
    from scipy.stats import chisquare

    out: dict[str, Any] = {}
    for n in sorted({len(a.permutation) for a in answers}):
        parsed = [a for a in answers if len(a.permutation) == n and a.picked is not None]
        if not parsed:
            continue
        picks = np.array([a.picked for a in parsed])
        clusters = np.array([a.item for a in parsed], dtype=object)
        counts = np.bincount(picks, minlength=n)
        positions = []
        for p in range(n):
            share = _share(picks == p, bootstrap, seed, clusters)
            positions.append({"position": p + 1, "picked": int(counts[p]), **share})
        test = chisquare(counts) if len(parsed) >= n else None
        out[str(n)] = {
            "answers": len(parsed),
            "items": len(set(clusters.tolist())),
            "base_rate": 1.0 / n,
            "positions": positions,
            "chi_square": None if test is None else float(test.statistic),
            "p_value": None if test is None else float(test.pvalue),
            "dof": n - 1,
        }
    return {"by_n_choices": out, "note": CHI_SQUARE_NOTE}


def order_report(answers: Sequence[OrderedAnswer], bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Consistency and position bias overall and per category."""
    cats = sorted({a.category for a in answers})

    def block(group: Sequence[OrderedAnswer]) -> dict[str, Any]:
        return {**consistency(group, bootstrap, seed), "position_bias": position_bias(group, bootstrap, seed)}

    return {
        "overall": block(answers),
        "by_category": {c: block([a for a in answers if a.category == c]) for c in cats},
    }


def _share(flags: np.ndarray, bootstrap: int, seed: int, clusters: np.ndarray | None = None) -> dict[str, Any]:
    if flags.size == 0:
        return {"rate": None, "ci95": None, "ci_method": None}
    d = stats.describe(flags.astype(float), max(bootstrap, 1), seed, clusters=clusters, binary=True)
    return {"rate": d["mean"], "ci95": d.get("ci95"), "ci_method": d.get("ci_method")}


def condition_answers(
    ids: Sequence[Any],
    categories: Sequence[str],
    choices: Sequence[Sequence[str]],
    gold: Sequence[int],
    base: Sequence[str | None],
    others: Sequence[tuple[int, int, list[int], str | None]],
) -> list[OrderedAnswer]:
    """The answers of one condition under every order, picks read by the rules on the options as displayed
    (``base``: the answers in the benchmark's order; ``others``: (item index, order, permutation, answer))."""
    from lalm_bench.accuracy.rules import extract_rules

    asked = {i for i, _, _, _ in others}
    out = []
    for i in sorted(asked):
        n = len(choices[i])
        e = extract_rules(base[i], choices[i])
        out.append(OrderedAnswer(str(ids[i]), categories[i], gold[i], tuple(range(n)), e.choice))
    for i, _, perm, text in sorted(others, key=lambda r: (r[0], r[1])):
        shown = [choices[i][j] for j in perm]
        e = extract_rules(text, shown)
        out.append(OrderedAnswer(str(ids[i]), categories[i], gold[i], tuple(perm), e.choice))
    return out


def option_order(items: Items, overall: dict[str, Any], bootstrap: int, seed: int) -> dict[str, Any]:
    """Consistency, correctness under every order and position bias per condition with other orders, and
    both listening axes side by side (accuracy drop against audio; consistency across orders); ``{}``
    when no file holds other orders."""
    if not items.orders:
        return {}
    per = {
        c: order_report(
            condition_answers(items.ids, items.categories, items.choices, items.gold, items.answers[c], rows),
            bootstrap,
            seed,
        )
        for c, rows in items.orders.items()
    }
    side = {}
    for c, rep in per.items():
        o = rep["overall"]
        comp = overall["comparisons"].get(c, {})
        side[c] = {
            "accuracy": overall["conditions"][c]["accuracy"],
            "accuracy_drop_vs_audio": comp.get("difference"),
            "consistency_rate": o["consistency_rate"]["rate"],
            "consistency_ci95": o["consistency_rate"]["ci95"],
            "correct_every_order_rate": o["correct_every_order_rate"]["rate"],
        }
    return {
        "conditions": per,
        "side_by_side": side,
        "reading": "picks read by the rules only (no fallback), on the options as displayed; unparsed counts as "
        "inconsistent",
        "definition": __doc__.split("\n\n", 1)[1].strip() if __doc__ else None,
    }


def summary_lines(block: dict[str, Any]) -> list[str]:
    """One line per condition for the console: consistency, correct under every order, the first position."""
    out = []
    for c, rep in (block.get("conditions") or {}).items():
        o = rep["overall"]
        first = []
        for n, b in o["position_bias"]["by_n_choices"].items():
            p = b["p_value"]
            first.append(
                f"n={n} first {_pct(b['positions'][0]['rate'])} (base {_pct(b['base_rate'])}"
                + ("" if p is None else f", chi-square p={p:.2g}")
                + ")"
            )
        out.append(
            f"option order {c}: {o['items']} items, consistent {_pct(o['consistency_rate']['rate'])}, "
            f"correct under every order {_pct(o['correct_every_order_rate']['rate'])}; " + "; ".join(first)
        )
    return out


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"
