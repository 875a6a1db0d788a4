"""Human-facing output of the listening probe: terminal tables and a plot."""

from __future__ import annotations

from typing import IO, Any


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _ci(d: dict[str, Any]) -> str:
    ci = d.get("ci95")
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "–"


def _with_ci(mean: float | None, d: dict[str, Any], sign: bool = False) -> str:
    """The value over its CI (two lines, so that tables fit a terminal)."""
    if mean is None:
        return "–"
    return (f"{mean:+.3f}" if sign else f"{mean:.3f}") + "\n" + _ci(d)


def _diff(d: dict[str, Any]) -> str:
    return _with_ci(d["mean_difference"], d, sign=True)


def _p(w: dict[str, Any], key: str = "p_value_text") -> str:
    return w.get(key) or "–"


def _methods(*docs: dict[str, Any]) -> str:
    seen: list[str] = []
    for d in docs:
        m = d.get("ci_method")
        if m and m not in seen:
            seen.append(m)
    return ", ".join(seen) or "none"


def print_summary(result: dict[str, Any]) -> None:
    """A table per category: matched mean, floor, same-question baseline, differences with CIs, and the
    listening gap when a second noise run was given."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result["matching"]
    console.print(
        f"matched {m['matched']} IDs (only in noise file: {m['only_in_noise']}, only in audio file: "
        f"{m['only_in_audio']}, category mismatches: {m['category_mismatches']})"
    )
    tr = result["manifest"]["truncation"]
    if tr["noise"] or tr["audio"] or tr.get("noise_2"):
        console.print(
            f"[yellow]truncated to {tr['max_seq_length']} tokens: {tr['noise']} noise and {tr['audio']} "
            f"audio outputs (longest {tr['max_tokens']} tokens)[/yellow]"
        )
    if result["clustering"]:
        c = result["clustering"]
        console.print(f"CIs clustered by {c['column']!r}: {c['n_clusters']} clusters")
    sq = result["same_question"]
    table = Table(title="answers with audio vs with noise: matched vs the floor (95% CIs below the values)")
    for col in ("category", "n", "matched", "floor", "matched − floor", "p (Holm)"):
        table.add_column(col, justify="left" if col == "category" else "right")
    names = ["overall", *result["by_category"]]
    for i, name in enumerate(names):
        d = result["overall"] if i == 0 else result["by_category"][name]
        fl = result["floor"]["overall"] if i == 0 else result["floor"]["by_category"][name]
        cmp = result["comparison"]["overall"] if i == 0 else result["comparison"]["by_category"][name]
        p = _p(cmp["wilcoxon"]) if i == 0 else _p(cmp["wilcoxon"], "p_holm_text")
        table.add_row(
            name, str(d["count"]), _with_ci(d["mean"], d), _fmt(fl["mean"]), _diff(cmp), p, end_section=i == 0
        )
    console.print(table)
    if sq["available"]:
        table = Table(title=f"items sharing their question ({sq['items']} items in {sq['groups']} questions)")
        for col in ("category", "n", "matched", "same-q", "matched − same-q", "same-q − floor", "p (Holm)"):
            table.add_column(col, justify="left" if col == "category" else "right")
        for i, name in enumerate(names):
            c = sq["comparison"]["overall"] if i == 0 else sq["comparison"]["by_category"][name]
            f = sq["above_floor"]["overall"] if i == 0 else sq["above_floor"]["by_category"][name]
            if i and not c["n"]:
                continue
            p = _p(c["wilcoxon"]) if i == 0 else _p(c["wilcoxon"], "p_holm_text")
            table.add_row(
                name,
                str(c["n"]),
                _fmt(c["matched_mean"]),
                _fmt(c["same_question_mean"]),
                _diff(c),
                _diff(f),
                p,
                end_section=i == 0,
            )
        console.print(table)
    overall_cmp = result["comparison"]["overall"]
    console.print(
        f"CIs: {_methods(result['overall'], overall_cmp)} overall, t below 30 values, none below 3; "
        "p: Wilcoxon signed-rank (secondary), Holm-adjusted across categories"
    )
    if not sq["available"]:
        console.print(f"same-question baseline: {sq['reason']}")
    lst = result["listening"]
    if not lst["available"]:
        console.print(f"listening gap: {lst['reason']}")
        return
    table = Table(title="listening gap: noise-vs-noise − audio-vs-noise (0: the answers ignore the audio)")
    for col in ("category", "n", "noise vs noise", "audio vs noise", "gap", "Wilcoxon p (Holm)"):
        table.add_column(col, justify="left" if col == "category" else "right")
    gap = lst["listening_gap"]
    for i, name in enumerate(["overall", *gap["by_category"]]):
        g = gap["overall"] if i == 0 else gap["by_category"][name]
        p = _p(g["wilcoxon"]) if i == 0 else _p(g["wilcoxon"], "p_holm_text")
        table.add_row(
            name,
            str(g["n"]),
            _fmt(g["noise_vs_noise_mean"]),
            _fmt(g["audio_vs_noise_mean"]),
            _diff(g),
            p,
            end_section=i == 0,
        )
    console.print(table)


def plot_similarity(result: dict[str, Any], fh: IO[bytes]) -> None:
    """Per-category box plots of matched similarity and its baselines, as PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = list(result["by_category"])
    detailed = result["detailed"]
    series = [("similarity", "same ID (matched)", "#4c72b0"), ("floor_similarity", "floor (other items)", "#c0c0c0")]
    if result["same_question"]["available"]:
        series.append(("same_question_similarity", "same question, other items", "#dd8452"))
    if result["listening"]["available"]:
        series.append(("noise_vs_noise", "noise vs noise", "#55a868"))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(cats) + 2), 4.8))
    pos = np.arange(len(cats))
    handles = []
    for s, (key, _, color) in enumerate(series):
        data = [np.array([r[key] for r in detailed if r["category"] == c and r.get(key) is not None]) for c in cats]
        offset = (s - (len(series) - 1) / 2) * width
        b = ax.boxplot(
            [d if len(d) else [np.nan] for d in data],
            positions=pos + offset,
            widths=width * 0.9,
            patch_artist=True,
            showfliers=False,
        )
        for patch in b["boxes"]:
            patch.set_facecolor(color)
        handles.append(b["boxes"][0])
    counts = [result["by_category"][c]["count"] for c in cats]
    ax.set_xticks(pos, [f"{c}\n(n={k})" for c, k in zip(cats, counts, strict=True)], rotation=30, ha="right")
    ax.set_ylabel("cosine similarity")
    ax.set_title("answers with audio vs with noise, and the baselines")
    ax.legend(handles, [label for _, label, _ in series], loc="lower left", fontsize="small")
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
