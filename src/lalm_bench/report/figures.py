"""Inline SVG figures: dot-and-whisker charts (forest plots, accuracy per condition, similarity baselines) and
line charts (growth curves). Every label is escaped; no script, no external reference."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f6fb2", "#d1495b", "#2e933c", "#8d5fd3", "#e08e0b", "#5c6770", "#00a6a6", "#b5651d")


@dataclass(frozen=True)
class Point:
    series: str
    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Row:
    label: str
    points: Sequence[Point]
    note: str = ""


def _step(span: float) -> float:
    """A round tick step giving about four to eight ticks over ``span``."""
    span = span or 1.0
    base = 10.0 ** math.floor(math.log10(span))
    for m in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0):
        if span / (base * m) <= 8:
            return base * m
    return base * 10


def nice_range(lo: float, hi: float) -> tuple[float, float]:
    """``[lo, hi]`` widened to round tick values (at least 0.1 wide)."""
    if hi - lo < 0.1:
        mid = (hi + lo) / 2
        lo, hi = mid - 0.05, mid + 0.05
    step = _step(hi - lo)
    return math.floor(lo / step - 1e-9) * step, math.ceil(hi / step + 1e-9) * step


def nice_ticks(x0: float, x1: float) -> list[float]:
    step = _step(x1 - x0)
    first = math.ceil(x0 / step - 1e-9)
    return [k * step for k in range(first, math.floor(x1 / step + 1e-9) + 1)]


def _fmt(x: float, percent: bool) -> str:
    if abs(x) < 1e-12:
        x = 0.0
    return f"{100 * x:.0f}%" if percent else f"{x:.2f}"


def dot_whisker(
    title: str,
    rows: Sequence[Row],
    *,
    lines: Sequence[tuple[float, str]] = (),
    percent: bool = False,
    x_range: tuple[float, float] | None = None,
    x_label: str = "",
) -> str:
    """Rows of labelled points with CI whiskers; ``lines``: vertical reference lines (value, label)."""
    series = list(dict.fromkeys(p.series for r in rows for p in r.points))
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    vals = [v for r in rows for p in r.points for v in (p.value, p.low, p.high) if v is not None]
    vals += [v for v, _ in lines]
    if x_range is None:
        lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        x_range = nice_range(lo, hi)
    x0, x1 = x_range
    ticks = nice_ticks(x0, x1)
    left, right, top, row_h = 190, 30, 44, 24
    sub = max(1, len(series))
    height = top + len(rows) * row_h + 46
    width = 720
    plot_w = width - left - right

    def x(v: float) -> float:
        v = min(max(v, x0), x1)
        return left + (v - x0) / (x1 - x0 or 1.0) * plot_w

    out = [
        f'<svg class="fig" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" class="ft">{escape(title)}</text>',
    ]
    for v in ticks:
        out.append(
            f'<line x1="{x(v):.1f}" y1="{top - 6}" x2="{x(v):.1f}" y2="{top + len(rows) * row_h}" class="grid"/>'
            f'<text x="{x(v):.1f}" y="{top + len(rows) * row_h + 14}" class="tick">{_fmt(v, percent)}</text>'
        )
    for v, label in lines:
        out.append(
            f'<line x1="{x(v):.1f}" y1="{top - 10}" x2="{x(v):.1f}" y2="{top + len(rows) * row_h}" class="ref"/>'
            f'<text x="{x(v) + 3:.1f}" y="{top - 12}" class="reflabel">{escape(label)}</text>'
        )
    for r_i, r in enumerate(rows):
        y_mid = top + r_i * row_h + row_h / 2
        label = r.label if len(r.label) <= 28 else r.label[:27] + "…"
        out.append(
            f'<text x="{left - 8}" y="{y_mid + 4:.1f}" class="rl">'
            f"<title>{escape(r.label)}</title>{escape(label)}</text>"
        )
        for p in r.points:
            if p.value is None:
                continue
            k = series.index(p.series)
            y = y_mid + (k - (sub - 1) / 2) * min(6.0, 16 / sub)
            c = colors[p.series]
            tip = f"{p.series}: {_fmt(p.value, percent)}"
            if p.low is not None and p.high is not None:
                tip += f" (95% CI {_fmt(p.low, percent)} to {_fmt(p.high, percent)})"
                out.append(
                    f'<line x1="{x(p.low):.1f}" y1="{y:.1f}" x2="{x(p.high):.1f}" y2="{y:.1f}" stroke="{c}" '
                    'stroke-width="2"/>'
                )
            out.append(
                f'<circle cx="{x(p.value):.1f}" cy="{y:.1f}" r="4" fill="{c}"><title>{escape(tip)}</title></circle>'
            )
    if x_label:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 16}" class="xl">{escape(x_label)}</text>')
    lx = left
    for s in series if len(series) > 1 else []:
        out.append(f'<circle cx="{lx}" cy="{height - 5}" r="4" fill="{colors[s]}"/>')
        out.append(f'<text x="{lx + 8}" y="{height - 1}" class="lg">{escape(s)}</text>')
        lx += 16 + 7 * len(s)
    out.append("</svg>")
    return "".join(out)


def line_chart(title: str, curves: Mapping[str, Sequence[float]], *, x_label: str, y_label: str) -> str:
    """Lines through ``curves`` (name → y per step 1, 2, …)."""
    width, height, left, right, top, bottom = 720, 260, 60, 20, 30, 40
    n = max((len(v) for v in curves.values()), default=1) or 1
    ys = [v for vals in curves.values() for v in vals] or [0.0, 1.0]
    y0, y1 = min(0.0, min(ys)), max(ys) or 1.0

    def px(i: int) -> float:
        return left + (i / max(1, n - 1)) * (width - left - right)

    def py(v: float) -> float:
        return top + (1 - (v - y0) / (y1 - y0 or 1.0)) * (height - top - bottom)

    out = [
        f'<svg class="fig" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" class="ft">{escape(title)}</text>',
        f'<line x1="{left}" y1="{py(y0):.1f}" x2="{width - right}" y2="{py(y0):.1f}" class="grid"/>',
        f'<text x="{left - 6}" y="{py(y1) + 4:.1f}" class="rl">{y1:g}</text>',
        f'<text x="{left - 6}" y="{py(y0) + 4:.1f}" class="rl">{y0:g}</text>',
        f'<text x="{(left + width) / 2:.0f}" y="{height - 8}" class="xl">{escape(x_label)}</text>',
        f'<text x="12" y="{top + 12}" class="lg">{escape(y_label)}</text>',
    ]
    for k, (name, vals) in enumerate(curves.items()):
        c = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals))
        out.append(
            f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        out.append(f'<text x="{left + 8}" y="{top + 14 + 14 * k}" class="lg" fill="{c}">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
