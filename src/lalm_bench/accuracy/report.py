"""Human-facing output of the choice-level probe: terminal tables and a plot (no computation)."""

from __future__ import annotations

from typing import IO, Any


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _acc(d: dict[str, Any], key: str = "accuracy", ci: str = "ci95") -> str:
    ci95 = d.get(ci)
    span = f" [{_pct(ci95[0])}, {_pct(ci95[1])}]" if ci95 else ""
    return f"{_pct(d.get(key))}{span}"


def _diff(cmp: dict[str, Any], prefix: str = "") -> str:
    d, ci = cmp.get(prefix.rstrip("_") or "difference"), cmp.get(f"{prefix}ci95")
    if d is None:
        return "–"
    span = f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else ""
    return f"{100 * d:+.1f}{span}"


def _rows(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    overall = {
        "count": result["scored"],
        "chance_accuracy": result["chance_accuracy"],
        "conditions": result["conditions"],
        "comparisons": result["comparisons"],
        "reliance": result["reliance"]["counts"],
        "expected_by_flipping": result["reliance"]["expected_by_flipping"]["expected_each"],
    }
    return [("overall", overall), *result["by_category"].items()]


def print_summary(result: dict[str, Any]) -> None:
    """Accuracy per category and condition, each control against audio, item labels, how answers were
    read, warnings (tables without vertical rules, to fit 80 columns)."""
    from rich.console import Console

    console = Console()
    names = list(result["conditions"])
    m = result["matching"]
    not_scored = ", ".join(f"{k} {r}" for r, k in result["not_scored"].items() if k) or "none"
    console.print(f"matched {m['matched']} ids; scored {result['scored']} items (not scored: {not_scored})")
    rows = _rows(result)
    _print_accuracy(console, rows, names)
    _print_controls(console, result, rows, names)
    _print_reliance(console, result, rows, names)
    _print_reading(console, result, names)
    from lalm_bench.accuracy.repeats import summary_lines

    for line in summary_lines(result.get("run_to_run")):
        console.print(line)
    from lalm_bench.accuracy import order, partial

    for line in partial.summary_lines(result.get("partial_audio") or {}):
        console.print(line, markup=False)
    for line in order.summary_lines(result.get("option_order") or {}):
        console.print(line, markup=False)
    for w in result["warnings"]:
        console.print(f"[yellow]warning: {w}[/yellow]")
    from rich.markup import escape

    from lalm_bench.stats.verdict import listening_verdict

    console.print(f"[bold]verdict:[/bold] {escape(listening_verdict(result).line)}")


def _table(title: str, columns: list[str], no_wrap: tuple[str, ...] = ()) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD)
    t.add_column("category")
    for col in columns:
        t.add_column(col, justify="right", no_wrap=col in no_wrap)
    return t


def _print_accuracy(console: Any, rows: list[tuple[str, dict[str, Any]]], names: list[str]) -> None:
    acc = _table("accuracy % [95% CI], unparsed answers count as wrong", ["n", "chance", *names], tuple(names))
    for i, (name, g) in enumerate(rows):
        acc.add_row(
            name,
            str(g["count"]),
            _pct(g["chance_accuracy"]),
            *(_acc(g["conditions"][c]) for c in names),
            end_section=i == 0,
        )
    console.print(acc)


def _print_controls(
    console: Any, result: dict[str, Any], rows: list[tuple[str, dict[str, Any]]], names: list[str]
) -> None:
    for control in names[1:]:
        delta, parsed = "Δ % [95% CI]", "Δ parsed % [95% CI]"
        t = _table(f"{control} vs audio: accuracy difference ({control} − audio); Δ parsed: items parsed under both",
                  [delta, parsed, "n parsed", "p Holm"], (delta, parsed))  # fmt: skip
        for i, (name, g) in enumerate(rows):
            cmp = g["comparisons"][control]
            t.add_row(
                name,
                _diff(cmp),
                _diff(cmp, "difference_parsed_"),
                str(cmp.get("difference_parsed_count", 0)),
                cmp.get("mcnemar_p_holm_text") or ("n/a" if cmp.get("holm_note") else "–"),
                end_section=i == 0,
            )
        console.print(t)
        cmp = result["comparisons"][control]
        bounds = cmp.get("difference_bounds")
        console.print(
            f"{control}: {cmp.get('ci_method')} intervals; McNemar p {cmp.get('mcnemar_p_text')}, flips "
            f"{_pct(cmp.get('flip_rate'))}% of items parsed under both; p Holm across categories (n/a: one item "
            "or no discordant pair)."
        )
        if bounds:
            console.print(
                f"{control}: Δ counts unparsed answers as wrong; were every unparsed answer right under one "
                f"condition and wrong under the other, Δ would lie in [{100 * bounds[0]:+.1f}, {100 * bounds[1]:+.1f}]."
            )


def _print_reliance(
    console: Any, result: dict[str, Any], rows: list[tuple[str, dict[str, Any]]], names: list[str]
) -> None:
    controls = result["reliance"].get("controls", names[1:])
    headers = ["audio only (refused)", "control only", "exp. by flipping", "both right", "both wrong"]
    rel = _table(f"items right under audio, under {' or '.join(controls)}, both or neither (one run each)", headers)
    for i, (name, g) in enumerate(rows):
        r = g["reliance"]
        exp = g.get("expected_by_flipping")
        rel.add_row(
            name,
            f"{r['right-only-with-audio'] + r['refused-without-audio']} ({r['refused-without-audio']})",
            str(r["right-only-without-audio"]),
            "–" if exp is None else f"{exp:.1f}",
            str(r["right-both"]),
            str(r["wrong-both"]),
            end_section=i == 0,
        )
    console.print(rel)
    console.print(
        "audio only = right-only-with-audio + refused-without-audio (refused under the control, in brackets); "
        "control only = right-only-without-audio. One run per condition cannot say that an item needs the audio: "
        "with no audio effect each of the two cells holds (b + c) / 2, the expected count by flipping."
    )
    needs = result["reliance"].get("needs-audio")
    if needs:
        console.print(
            f"needs-audio (repeats {needs['repeats']}): {needs['count']} items with q <= {needs['fdr']} "
            f"(exact sign test across repeats, Benjamini-Hochberg; {needs['with_a_refusal']} with a refusal)"
        )


def _print_reading(console: Any, result: dict[str, Any], names: list[str]) -> None:
    from rich import box
    from rich.table import Table

    reading = Table(title="how the answers were read (counts; rates in %)", box=box.SIMPLE_HEAD)
    reading.add_column("condition")
    for col in ("rules", "fallback", "unparsed", "refused", "acc. parsed [95% CI]"):
        reading.add_column(col, justify="right", no_wrap=col.startswith("acc"))
    for c in names:
        d = result["conditions"][c]
        reading.add_row(
            c,
            str(d["methods"]["rules"]),
            str(d["methods"]["embedding"] + d["methods"]["llm"]),
            _pct(d["unparsed_rate"]),
            _pct(d.get("refusal_rate")),
            _acc(d, "accuracy_parsed", "accuracy_parsed_ci95"),
        )
    console.print(reading)
    console.print(
        "refusal rate % [95% CI]: "
        + ", ".join(f"{c} {_acc(result['conditions'][c], 'refusal_rate', 'refusal_rate_ci95')}" for c in names)
        + "; hedged picks: "
        + ", ".join(f"{c} {result['conditions'][c].get('hedged_picks', 0)}" for c in names)
    )
    for c in names:
        reasons = result["conditions"][c]["unparsed_reasons"]
        if reasons:
            console.print(f"unparsed {c}: " + ", ".join(f"{r} {k}" for r, k in reasons.items()))


def plot_accuracy(result: dict[str, Any], fh: IO[bytes]) -> None:
    """Accuracy per category (overall first) per condition with 95% CIs; chance as a black dash. PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(result["conditions"])
    rows = _rows(result)
    k = len(names)
    width = 0.8 / k
    fig, ax = plt.subplots(figsize=(max(7.0, 0.55 * k * len(rows) + 2.5), 4.8))
    pos = np.arange(len(rows))
    colors = plt.get_cmap("tab10")
    for j, c in enumerate(names):
        x = pos - 0.4 + width * (j + 0.5)
        ds = [g["conditions"][c] for _, g in rows]
        acc = np.array([np.nan if d["accuracy"] is None else d["accuracy"] for d in ds])
        lo = np.array([d["ci95"][0] if d.get("ci95") else np.nan for d in ds])
        hi = np.array([d["ci95"][1] if d.get("ci95") else np.nan for d in ds])
        err = np.vstack([np.nan_to_num(acc - lo), np.nan_to_num(hi - acc)])
        ax.bar(x, acc, width, color=colors(j), label=c, yerr=err, capsize=2, error_kw={"linewidth": 0.8})
    chance = [g["chance_accuracy"] for _, g in rows]
    ax.hlines(chance, pos - 0.42, pos + 0.42, colors="black", linestyles="--", linewidth=1.2, label="chance (mean 1/k)")
    ax.set_xticks(pos, [f"{n}\n(n={g['count']})" for n, g in rows], rotation=30, ha="right")
    ax.set_ylim(0, 1.18)  # headroom for the legend above bars at 100%
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("accuracy (unparsed = wrong)")
    ax.set_title("accuracy per category and condition, 95% CIs (clustered where items share a clip)")
    ax.legend(loc="upper right", fontsize="small", ncol=min(k + 1, 4))
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
