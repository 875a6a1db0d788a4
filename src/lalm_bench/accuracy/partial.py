"""How much of the clip: the accuracy curve against the seconds kept, and each item's shortest head.

Conditions named ``head-S`` (``predict --condition head:S`` writes ``preds_head-S.parquet``; ``head-S-cut``
when the rest was cut instead of silenced) form one curve per fill, ending at ``audio`` (the whole clip).
An item's **shortest head** is the smallest ``S`` such that the answer is right under ``audio`` and under
every head of ``S`` seconds or more (in that fill); ``None`` when it is wrong under ``audio`` or under the
longest head (the item needs more than the longest head given).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from lalm_bench.audio.sent import parse_partial

DEFINITION = (
    "shortest head: the smallest S such that the answer is right with the whole clip and under every head:S' "
    "with S' >= S (same fill); null when wrong with the whole clip or under the longest head given"
)


def is_partial(name: str) -> bool:
    """Whether a condition name is a partial-audio one (``head-5``, ``reversed`` …)."""
    try:
        return parse_partial(name.split("@", 1)[0]) is not None
    except ValueError:
        return False


def head_conditions(names: list[str]) -> dict[str, list[tuple[float, str]]]:
    """``{fill: [(seconds, condition), …]}`` for the ``head`` conditions among ``names``, shortest first."""
    out: dict[str, list[tuple[float, str]]] = {}
    for name in names:
        try:
            spec = parse_partial(name.split("@", 1)[0])
        except ValueError:
            continue
        if spec is not None and spec.kind == "head" and "@" not in name:
            assert spec.seconds is not None and spec.fill is not None
            out.setdefault(spec.fill, []).append((spec.seconds, name))
    return {fill: sorted(pairs) for fill, pairs in out.items()}


def shortest_heads(
    correct: dict[str, np.ndarray], reference: str, heads: list[tuple[float, str]]
) -> list[float | None]:
    """Per item, the shortest head that keeps the answer right (see the module docstring)."""
    ok = np.asarray(correct[reference], dtype=bool).copy()
    best: list[float | None] = [None] * ok.size
    for seconds, name in reversed(heads):  # longest first: a run of right answers down from the whole clip
        ok &= np.asarray(correct[name], dtype=bool)
        for i in np.flatnonzero(ok):
            best[i] = seconds
    return best


def head_curves(
    names: list[str], correct: dict[str, np.ndarray], conditions: dict[str, dict[str, Any]], reference: str
) -> tuple[dict[str, Any], dict[str, list[float | None]]]:
    """The curves (accuracy with its CI per head, then the whole clip) and the shortest head per item and fill."""
    curves: dict[str, Any] = {}
    per_item: dict[str, list[float | None]] = {}
    for fill, heads in head_conditions(names).items():
        points = [{"condition": name, "seconds": s, **_point(conditions[name])} for s, name in heads]
        points.append({"condition": reference, "seconds": None, **_point(conditions[reference])})
        best = shortest_heads(correct, reference, heads)
        per_item[fill] = best
        right = int(np.asarray(correct[reference], dtype=bool).sum())
        counts = Counter("none" if b is None else f"{b:g}" for b in best)
        needs_longest = right - sum(b is not None for b in best)
        curves[fill] = {
            "points": points,
            "shortest_head_counts": {f"{s:g}": counts.get(f"{s:g}", 0) for s, _ in heads},
            "right_with_audio": right,
            "right_with_audio_not_kept_by_longest_head": needs_longest,
            "share_of_right_needing_more_than_longest_head": needs_longest / right if right else None,
        }
    return curves, per_item


def _point(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("count", "correct", "accuracy", "ci95", "ci_method")
    return {k: stats.get(k) for k in keys}


def partial_audio(
    names: list[str],
    correct: dict[str, np.ndarray],
    conditions: dict[str, dict[str, Any]],
    reference: str,
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``partial_audio`` block of the accuracy result (``{}`` without ``head`` conditions); each item row
    gets ``shortest_head_<fill>``."""
    curves, shortest = head_curves(names, correct, conditions, reference)
    for fill, best in shortest.items():
        for row, value in zip(rows, best, strict=True):
            row[f"shortest_head_{fill}"] = value
    return {"curves": curves, "definition": DEFINITION} if curves else {}


def summary_lines(block: dict[str, Any]) -> list[str]:
    """One line per curve for the console: accuracy at each head, then the whole clip."""
    out = []
    for fill, curve in (block.get("curves") or {}).items():
        pts = ", ".join(f"{_at(p['seconds'])} {_pct(p.get('accuracy'))}" for p in curve["points"])
        counts = ", ".join(f"{s} s: {k}" for s, k in curve["shortest_head_counts"].items())
        out.append(
            f"head curve ({fill}): {pts}; shortest head {counts}; "
            f"{curve['right_with_audio_not_kept_by_longest_head']} right only with more than the longest head"
        )
    return out


def _at(seconds: float | None) -> str:
    return "whole clip" if seconds is None else f"{seconds:g} s"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"
