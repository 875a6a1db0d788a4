"""``lalm-bench rubrics compare`` end to end: load and check, compare, write all outputs, report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lalm_bench.io import OutputOptions, OutputSet, check_outputs
from lalm_bench.rubrics.compare.config import CompareConfig
from lalm_bench.rubrics.compare.run import CompareResult, load_inputs, run_compare

if TYPE_CHECKING:
    from lalm_bench.rubrics.compare.core import Encoder


def compare_command(config: CompareConfig, output: OutputOptions, *, embedder: Encoder | None = None) -> CompareResult:
    """Every input and output is checked before the model loads; the JSON (and plot) are written together."""
    from lalm_bench.embeddings.options import check_embedding_options

    rubrics = load_inputs(config)
    check_outputs(
        {"--output": output.path, "--plot": output.plot},
        inputs=[r.path for r in rubrics],
        overwrite=output.overwrite,
    )
    if embedder is None:
        check_embedding_options(config.embedding)
    result = run_compare(config, rubrics=rubrics, embedder=embedder, progress=not output.quiet)
    warning = (result.threshold.get("calibration") or {}).get("warning")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    doc = result.to_json()
    with OutputSet() as out:
        out.json(output.path, doc)
        if output.plot:
            from lalm_bench.rubrics.compare.report import plot_compare

            with out.open(Path(output.plot), "wb") as fh:
                plot_compare(doc, fh)
    if not output.quiet:
        from lalm_bench.rubrics.compare.report import print_summary

        print_summary(doc)
        print(f"wrote {output.path}" + (f" and {output.plot}" if output.plot else ""))
    return result
