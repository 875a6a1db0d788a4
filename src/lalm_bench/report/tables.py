"""The headline tables (per model × condition, per category, similarity) and their md / tex / csv forms."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from lalm_bench.report.cells import ci_pair, num, with_ci
from lalm_bench.report.items import order_conditions

TABLES = ("conditions", "categories", "similarity")


def headline_tables(models: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows of each headline table from the accuracy and similarity documents of each model."""
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for label, m in models.items():
        acc = m.get("accuracy")
        if acc:
            groups = [("(all)", acc), *acc.get("by_category", {}).items()]
            for cat, g in groups:
                conds = g.get("conditions", {})
                for cond in order_conditions(list(conds)):
                    c = conds[cond]
                    cmp = g.get("comparisons", {}).get(cond, {})
                    lo, hi = ci_pair(c.get("ci95"))
                    dlo, dhi = ci_pair(cmp.get("ci95"))
                    row = {
                        "model": label,
                        "category": cat,
                        "condition": cond,
                        "n": c.get("count"),
                        "accuracy": c.get("accuracy"),
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_method": c.get("ci_method"),
                        "change": cmp.get("difference"),
                        "change_ci_low": dlo,
                        "change_ci_high": dhi,
                        "change_ci_method": cmp.get("ci_method"),
                        "unparsed": c.get("unparsed"),
                        "chance": g.get("chance_accuracy"),
                    }
                    (out["conditions"] if cat == "(all)" else out["categories"]).append(row)
        sim = m.get("similarity")
        if sim:
            cmp = sim.get("comparison", {})
            gap = (sim.get("listening") or {}).get("listening_gap") or {}
            groups = [("(all)", sim.get("overall", {}), cmp.get("overall", {}), gap.get("overall", {}))]
            for cat, d in sim.get("by_category", {}).items():
                groups.append(
                    (cat, d, cmp.get("by_category", {}).get(cat, {}), gap.get("by_category", {}).get(cat, {}))
                )
            for cat, d, c, g in groups:
                lo, hi = ci_pair(d.get("ci95"))
                dlo, dhi = ci_pair(c.get("ci95"))
                glo, ghi = ci_pair(g.get("ci95"))
                out["similarity"].append(
                    {
                        "model": label,
                        "category": cat,
                        "n": d.get("count"),
                        "matched": d.get("mean"),
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_method": d.get("ci_method"),
                        "floor": c.get("floor_mean"),
                        "matched_minus_floor": c.get("mean_difference"),
                        "mmf_ci_low": dlo,
                        "mmf_ci_high": dhi,
                        "listening_gap": g.get("mean_difference"),
                        "gap_ci_low": glo,
                        "gap_ci_high": ghi,
                    }
                )
    return out


def model_rows(docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the model-against-model table from ``accuracy --run`` results (their leaderboard, as written)."""
    out = []
    for doc in docs:
        board = doc.get("leaderboard") or {}
        for r in board.get("rows") or []:
            lo, hi = ci_pair(r.get("accuracy_audio_ci95"))
            clo, chi = ci_pair(r.get("accuracy_control_ci95"))
            dlo, dhi = ci_pair(r.get("drop_ci95"))
            glo, ghi = ci_pair(r.get("did_vs_best_ci95"))
            out.append(
                {
                    "model": r.get("model"),
                    "control": board.get("control"),
                    "best": board.get("best"),
                    "n": r.get("scored"),
                    "accuracy_audio": r.get("accuracy_audio"),
                    "audio_ci_low": lo,
                    "audio_ci_high": hi,
                    "accuracy_control": r.get("accuracy_control"),
                    "control_ci_low": clo,
                    "control_ci_high": chi,
                    "drop": r.get("drop"),
                    "drop_ci_low": dlo,
                    "drop_ci_high": dhi,
                    "did_vs_best": r.get("did_vs_best"),
                    "did_ci_low": glo,
                    "did_ci_high": ghi,
                    "did_p_holm": r.get("did_vs_best_p_holm"),
                }
            )
    return out


def display(tables: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows of text) of each non-empty table."""
    shown = []
    acc_head = [
        "model",
        "condition",
        "n",
        "accuracy % [95% CI]",
        "change vs audio, pts [95% CI]",
        "unparsed",
        "chance %",
    ]
    for key, title in (("conditions", "Accuracy per condition"), ("categories", "Accuracy per category")):
        rows = tables[key]
        if not rows:
            continue
        head = acc_head if key == "conditions" else ["model", "category", *acc_head[1:]]
        body = []
        for r in rows:
            cells = [
                str(r["condition"]),
                str(r["n"]),
                with_ci(r["accuracy"], r["ci_low"], r["ci_high"], pct=True),
                "–"
                if r["condition"] == "audio"
                else with_ci(r["change"], r["change_ci_low"], r["change_ci_high"], True, True),
                str(r["unparsed"]),
                num(r["chance"], pct=True),
            ]
            body.append([str(r["model"]), *([str(r["category"])] if key == "categories" else []), *cells])
        shown.append((title, head, body))
    if tables["similarity"]:
        head = [
            "model",
            "category",
            "n",
            "matched [95% CI]",
            "floor",
            "matched − floor [95% CI]",
            "listening gap [95% CI]",
        ]
        body = [
            [
                str(r["model"]), str(r["category"]), str(r["n"]),
                with_ci(r["matched"], r["ci_low"], r["ci_high"]),
                num(r["floor"]),
                with_ci(r["matched_minus_floor"], r["mmf_ci_low"], r["mmf_ci_high"], signed=True),
                with_ci(r["listening_gap"], r["gap_ci_low"], r["gap_ci_high"], signed=True),
            ]
            for r in tables["similarity"]
        ]  # fmt: skip
        shown.append(("Answer similarity, audio vs noise", head, body))
    if tables.get("models_compared"):
        head = ["model", "control", "n", "accuracy with audio %", "under the control %", "drop, pts [95% CI]",
                "DiD vs the best, pts [95% CI]", "p (Holm)"]  # fmt: skip
        body = [
            [
                str(r["model"]), str(r["control"]), str(r["n"]),
                with_ci(r["accuracy_audio"], r["audio_ci_low"], r["audio_ci_high"], pct=True),
                with_ci(r["accuracy_control"], r["control_ci_low"], r["control_ci_high"], pct=True),
                with_ci(r["drop"], r["drop_ci_low"], r["drop_ci_high"], True, True),
                "(best)"
                if r["model"] == r["best"]
                else with_ci(r["did_vs_best"], r["did_ci_low"], r["did_ci_high"], True, True),
                "–" if r["did_p_holm"] is None else f"{r['did_p_holm']:.3g}",
            ]
            for r in tables["models_compared"]
        ]  # fmt: skip
        title = "Model against model: listening leaderboard (accuracy lost when the audio is replaced)"
        shown.append((title, head, body))
    from lalm_bench.report.probes import probe_display

    return shown + probe_display(tables)


def _md_cell(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(tables: dict[str, list[dict[str, Any]]]) -> str:
    parts = []
    for title, head, body in display(tables):
        parts.append(f"### {_md_cell(title)}\n")
        parts.append("| " + " | ".join(_md_cell(h) for h in head) + " |")
        parts.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|")
        parts.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in body)
        parts.append("")
    return "\n".join(parts) + "\n"


_TEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "–": "--", "−": "$-$",
}  # fmt: skip


def _tex(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def to_latex(tables: dict[str, list[dict[str, Any]]]) -> str:
    parts = ["% lalm-bench report: headline tables (booktabs)"]
    for title, head, body in display(tables):
        spec = "ll" + "r" * (len(head) - 2)
        parts += [
            "\\begin{table}[t]",
            "\\centering",
            f"\\caption{{{_tex(title)}}}",
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join(_tex(h) for h in head) + " \\\\",
            "\\midrule",
            *(" & ".join(_tex(c) for c in row) + " \\\\" for row in body),
            "\\bottomrule",
            "\\end{tabular}",
            "\\end{table}",
            "",
        ]
    return "\n".join(parts) + "\n"


def _csv_cell(v: Any) -> Any:
    """Empty for ``None``; text that a spreadsheet would run as a formula (model labels and categories are
    untrusted) gets a leading apostrophe."""
    if v is None:
        return ""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def to_csv(tables: dict[str, list[dict[str, Any]]]) -> str:
    """Every table in long form, one header: ``table`` names the table; numbers unrounded, empty when none."""
    columns: list[str] = ["table"]
    for rows in tables.values():
        for r in rows:
            for k in r:
                if k not in columns:
                    columns.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for name, rows in tables.items():
        for r in rows:
            w.writerow({"table": name, **{k: _csv_cell(v) for k, v in r.items()}})
    return buf.getvalue()
