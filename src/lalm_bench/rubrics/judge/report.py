"""Human-facing output of ``rubrics judge``: a progress bar, the summary table and the plot."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lalm_bench.rubrics.judge.outputs import JudgeResult
    from lalm_bench.rubrics.judge.schema import JudgeRecord
    from lalm_bench.rubrics.judge.state import JudgeState

MAX_PLOT_CRITERIA = 40


class JudgeProgress:
    """A rich bar over the judge units: captions judged, judge errors, tokens used."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.task: Any = None
        self.errors = 0
        self.tokens = 0

    def __enter__(self) -> JudgeProgress:
        return self

    def attach(self, state: JudgeState) -> Callable[[JudgeRecord], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.errors = sum(r.status == "error" for r in state.records)
        self.tokens = sum(r.tokens for r in state.records)
        self.bar = Progress(
            TextColumn("[bold]judge"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("captions · {task.fields[errors]} judge errors · {task.fields[tokens]} tokens"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.bar.__enter__()
        self.task = self.bar.add_task(
            "judge", total=len(state.units), completed=len(state.records), errors=self.errors, tokens=self.tokens
        )
        return self._update

    def _update(self, rec: JudgeRecord) -> None:
        self.errors += rec.status == "error"
        self.tokens += rec.tokens
        self.bar.update(self.task, advance=1, errors=self.errors, tokens=self.tokens)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _agreement(overall: dict[str, Any]) -> str:
    alpha = (overall["krippendorff_alpha"] or {}).get("value")
    kappa = (overall["fleiss_kappa"] or {}).get("value")
    return (
        f"{'–' if alpha is None else f'{alpha:.3f}'} / {'–' if kappa is None else f'{kappa:.3f}'} / "
        f"{_pct(overall['unanimous_share'])}"
    )


def print_summary(result: JudgeResult) -> None:
    from rich.console import Console
    from rich.table import Table

    doc = result.summary
    console = Console()
    rubric = doc["rubric"]
    policy = doc["policy"]["cannot_assess"]
    table = Table(title=f"rubrics judge: {rubric['label']} ({rubric['size']} criteria, cannot-assess {policy})")
    for header in (
        "system", "scored", "clips", "score", "95% CI", "coverage", "met", "cannot assess", "judge errors", "tokens",
    ):  # fmt: skip
        table.add_column(header, justify="left" if header == "system" else "right")
    methods = set()
    for s in doc["systems"]:
        v, d = s["verdicts"], s["score"]
        ci = d.get("ci95")
        methods.add(d.get("ci_method") or d.get("ci_note") or "no CI")
        table.add_row(
            s["name"],
            f"{s['scored_captions']}/{s['captions']}",
            str(s["scored_clips"]),
            "–" if d.get("mean") is None else f"{d['mean']:.3f}",
            f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "–",
            _pct((s.get("coverage") or {}).get("mean")),
            _pct(v["met_rate"]),
            _pct(v["cannot_assess_rate"]),
            str(s["unscored"]["judge_error"]),
            str(s["tokens"]["prompt_tokens"] + s["tokens"]["completion_tokens"]),
        )
    table.caption = (
        f"CI: {', '.join(sorted(methods))}, clustered by clip; met: share of the verdicts on applicable criteria; "
        "coverage: share of the applicable weight the judge assessed; cannot assess: share of all verdicts"
    )
    console.print(table)
    if doc["differences"]:
        diffs = Table(title="paired differences (a − b, on the clips both scored)")
        for header in ("a", "b", "clips", "difference [95% CI]", "CI"):
            diffs.add_column(header, justify="right" if header in ("clips", "difference [95% CI]") else "left")
        for d in doc["differences"]:
            ci = d.get("ci95")
            value = "–" if d["difference"] is None else f"{d['difference']:+.3f}"
            diffs.add_row(
                d["a"], d["b"], str(d["n"]), value + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""),
                str(d.get("ci_method") or d.get("ci_note") or ""),
            )  # fmt: skip
        console.print(diffs)
    applicable = doc.get("applicability")
    if applicable:
        mean = applicable["criteria_per_clip"]["mean"]
        console.print(
            f"applicability (once per clip and criterion, from the references' verdicts): "
            f"{applicable['applicable']}/{applicable['units']} (clip, criterion) apply, "
            f"{'–' if mean is None else f'{mean:.1f}'} criteria per clip"
        )
    human = doc.get("human_level")
    if human:
        console.print("human level: each reference judged against the others; not a ceiling, a model can exceed it")
    agreement = doc.get("agreement")
    if agreement:
        console.print(
            f"agreement of {len(agreement['raters'])} raters (Krippendorff's alpha / Fleiss' kappa / unanimous): "
            + "; ".join(
                f"{what} {_agreement(view['overall'])}"
                for what, view in (
                    ("verdicts", agreement),
                    ("applicability", agreement["applicability"]),
                    ("met vs not met among assessors", agreement["met_not_met"]),
                )
            )
        )
    run = doc["run"]
    errors = run["judge_errors"]
    console.print(
        f"{run['done']}/{run['units']} captions judged ({run['processed']} now, {run['resumed_from']} from the log); "
        f"{run['calls']} calls, {run['cache_hits']} from the cache, {run['retries']} retries, "
        f"{run['repairs']} repairs; judge errors: {errors['call']} failed calls, {errors['invalid']} invalid "
        f"replies, {errors['audio']} unreadable audio"
    )


def plot_judge(doc: dict[str, Any], fh: IO[bytes]) -> None:
    """Scores per system with 95% CIs (the human level as a band), and per-criterion met rates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    systems = doc["systems"]
    criteria = sorted(doc["criteria"], key=lambda c: (-c["weight"], c["index"]))[:MAX_PLOT_CRITERIA]
    names = [s["name"] for s in systems]
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(12, max(3.5, 0.28 * len(criteria) + 1.5)), gridspec_kw={"width_ratios": [1, 1.3]}
    )
    y = np.arange(len(systems))
    band = False
    for i, s in enumerate(systems):
        d = s["score"]
        if d.get("mean") is None:
            continue
        ci = d.get("ci95")
        err = None if not ci else [[d["mean"] - ci[0]], [ci[1] - d["mean"]]]
        color = "tab:gray" if s["kind"] == "references" else "tab:blue"
        ax1.errorbar(d["mean"], i, xerr=err, fmt="o", color=color, capsize=4)
        if s["kind"] == "references" and ci:
            ax1.axvspan(ci[0], ci[1], color="tab:gray", alpha=0.15, label="human level (95% CI)")
            band = True
    ax1.set_yticks(y, names)
    ax1.set_xlim(0, 1)
    ax1.set_ylim(len(systems) + 1.5, -1.0)
    ax1.set_xlabel(f"rubric score (cannot-assess: {doc['policy']['cannot_assess']})")
    ax1.set_title("mean score per system, 95% CI clustered by clip")
    if band:
        ax1.legend(loc="lower right", fontsize=8)
    rates = np.full((len(criteria), len(systems)), np.nan)
    for r, c in enumerate(criteria):
        for k, name in enumerate(names):
            m = c["systems"][name]["met_rate"].get("mean")
            if m is not None:
                rates[r, k] = m
    im = ax2.imshow(np.ma.masked_invalid(rates), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    labels = [f"{c['criterion'][:48]} (w {c['weight']})" for c in criteria]
    ax2.set_yticks(np.arange(len(criteria)), labels, fontsize=7)
    ax2.set_xticks(np.arange(len(systems)), names, rotation=30, ha="right", fontsize=8)
    more = len(doc["criteria"]) - len(criteria)
    ax2.set_title(
        "met rate per criterion (assessed captions)" + (f"; {more} lighter criteria not shown" if more else "")
    )
    fig.colorbar(im, ax=ax2, fraction=0.04)
    fig.tight_layout()
    fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
