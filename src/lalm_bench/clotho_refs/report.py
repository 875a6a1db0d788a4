"""Human-facing output of ``clotho-refs``: a terminal summary and a histogram."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from lalm_bench.clotho_refs.run import ClothoRefsResult


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.4f}"


def print_summary(result: ClothoRefsResult) -> None:
    from rich.console import Console
    from rich.table import Table

    s = result.summary
    d = s["dataset"]
    console = Console()
    label = f"{d.get('name')} {d.get('split') or ''}".strip()
    console.print(
        f"{label}: {s['clips']} clips, {s['pairs']} pairs, {s['captions']} captions "
        f"({s['unique_captions']} distinct); clips skipped (< 2 captions): {d['clips_skipped']}"
    )
    tr = s["manifest"]["truncation"]
    if tr["truncated"]:
        console.print(f"[yellow]{tr['truncated']} caption(s) longer than {tr['max_seq_length']} tokens[/yellow]")
    table = Table(title="caption-pair similarity")
    for col in ("", "n", "mean", "std", "q05", "q50", "q95", "95% CI"):
        table.add_column(col, justify="left" if not col else "right")
    ci = s["ci95"]
    for name, dist, ci_text in (
        ("same clip", s, f"[{ci[0]:.4f}, {ci[1]:.4f}] ({s['ci_method']})" if ci else "–"),
        ("clip means", s["clip_means"], "–"),
        ("chance", s["chance"], "–"),
    ):
        q = dist["quantiles"]
        n = dist.get("count", s["pairs"])
        table.add_row(
            name, str(n), _f(dist["mean"]), _f(dist["std"]), _f(q["q05"]), _f(q["q50"]), _f(q["q95"]), ci_text
        )
    console.print(table)
    r = s["rules"]
    pz, cq, cl, cap = r["pair_z"], r["chance_quantile"], r["clip"], r["caption"]

    def count(v: int | None, reason: str | None) -> str:
        return str(v) if v is not None else f"none possible ({reason})"

    rules = Table(title="disagreement, rule by rule")
    for col in ("rule", "flagged", "in clips"):
        rules.add_column(col, justify="left" if col == "rule" else "right")
    rules.add_row(
        f"pairs, z <= -{pz['z_threshold']:g}",
        count(pz["low"], pz.get("low_reason") or pz["reason"]),
        "–" if pz["low"] is None else str(pz["clips"]),
    )
    rules.add_row(f"pairs, z >= {pz['z_threshold']:g}", count(pz["high"], pz.get("high_reason") or pz["reason"]), "")
    rules.add_row(
        f"pairs below the chance q{100 * cq['quantile']:g} ({_f(cq['threshold'])})",
        count(cq["pairs"], cq["reason"]),
        "–" if cq["clips"] is None else str(cq["clips"]),
    )
    rules.add_row(f"clips, robust z <= -{cl['z_threshold']:g}", count(cl["low"], cl["reason"]), "")
    caption_label = "captions vs their own clip, robust z" if cap.get("rule") == "clip" else "captions, z"
    rules.add_row(
        f"{caption_label} <= -{cap['z_threshold']:g}",
        count(cap["low"], cap["reason"]),
        "–" if cap["low"] is None else str(cap["clips_with_flagged_caption"]),
    )
    if cap["low"] is not None:
        rules.add_row("  of which alone in their clip (likely bad references)", str(cap["single_flagged_captions"]), "")
        rules.add_row(
            "  in low-agreement clips (2+ flagged captions)",
            str(cap["captions_in_low_agreement_clips"]),
            str(cap["low_agreement_clips"]),
        )
    console.print(rules)
    follows = cap.get("follows_clip_difficulty") or {}
    if follows.get("share") is not None:
        console.print(
            f"{follows['in_clips_below_median']} of {follows['flagged']} flagged captions "
            f"({100 * follows['share']:.0f}%) sit in clips below the median agreement"
            + ("; try --caption-rule clip" if cap.get("rule") != "clip" and follows["share"] > 0.75 else "")
        )
    mc = s["chance"].get("monte_carlo") or {}
    if mc and not mc.get("exact") and mc.get("mean_se") is not None:
        q95 = (mc.get("quantile_ci95") or {}).get("q95")
        console.print(
            f"chance from {mc['n']} sampled pairs: Monte Carlo SE of the mean {mc['mean_se']:.4f}"
            + (f", q95 in [{q95[0]:.4f}, {q95[1]:.4f}]" if q95 else "")
        )
    console.print("wrote " + ", ".join(s["files"].values()))


def plot_agreement(result: ClothoRefsResult, fh: IO[bytes]) -> None:
    """Histogram of same-clip pair similarity against the chance baseline, as PNG into ``fh``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    s = result.summary
    sims, chance = result.pair_similarities, result.chance_similarities
    lo = float(min(sims.min(), chance.min() if chance.size else sims.min()))
    bins = np.linspace(min(lo, 0.0), 1.0, 61).tolist()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.hist(sims, bins=bins, density=True, alpha=0.75, color="#4c72b0", label=f"same clip (n={sims.size})")
    if chance.size:
        ax.hist(chance, bins=bins, density=True, alpha=0.6, color="#a0a0a0", label=f"chance (n={chance.size})")
        ax.axvline(float(chance.mean()), color="#606060", linestyle="--", linewidth=1)
    ax.axvline(float(sims.mean()), color="#1f3b73", linestyle="--", linewidth=1)
    pz, cq = s["rules"]["pair_z"], s["rules"]["chance_quantile"]
    if pz["low"] is not None:
        cut = pz["cut_low"]
        ax.axvline(cut, color="#c44e52", linestyle=":", linewidth=1.2, label=f"pair z cut ({cut:.2f})")
    if cq["threshold"] is not None:
        ax.axvline(
            cq["threshold"],
            color="#8c6d31",
            linestyle="-.",
            linewidth=1.2,
            label=f"chance q{100 * cq['quantile']:g} ({cq['threshold']:.2f})",
        )
    low = "–" if pz["low"] is None else pz["low"]
    d = s["dataset"]
    ax.set_title(f"{d.get('name')} {d.get('split') or ''}: caption-pair similarity ({low} low outliers)".strip())
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("density")
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
