"""Terminal output of ``accuracy --run …`` (model against model): leaderboard and pair tables, no computation."""

from __future__ import annotations

from typing import Any


def _pts(v: float | None, ci: list[float] | None = None) -> str:
    if v is None:
        return "–"
    span = f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else ""
    return f"{100 * v:+.1f}{span}"


def _pct(v: float | None, ci: list[float] | None = None) -> str:
    if v is None:
        return "–"
    span = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
    return f"{100 * v:.1f}{span}"


def _table(title: str, columns: list[str]) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    return t


def print_models_summary(result: dict[str, Any]) -> None:
    """The listening leaderboard, then per pair the difference with audio and the difference-in-differences
    per control (overall), then warnings."""
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    board = result["leaderboard"]
    control = board.get("control")
    if control is not None:
        t = _table(
            f"listening leaderboard: accuracy % [95% CI], drop under {control} and difference-in-differences "
            f"vs {board['best']} (points)",
            ["model", "n", "audio", control, "drop", "DiD vs best", "p Holm"],
        )
        for row in board["rows"]:
            p = row.get("did_vs_best_p_holm")
            t.add_row(
                escape(row["model"]),
                str(row["scored"]),
                _pct(row["accuracy_audio"], row["accuracy_audio_ci95"]),
                _pct(row["accuracy_control"], row["accuracy_control_ci95"]),
                _pts(row["drop"], row["drop_ci95"]),
                "(best)" if row["model"] == board["best"] else _pts(row["did_vs_best"], row["did_vs_best_ci95"]),
                "–" if p is None else f"{p:.3g}",
            )
        console.print(t)
    primary = control or (result["controls"][0] if result["controls"] else None)
    columns = ["pair", "n", "audio A-B", "p Holm"]
    if primary is not None:
        columns += [f"DiD {primary}", "p Holm"]
    t = _table("model A vs model B on the items both scored (points, paired 95% CI; Holm across pairs)", columns)
    for name, pair in result["pairs"].items():
        ov = pair["overall"]
        cells = [escape(name), str(pair["items_compared"]), _pts(ov["audio"]["difference"], ov["audio"]["ci95"])]
        cells.append(ov["audio"].get("p_holm_text") or "–")
        if primary is not None:
            d = ov["controls"][primary]["did"]
            cells += [_pts(d["did"], d["ci95"]), d.get("p_holm_text") or "–"]
        t.add_row(*cells)
    console.print(t)
    others = [c for c in result["controls"] if c != primary]
    if others:
        console.print(f"the DiD under {', '.join(others)} (and per category): pairs.<pair> in the JSON")
    console.print("DiD = (A_audio - A_control) - (B_audio - B_control): positive when A loses more than B")
    from lalm_bench.accuracy.repeats import summary_lines

    for name, doc in result["models"].items():
        for line in summary_lines(doc.get("run_to_run")):
            console.print(f"{escape(name)}: {line}")
    for w in result["warnings"]:
        console.print(f"[yellow]warning: {escape(w)}[/yellow]")
