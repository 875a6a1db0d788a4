"""How the report's tables write a number: percentages, signed differences and 95% CIs, ``–`` for none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def ci_pair(ci: Sequence[float] | None) -> tuple[float | None, float | None]:
    """``(low, high)`` of a CI, ``(None, None)`` without one."""
    return (ci[0], ci[1]) if ci else (None, None)


def num(x: Any, pct: bool = False, signed: bool = False) -> str:
    """A number as the tables show it (three decimals, or a percentage with one)."""
    if x is None:
        return "–"
    if pct:
        return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def with_ci(v: Any, lo: Any, hi: Any, pct: bool = False, signed: bool = False) -> str:
    """A value with its CI in brackets; ``[no CI]`` when it has none."""
    if v is None:
        return "–"
    s = num(v, pct, signed)
    if lo is None or hi is None:
        return s + " [no CI]"
    return f"{s} [{num(lo, pct, signed)}, {num(hi, pct, signed)}]"
