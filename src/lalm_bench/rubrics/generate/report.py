"""Human-facing output of ``rubrics generate``: a progress bar per run and a summary table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lalm_bench.rubrics.common.records import RunRecord
    from lalm_bench.rubrics.generate.job import GenerateJob, GenerateResult


class RunProgress:
    """A rich bar per run: clips done, failures, tokens used. ``attach(job)`` gives the per-clip callback."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.tally: dict[str, list[int]] = {}

    def __enter__(self) -> RunProgress:
        return self

    def attach(self, job: GenerateJob) -> Callable[[RunRecord], None] | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("clips · {task.fields[failed]} failed · {task.fields[tokens]} tokens"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.bar.__enter__()
        for run in job.runs:
            failed = sum(r.status == "failed" for r in run.records)
            tokens = sum(r.tokens for r in run.records)
            self.tally[run.name] = [failed, tokens]
            self.tasks[run.name] = self.bar.add_task(
                run.name, total=len(job.selection), completed=len(run.records), failed=failed, tokens=tokens
            )
        return self._update

    def _update(self, rec: RunRecord) -> None:
        st = self.tally[rec.run]
        st[0] += rec.status == "failed"
        st[1] += rec.tokens
        self.bar.update(self.tasks[rec.run], advance=1, failed=st[0], tokens=st[1])

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def print_summary(result: GenerateResult) -> None:
    from rich.console import Console
    from rich.table import Table

    cols = {
        "run": "run", "done": "done", "processed": "new", "ok": "ok", "failed": "failed", "calls": "calls",
        "cache_hits": "cached", "retries": "retries", "tokens": "tokens", "rubric_size": "criteria",
    }  # fmt: skip
    table = Table(title=f"rubrics generate (prompt {result.prompt_version})")
    for c, header in cols.items():
        table.add_column(header, justify="left" if c == "run" else "right")
    for row in result.runs:
        table.add_row(*(str(row[c]) if c != "done" else f"{row['done']}/{row['clips']}" for c in cols))
    Console().print(table)
    for row in result.runs:
        print(f"wrote {row['folder']}/log.jsonl")


def why_empty(records: Sequence[RunRecord]) -> str:
    """Why a run's clips left its rubric without a criterion, in one clause."""
    ok = [r for r in records if r.status == "ok"]
    failed = len(records) - len(ok)
    if not records:
        return "no clip was processed"
    if not ok:
        first = next((r for r in records if r.error), None)
        example = f" (e.g. {first.clip}, step {first.failed_step}: {first.error})" if first else ""
        return f"every one of the {failed} clips failed{example}"
    rejected = sum(len(r.rejected_criteria) for r in ok)
    accepted = sum(len(r.new_criteria) for r in ok)
    also = f"; {failed} other clips failed" if failed else ""
    if not accepted and not rejected:
        return f"the model proposed no criteria for any of the {len(ok)} clips it answered{also}"
    if not accepted:
        return (
            f"all {rejected} proposed criteria were rejected: their quotes are not words of the reference "
            f"caption (see rejected_criteria in the log){also}"
        )
    return f"the merge step kept none of the {accepted} accepted criteria{also}"


def empty_rubric_warnings(result: GenerateResult) -> list[str]:
    """One line per run that ended with no criterion, saying why (``rubrics judge`` refuses such a rubric)."""
    from pathlib import Path

    from lalm_bench.rubrics.common.records import RunRecord
    from lalm_bench.runs.log import read_records

    warnings = []
    for row in result.runs:
        if row["rubric_size"]:
            continue
        records = read_records(Path(row["folder"]) / "log.jsonl", RunRecord, repair=False)
        warnings.append(
            f"run {row['run']} has an empty rubric after {len(records)} clips: {why_empty(records)}; "
            "rubrics judge refuses an empty rubric"
        )
    return warnings
