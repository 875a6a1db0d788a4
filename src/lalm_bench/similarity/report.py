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
    """Lead with what answers "does the model listen?" — identical answers, the listening gap (with a second
    noise run), the content gap (with a mismatched run) — then matched vs the floor, the same-question
    baseline, and every note of the JSON."""
    from rich.console import Console

    console = Console()
    _print_inputs(console, result)
    _print_identical(console, result.get("identical") or {})
    names = ["overall", *result["by_category"]]
    lst = result["listening"]
    if lst["available"]:
        title = "listening gap: noise-vs-noise − audio-vs-noise (0: the answers ignore the audio)"
        _print_gap(
            console, lst["listening_gap"], title,
            ("noise vs noise", "audio vs noise"), ("noise_vs_noise_mean", "audio_vs_noise_mean"),
        )  # fmt: skip
        from lalm_bench.similarity.repeats import summary_line

        line = summary_line(result.get("run_to_run"))
        if line:
            console.print(line)
    content = result.get("content") or {"available": False, "reason": "not computed (format 2)"}
    if content["available"]:
        ref = content["reference"].replace("_", " ")
        _print_gap(
            console, content["content_gap"],
            f"content gap: {ref} − audio-vs-mismatched (0: the answer does not depend on which clip was sent)",
            (ref, "audio vs mismatched"), (f"{content['reference']}_mean", "audio_vs_mismatched_mean"),
        )  # fmt: skip
    from lalm_bench.similarity.controls import summary_lines

    for line in summary_lines(result.get("controls")):
        console.print(line, markup=False, highlight=False)
    _print_floor(console, result, names)
    sq = result["same_question"]
    if sq["available"]:
        _print_same_question(console, sq, names)
    overall_cmp = result["comparison"]["overall"]
    console.print(
        f"CIs: {_methods(result['overall'], overall_cmp)} overall, t below 30 values, none below 3; "
        "p: Wilcoxon signed-rank (secondary), Holm-adjusted across categories"
    )
    _print_notes(console, result, sq, lst, content)
    _print_verdict(console, result)


def _print_verdict(console: Any, result: dict[str, Any]) -> None:
    """The verdict line the report shows, and what not to conclude from this probe alone."""
    from rich.markup import escape

    from lalm_bench.stats.verdict import listening_verdict

    v = listening_verdict(similarity=result)
    console.print(f"[bold]verdict:[/bold] {escape(v.line)}")
    for c in v.caveats:
        console.print(f"  not to conclude: {escape(c)}")


def _print_inputs(console: Any, result: dict[str, Any]) -> None:
    from rich.markup import escape

    from lalm_bench.audio.arrival import describe as describe_arrival

    m = result["matching"]
    console.print(
        f"matched {m['matched']} IDs (only in noise file: {m['only_in_noise']}, only in audio file: "
        f"{m['only_in_audio']}, category mismatches: {m['category_mismatches']})"
    )
    arrival = describe_arrival(m.get("audio_arrival") or {})
    if arrival and m["audio_arrival"]["flagged"]:
        console.print(f"[yellow]{escape(arrival)}[/yellow]")
    tr = result["manifest"]["truncation"]
    if tr["noise"] or tr["audio"] or tr.get("noise_2"):
        console.print(
            f"[yellow]truncated to {tr['max_seq_length']} tokens: {tr['noise']} noise and {tr['audio']} "
            f"audio outputs (longest {tr['max_tokens']} tokens)[/yellow]"
        )
    if result["clustering"]:
        c = result["clustering"]
        console.print(f"CIs clustered by {c['column']!r}: {c['n_clusters']} clusters")


def _print_identical(console: Any, identical: dict[str, Any]) -> None:
    shown = [
        f"{name.replace('_', ' ')} {d['identical']}/{d['items']} ({100 * d['share']:.1f}%)"
        for name, d in identical.items()
        if d["items"]
    ]
    if not shown:
        return
    console.print("byte-identical answers: " + "; ".join(shown))
    d = identical.get("audio_vs_noise") or {}
    if d.get("share") is not None and d["share"] >= 0.9:
        console.print(
            f"[yellow]answers are identical under audio and noise for {100 * d['share']:.0f}% of items: this model "
            "is not using the audio, whatever matched − floor says[/yellow]"
        )


def _print_gap(console: Any, gap: dict[str, Any], title: str, columns: tuple[str, str], keys: tuple[str, str]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in ("category", "n", *columns, "gap", "Wilcoxon p (Holm)"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for i, name in enumerate(["overall", *gap["by_category"]]):
        g = gap["overall"] if i == 0 else gap["by_category"][name]
        p = _p(g["wilcoxon"]) if i == 0 else _p(g["wilcoxon"], "p_holm_text")
        table.add_row(name, str(g["n"]), _fmt(g.get(keys[0])), _fmt(g.get(keys[1])), _diff(g), p, end_section=i == 0)
    console.print(table)


def _print_floor(console: Any, result: dict[str, Any], names: list[str]) -> None:
    from rich.table import Table

    table = Table(title="answers with audio vs with noise: matched vs the floor (95% CIs below the values)")
    for col in ("category", "n", "matched", "floor", "matched − floor", "p (Holm)"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for i, name in enumerate(names):
        d = result["overall"] if i == 0 else result["by_category"][name]
        fl = result["floor"]["overall"] if i == 0 else result["floor"]["by_category"][name]
        cmp = result["comparison"]["overall"] if i == 0 else result["comparison"]["by_category"][name]
        p = _p(cmp["wilcoxon"]) if i == 0 else _p(cmp["wilcoxon"], "p_holm_text")
        table.add_row(
            name, str(d["count"]), _with_ci(d["mean"], d), _fmt(fl["mean"]), _diff(cmp), p, end_section=i == 0
        )
    console.print(table)


def _print_same_question(console: Any, sq: dict[str, Any], names: list[str]) -> None:
    from rich.table import Table

    by = " and ".join(sq.get("grouped_by") or ["question"])
    table = Table(title=f"items sharing their {by} ({sq['items']} items in {sq['groups']} groups)")
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


def _print_notes(
    console: Any, result: dict[str, Any], sq: dict[str, Any], lst: dict[str, Any], content: dict[str, Any]
) -> None:
    """Every note and reason that the JSON carries, so nothing is only in the file."""
    notes: list[str] = []
    if not sq["available"]:
        notes.append(f"same-question baseline: {sq['reason']}")
    elif sq.get("items_excluded"):
        notes.append(f"same-question baseline: {sq['items_excluded']} items left out by --exclude-questions")
    if not lst["available"]:
        notes.append(f"listening gap: {lst['reason']}")
    elif lst.get("note"):
        notes.append(f"listening gap: {lst['note']}")
    if not content["available"]:
        notes.append(f"content gap: {content['reason']}")
    floor = result["floor"]
    if floor.get("categories_without"):
        notes.append(f"floor: no other item in {', '.join(map(str, floor['categories_without']))}")
    for label, doc in (("matched", result["overall"]), ("matched − floor", result["comparison"]["overall"])):
        if doc.get("ci_note"):
            notes.append(f"{label}: {doc['ci_note']}")
    if result["clustering"] and result["clustering"].get("note"):
        notes.append(f"clusters: {result['clustering']['note']}")
    for note in notes:
        console.print(f"note: {note}")


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
