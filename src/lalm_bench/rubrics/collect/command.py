"""``lalm-bench rubrics collect`` end to end (the original scripts' ``rm_dup.py``)."""

from __future__ import annotations

from lalm_bench.io import OutputOptions
from lalm_bench.rubrics.collect.config import CollectConfig
from lalm_bench.rubrics.collect.report import print_summary
from lalm_bench.rubrics.collect.run import CollectResult, run_collect


def collect_command(config: CollectConfig, output: OutputOptions) -> CollectResult:
    """The final record of every run into ``output.path``; the caller exits 1 when any file failed."""
    result = run_collect(config, output.path, overwrite=output.overwrite)
    if not output.quiet:
        print_summary(result)
    return result
