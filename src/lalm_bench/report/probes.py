"""The probes of accuracy in the report: the accuracy curve against the seconds kept (``head:S`` conditions)
the option-order statistics (``predict --permute-choices``), as figures and headline tables, and the audio
that never arrived (``predict``'s per-item ``audio_arrival`` flags, as accuracy counted them).

Everything here reads the accuracy document's ``partial_audio``, ``option_order`` and ``arrival`` blocks as
they are (no number is recomputed); a document without them adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from lalm_bench.report import figures as fig
from lalm_bench.report.cells import ci_pair, num, with_ci

#: The accuracy keys the report's summary keeps for these views.
SUMMARY_KEYS = ("partial_audio", "option_order", "arrival")
TABLES = ("partial_audio", "option_order", "option_order_categories", "arrival")
#: The per-item flags of ``predict`` (see :mod:`lalm_bench.audio.arrival`), in the table's order.
ARRIVAL_FLAGS = ("ok", "cut", "dropped", "unknown", "unflagged")


def head_curve_svg(
    title: str,
    points: Sequence[tuple[str, float | None, float | None, float | None]],
    *,
    lines: Sequence[tuple[float, str]] = (),
) -> str:
    """Accuracy (0–1) with 95% CI whiskers at each head, in order of seconds kept (labels on the x axis),
    joined by a line; ``lines``: horizontal references (chance, no audio)."""
    width, height, left, right, top, bottom = 720, 280, 56, 24, 36, 52
    n = max(1, len(points))
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(i: int) -> float:
        return left + (i + 0.5) / n * plot_w

    def py(v: float) -> float:
        return top + (1 - min(max(v, 0.0), 1.0)) * plot_h

    c = fig.PALETTE[0]
    out = [
        f'<svg class="fig" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="8" y="18" class="ft">{escape(title)}</text>',
    ]
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{left}" y1="{py(v):.1f}" x2="{width - right}" y2="{py(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{py(v) + 4:.1f}" class="rl">{100 * v:.0f}%</text>'
        )
    for ref, label in lines:
        out.append(
            f'<line x1="{left}" y1="{py(ref):.1f}" x2="{width - right}" y2="{py(ref):.1f}" class="ref"/>'
            f'<text x="{width - right - 4}" y="{py(ref) - 4:.1f}" class="reflabel" text-anchor="end">'
            f"{escape(label)}</text>"
        )
    path = [(px(i), py(v)) for i, (_, v, _, _) in enumerate(points) if v is not None]
    if len(path) > 1:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in path)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>')
    for i, (label, value, lo, hi) in enumerate(points):
        out.append(f'<text x="{px(i):.1f}" y="{top + plot_h + 16}" class="tick">{escape(label)}</text>')
        if value is None:
            continue
        tip = f"{label}: {100 * value:.1f}%"
        if lo is not None and hi is not None:
            tip += f" (95% CI {100 * lo:.1f}% to {100 * hi:.1f}%)"
            out.append(
                f'<line x1="{px(i):.1f}" y1="{py(lo):.1f}" x2="{px(i):.1f}" y2="{py(hi):.1f}" stroke="{c}" '
                'stroke-width="2"/>'
            )
        out.append(
            f'<circle cx="{px(i):.1f}" cy="{py(value):.1f}" r="4" fill="{c}"><title>{escape(tip)}</title></circle>'
        )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" class="xl">seconds of the clip kept (head:S)</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _seconds(s: Any) -> str:
    return "whole clip" if s is None else f"{s:g} s"


def probe_figures(label: str, acc: Mapping[str, Any]) -> list[dict[str, str]]:
    """One accuracy-against-seconds-kept figure per fill (``pad``: the rest silenced; ``cut``: removed)."""
    out: list[dict[str, str]] = []
    curves = (acc.get("partial_audio") or {}).get("curves") or {}
    conds = acc.get("conditions") or {}
    chance = acc.get("chance_accuracy")
    for fill, curve in curves.items():
        points = [
            (_seconds(p.get("seconds")), p.get("accuracy"), *ci_pair(p.get("ci95"))) for p in curve.get("points") or []
        ]
        lines = [(chance, "chance")] if chance is not None else []
        none = (conds.get("none") or {}).get("accuracy")
        if none is not None:
            lines.append((none, "no audio"))
        what = "rest silenced" if fill == "pad" else "rest cut"
        out.append({
            "model": label, "kind": "partial_audio",
            "svg": head_curve_svg(f"{label}: accuracy against the seconds kept ({what}; 95% CI)", points, lines=lines),
        })  # fmt: skip
    return out


def _position_cell(bias: Mapping[str, Any]) -> str:
    """``n=4: 100/0/0/0% (base 25%), p=1e-12`` per number of options."""
    parts = []
    for n, b in (bias.get("by_n_choices") or {}).items():
        shares = "/".join("–" if p.get("rate") is None else f"{100 * p['rate']:.0f}" for p in b.get("positions") or [])
        p = b.get("p_value")
        test = "" if p is None else f", χ² p={p:.2g}"
        parts.append(f"n={n}: {shares}% (base {100 * b.get('base_rate', 0):.0f}%{test})")
    return "; ".join(parts) or "–"


def _first_position(bias: Mapping[str, Any]) -> tuple[str | None, float | None, float | None, float | None]:
    """The share of answers at the first displayed position, for the number of options with most answers."""
    blocks = bias.get("by_n_choices") or {}
    if not blocks:
        return None, None, None, None
    n, b = max(blocks.items(), key=lambda kv: kv[1].get("answers") or 0)
    first = (b.get("positions") or [{}])[0]
    return (n, first.get("rate"), *ci_pair(first.get("ci95")))


def _order_row(label: str, cond: str, cat: str, block: Mapping[str, Any], side: Mapping[str, Any]) -> dict[str, Any]:
    cons = block.get("consistency_rate") or {}
    every = block.get("correct_every_order_rate") or {}
    bias = block.get("position_bias") or {}
    lo, hi = ci_pair(cons.get("ci95"))
    elo, ehi = ci_pair(every.get("ci95"))
    first_n, first, flo, fhi = _first_position(bias)
    return {
        "model": label,
        "category": cat,
        "condition": cond,
        "items": block.get("items"),
        "consistency": cons.get("rate"),
        "consistency_ci_low": lo,
        "consistency_ci_high": hi,
        "consistency_ci_method": cons.get("ci_method"),
        "correct_every_order": every.get("rate"),
        "every_ci_low": elo,
        "every_ci_high": ehi,
        "accuracy": side.get("accuracy"),
        "accuracy_drop_vs_audio": side.get("accuracy_drop_vs_audio"),
        "first_position_n_choices": first_n,
        "first_position": first,
        "first_ci_low": flo,
        "first_ci_high": fhi,
        "positions": _position_cell(bias),
    }


def probe_tables(models: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows of the probe tables from each model's accuracy summary (``{label: {"accuracy": …}}``)."""
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for label, m in models.items():
        acc = m.get("accuracy") or {}
        for fill, curve in ((acc.get("partial_audio") or {}).get("curves") or {}).items():
            counts = curve.get("shortest_head_counts") or {}
            for p in curve.get("points") or []:
                lo, hi = ci_pair(p.get("ci95"))
                s = p.get("seconds")
                out["partial_audio"].append({
                    "model": label, "fill": fill, "condition": p.get("condition"), "seconds": s,
                    "n": p.get("count"), "accuracy": p.get("accuracy"), "ci_low": lo, "ci_high": hi,
                    "ci_method": p.get("ci_method"),
                    "shortest_head_here": None if s is None else counts.get(f"{s:g}"),
                    "needs_more_than_longest_head": curve.get("right_with_audio_not_kept_by_longest_head")
                    if s is None else None,
                })  # fmt: skip
        order = acc.get("option_order") or {}
        side = order.get("side_by_side") or {}
        for cond, rep in (order.get("conditions") or {}).items():
            out["option_order"].append(_order_row(label, cond, "(all)", rep.get("overall") or {}, side.get(cond) or {}))
            for cat, block in (rep.get("by_category") or {}).items():
                out["option_order_categories"].append(_order_row(label, cond, cat, block, {}))
        out["arrival"] += _arrival_rows(label, acc.get("arrival") or {})
    return out


def _arrival_rows(label: str, arrival: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per condition whose file carried flags; none when no flag says the audio failed to arrive."""
    per = {c: v for c, v in (arrival.get("by_condition") or {}).items() if isinstance(v, Mapping)}
    if not arrival.get("flagged") and not any(v.get("cut") or v.get("dropped") for v in per.values()):
        return []
    return [
        {"model": label, "condition": c, **{f: v.get(f) for f in ARRIVAL_FLAGS},
         "items_flagged": arrival.get("flagged"), "items_left_out": arrival.get("excluded")}
        for c, v in per.items()
    ]  # fmt: skip


def _first_cell(r: Mapping[str, Any]) -> str:
    if r["first_position"] is None:
        return "–"
    n = r["first_position_n_choices"]
    share = with_ci(r["first_position"], r["first_ci_low"], r["first_ci_high"], True)
    return f"n={n}: {share} (base {100 / int(n):.0f})"


def probe_display(tables: Mapping[str, list[dict[str, Any]]]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows of text) of each non-empty probe table."""
    shown = []
    rows = tables.get("partial_audio") or []
    if rows:
        head = ["model", "fill", "seconds kept", "n", "accuracy % [95% CI]", "items whose shortest head is this"]
        body = [
            [str(r["model"]), str(r["fill"]), _seconds(r["seconds"]), str(r["n"]),
             with_ci(r["accuracy"], r["ci_low"], r["ci_high"], True),
             str(r["shortest_head_here"]) if r["seconds"] is not None
             else f"{r['needs_more_than_longest_head']} right only with more than the longest head"]
            for r in rows
        ]  # fmt: skip
        shown.append(("How much of the clip: accuracy against the seconds kept", head, body))
    order_head = [
        "consistency % [95% CI]", "correct under every order % [95% CI]", "first position picked % [95% CI]",
        "picked per position (χ² against 1/n)",
    ]  # fmt: skip
    rows = tables.get("option_order") or []
    if rows:
        head = ["model", "condition", "items", *order_head, "accuracy %", "change vs audio, pts"]
        body = [
            [str(r["model"]), str(r["condition"]), str(r["items"]),
             with_ci(r["consistency"], r["consistency_ci_low"], r["consistency_ci_high"], True),
             with_ci(r["correct_every_order"], r["every_ci_low"], r["every_ci_high"], True),
             _first_cell(r), r["positions"],
             num(r["accuracy"], True),
             "–" if r["condition"] == "audio" else num(r["accuracy_drop_vs_audio"], True, True)]
            for r in rows
        ]  # fmt: skip
        shown.append(("Option order: the same choice under every order, and position bias", head, body))
    rows = tables.get("option_order_categories") or []
    if rows:
        head = ["model", "category", "condition", "items", *order_head]
        body = [
            [str(r["model"]), str(r["category"]), str(r["condition"]), str(r["items"]),
             with_ci(r["consistency"], r["consistency_ci_low"], r["consistency_ci_high"], True),
             with_ci(r["correct_every_order"], r["every_ci_low"], r["every_ci_high"], True),
             _first_cell(r), r["positions"]]
            for r in rows
        ]  # fmt: skip
        shown.append(("Option order per category", head, body))
    rows = tables.get("arrival") or []
    if rows:
        head = ["model", "condition", *ARRIVAL_FLAGS, "items flagged (any condition)", "left out of the statistics"]
        body = [
            [str(r["model"]), str(r["condition"]), *("–" if r[f] is None else str(r[f]) for f in ARRIVAL_FLAGS),
             str(r["items_flagged"]), str(r["items_left_out"])]
            for r in rows
        ]  # fmt: skip
        shown.append(("Audio that never arrived: predict's per-item flags from prompt tokens", head, body))
    return shown
