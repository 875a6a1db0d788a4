"""``lalm-bench rubrics judge`` end to end (what the CLI calls)."""

from __future__ import annotations

from pathlib import Path

from lalm_bench.errors import AllFailedError
from lalm_bench.io import OutputOptions, OutputSet, check_outputs
from lalm_bench.llm.options import ModelFactory
from lalm_bench.rubrics.judge.config import JudgeConfig
from lalm_bench.rubrics.judge.outputs import JudgeResult, output_files
from lalm_bench.rubrics.judge.run import run_judge


def judge_command(
    config: JudgeConfig, output: OutputOptions, *, model_factory: ModelFactory | None = None
) -> JudgeResult:
    """Check every input and output, judge (or resume), then write the summary, the tables and the plot
    together from the complete log; exit status 3 when every caption judged by this call failed.

    The summary and tables belong to the run folder and are rebuilt on every call (a finished run
    summarised again under another ``--cannot-assess`` or ``--bootstrap`` makes no call); the plot, a
    file of the user's choosing, is replaced when this run wrote it before, else only with ``--overwrite``."""
    import pandas as pd

    from lalm_bench.rubrics.judge.report import JudgeProgress, print_summary

    files = output_files(Path(output.path), config.table_format)
    check_outputs(
        {"--plot": output.plot, **{f"-o/--output ({p.name})": p for p in files.values()}},
        inputs=[config.rubric, *(c.path for c in config.captions)],
        overwrite=True,  # the run folder's own files: RunFolder decides (resume, or refuse, or --overwrite)
    )
    plot = Path(output.plot) if output.plot is not None else None
    if plot is not None and plot.exists() and not output.overwrite and not _written_by_this_run(plot, files["summary"]):
        check_outputs({"--plot": plot}, overwrite=False)
    with JudgeProgress(not output.quiet) as progress:
        result = run_judge(config, output, model_factory=model_factory, on_start=progress.attach)
    doc = result.summary
    doc["files"] = {k: str(v) for k, v in files.items()} | ({"plot": str(output.plot)} if output.plot else {})
    with OutputSet() as out:
        out.json(files["summary"], doc)
        out.table(files["scores"], pd.DataFrame(result.scores))
        out.table(files["verdicts"], pd.DataFrame(result.verdicts))
        if output.plot:
            from lalm_bench.rubrics.judge.report import plot_judge

            with out.open(Path(output.plot), "wb") as fh:
                plot_judge(doc, fh)
    if not output.quiet:
        print_summary(result)
        print(f"wrote {', '.join(doc['files'].values())}")
    if result.call["processed"] and result.call["errors"] == result.call["processed"]:
        raise AllFailedError(
            f"all {result.call['processed']} captions judged by this call ended in a judge error (see "
            f"{files['verdicts']} and the log); the summary was written"
        )
    return result


def _written_by_this_run(plot: Path, summary: Path) -> bool:
    """Whether the run folder's summary names ``plot`` as its plot."""
    import json

    try:
        named = json.loads(summary.read_text(encoding="utf-8"))["files"]["plot"]
        return Path(named).resolve() == plot.resolve()
    except (OSError, ValueError, KeyError, TypeError):
        return False
