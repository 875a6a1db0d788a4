"""``lalm-bench clotho-refs`` end to end: find the captions, check every output, measure, write all, report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.clotho_refs.inputs import plan_inputs
from lalm_bench.clotho_refs.run import ClothoRefsResult, run_clotho_refs
from lalm_bench.io import OutputOptions, OutputSet, check_folder_writable, check_outputs

if TYPE_CHECKING:
    from lalm_bench.embeddings.encoder import Embedder


def clotho_refs_command(
    config: ClothoRefsConfig, output: OutputOptions, *, embedder: Embedder | None = None
) -> ClothoRefsResult:
    """All checks (split, dataset present, outputs writable, device) happen before any model work, and
    the files are written together once everything is computed: a failure leaves no partial output."""
    from lalm_bench.embeddings.options import check_embedding_options
    from lalm_bench.errors import InputError

    if not config.z_threshold > 0 or config.z_threshold == float("inf"):
        raise InputError(f"--z-threshold must be a positive number, got {config.z_threshold}")
    if not 0.0 < config.chance_quantile < 1.0:
        raise InputError(f"--chance-quantile must be between 0 and 1 (exclusive), got {config.chance_quantile}")
    plan = plan_inputs(config)
    config = replace(config, split=plan.label)
    check_folder_writable(output.path)
    paths = plan.output_paths(output.path)
    check_outputs(
        {**{f"-o/--output ({p.name})": p for p in paths.values()}, "--plot": output.plot},
        inputs=[plan.path],
        overwrite=output.overwrite,
    )
    if embedder is None:
        check_embedding_options(config.embedding)
    result = run_clotho_refs(config, plan=plan, embedder=embedder, progress=not output.quiet)
    result.summary["files"] = {k: str(v) for k, v in paths.items()} | (
        {"plot": str(output.plot)} if output.plot else {}
    )
    with OutputSet() as out:
        out.csv(paths["pairs"], result.pairs)
        out.csv(paths["outliers"], result.outliers)
        out.csv(paths["caption_outliers"], result.caption_outliers)
        out.csv(paths["clips"], result.clips)
        out.json(paths["summary"], result.summary)
        if output.plot:
            from lalm_bench.clotho_refs.report import plot_agreement

            with out.open(Path(output.plot), "wb") as fh:
                plot_agreement(result, fh)
    if not output.quiet:
        from lalm_bench.clotho_refs.report import print_summary

        print_summary(result)
    return result
