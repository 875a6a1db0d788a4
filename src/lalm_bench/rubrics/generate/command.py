"""``lalm-bench rubrics generate`` end to end (what the CLI and the original-script wrappers in projects/ call)."""

from __future__ import annotations

import sys

from lalm_bench.errors import AllFailedError
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import ModelFactory
from lalm_bench.rubrics.generate.config import GenerateConfig
from lalm_bench.rubrics.generate.job import GenerateResult
from lalm_bench.rubrics.generate.run import run_generate


def generate_command(
    config: GenerateConfig, output: OutputOptions, *, model_factory: ModelFactory | None = None
) -> GenerateResult:
    """Run (or resume) every run with progress bars, print the table; exit status 3 when every clip processed
    by this call failed, else (even when quiet) a warning for each run left without criteria."""
    from lalm_bench.rubrics.generate.report import RunProgress, empty_rubric_warnings, print_summary

    with RunProgress(not output.quiet) as progress:
        result = run_generate(config, output, model_factory=model_factory, on_start=progress.attach)
    if not output.quiet:
        print_summary(result)
    total = result.total
    if total["processed"] and not total["ok"]:  # one error line says it all
        raise AllFailedError(
            f"all {total['processed']} clips processed failed (see the error of each record in the logs)"
        )
    for warning in empty_rubric_warnings(result):
        print(f"warning: {warning}", file=sys.stderr)
    return result
