"""Human-facing output of the listening probe: a terminal table and a plot."""

from __future__ import annotations

from typing import IO, Any


def _fmt(v: float | None, digits: int = 4) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _ci(d: dict[str, Any]) -> str:
    ci = d.get("ci95")
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "–"


def print_summary(result: dict[str, Any]) -> None:
    """A table per category: matched mean, CI, chance mean, difference, Wilcoxon p."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = result["matching"]
    console.print(
        f"matched {m['matched']} IDs (only in noise file: {m['only_in_noise']}, only in audio file: "
        f"{m['only_in_audio']}, category mismatches: {m['category_mismatches']})"
    )
    tr = result["manifest"]["truncation"]
    if tr["noise"] or tr["audio"]:
        console.print(
            f"[yellow]truncated to {tr['max_seq_length']} tokens: {tr['noise']} noise and {tr['audio']} "
            f"audio outputs (longest {tr['max_tokens']} tokens)[/yellow]"
        )
    table = Table(title="similarity of answers with audio vs with noise")
    for col in ("category", "n", "mean", "std", "95% CI", "chance", "Δ", "Wilcoxon p"):
        table.add_column(col, justify="left" if col == "category" else "right")
    rows = [("overall", result["overall"], result["chance"]["overall"], result["comparison"]["overall"])]
    rows += [
        (cat, d, result["chance"]["by_category"][cat], result["comparison"]["by_category"][cat])
        for cat, d in result["by_category"].items()
    ]
    for i, (name, d, ch, cmp) in enumerate(rows):
        p = cmp["wilcoxon"]["p_value"]
        table.add_row(
            name,
            str(d["count"]),
            _fmt(d["mean"]),
            _fmt(d["std"]),
            _ci(d),
            _fmt(ch["mean"]),
            _fmt(cmp["mean_difference"]),
            "–" if p is None else f"{p:.2g}",
            end_section=i == 0,
        )
    console.print(table)


def plot_similarity(result: dict[str, Any], fh: IO[bytes]) -> None:
    """Per-category box plots of matched vs chance similarity, as PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cats = list(result["by_category"])
    detailed = result["detailed"]
    matched = [np.array([r["similarity"] for r in detailed if r["category"] == c]) for c in cats]
    chance = [
        np.array(
            [r["chance_similarity"] for r in detailed if r["category"] == c and r["chance_similarity"] is not None]
        )
        for c in cats
    ]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(cats) + 2), 4.5))
    pos = np.arange(len(cats))
    b1 = ax.boxplot(matched, positions=pos - 0.18, widths=0.32, patch_artist=True, showfliers=False)
    b2 = ax.boxplot(
        [c if len(c) else [np.nan] for c in chance],
        positions=pos + 0.18,
        widths=0.32,
        patch_artist=True,
        showfliers=False,
    )
    for patch in b1["boxes"]:
        patch.set_facecolor("#4c72b0")
    for patch in b2["boxes"]:
        patch.set_facecolor("#c0c0c0")
    ax.set_xticks(pos, [f"{c}\n(n={len(m)})" for c, m in zip(cats, matched, strict=True)], rotation=30, ha="right")
    ax.set_ylabel("cosine similarity")
    ax.set_title("answers with audio vs with noise: matched IDs (blue) vs chance pairs (grey)")
    ax.legend([b1["boxes"][0], b2["boxes"][0]], ["same ID", "chance (other ID, same category)"], loc="lower left")
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
