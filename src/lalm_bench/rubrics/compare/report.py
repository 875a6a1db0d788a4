"""Human-facing output of ``rubrics compare``: the pair table and a plot (F1 matrix, growth curves)."""

from __future__ import annotations

from typing import IO, Any


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def print_summary(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = doc["threshold"]
    cal = t.get("calibration") or {}
    cv = cal.get("cross_validated") or {}
    how = (
        f"calibrated, 95% interval {cal.get('threshold_ci95')}; paraphrase vs hard negative: "
        f"J {cal.get('youden_j')} in sample, {cv.get('youden_j', '–')} held out ({cv.get('folds', '–')}-fold), "
        f"AUC {cal.get('auc')} {cal.get('auc_ci95')}"
        if t["source"] == "auto"
        else "given"
    )
    console.print(f"matching threshold {t['value']:.4f} ({how})")
    sizes = Table(title="rubrics")
    for header in ("#", "label", "kind", "criteria", "weight", "surviving"):
        sizes.add_column(header, justify="left" if header in ("label", "kind") else "right")
    per = doc["survival"]["per_rubric"]
    ids = {r["label"]: f"#{i}" for i, r in enumerate(doc["rubrics"], 1)}
    for r in doc["rubrics"]:
        sizes.add_row(
            ids[r["label"]], r["label"], r["kind"], str(r["size"]), str(r["total_weight"]),
            str(per[r["label"]]["surviving"]),
        )  # fmt: skip
    console.print(sizes)
    table = Table(title="pairs (precision = matched / |b|, recall = matched / |a|)")
    for header in ("a", "b", "matched", "precision", "recall", "F1", "Jaccard", "ρ weights", "weight coverage"):
        table.add_column(header, justify="right")
    for p in doc["pairs"]:
        table.add_row(
            ids[p["a"]], ids[p["b"]], str(p["matched"]), _f(p["precision"]), _f(p["recall"]), _f(p["f1"]),
            _f(p["jaccard"]), _f(p["weight_spearman"]), _f(p["weight_coverage"]),
        )  # fmt: skip
    console.print(table)
    s = doc["survival"]
    console.print(
        f"{s['n_survivors']} criteria survive in all {s['n_inputs']} rubrics "
        f"({s['n_survivors_all_pairs_matched']} matched pairwise); clusters by span: {s['span_histogram']}"
    )
    for label, g in doc["growth"]["curves"].items():
        sat = g["saturation"] or {}
        console.print(
            f"growth {label}: {g['final_size']} criteria after {g['n_clips']} clips ({g['failed_clips']} failed); "
            f"last {sat.get('window_clips')} clips add {_f(sat.get('tail_new_per_clip'), 2)}/clip vs "
            f"{_f(sat.get('overall_new_per_clip'), 2)}/clip overall (ratio {_f(sat.get('tail_to_overall'), 2)})"
        )


def plot_compare(doc: dict[str, Any], fh: IO[bytes]) -> None:
    """The F1 matrix as a heatmap and, for run folders, the rubric size after each clip; PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = doc["f1_matrix"]["labels"]
    values = np.array([[np.nan if v is None else v for v in row] for row in doc["f1_matrix"]["values"]], dtype=float)
    curves = doc["growth"]["curves"]
    n = len(labels)
    fig, axes = plt.subplots(1, 2 if curves else 1, figsize=(12 if curves else 6.5, max(4.0, 0.45 * n + 2.5)))
    ax = axes[0] if curves else axes
    im = ax.imshow(np.ma.masked_invalid(values), vmin=0, vmax=1, cmap="viridis")
    short = [lab if len(lab) <= 28 else "…" + lab[-27:] for lab in labels]
    ax.set_xticks(range(n), short, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(n), short, fontsize=8)
    for i in range(n):
        for j in range(n):
            if not np.isnan(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if values[i, j] < 0.6 else "black")  # fmt: skip
    ax.set_title(f"F1 of matched criteria (threshold {doc['threshold']['value']:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.04)
    if curves:
        ax2 = axes[1]
        for label, g in curves.items():
            ax2.plot(range(1, g["n_clips"] + 1), g["sizes"], marker=".", label=label)
        ax2.set_xlabel("clips")
        ax2.set_ylabel("rubric size (criteria)")
        ax2.set_title("growth: rubric size after each clip")
        ax2.legend(fontsize=7)
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
