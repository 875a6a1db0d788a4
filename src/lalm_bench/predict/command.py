"""``lalm-bench predict`` end to end: check, run (resuming), write every condition's table and manifest."""

from __future__ import annotations

from lalm_bench.errors import AllFailedError
from lalm_bench.io import OutputOptions, OutputSet, check_folder_writable, check_outputs
from lalm_bench.llm.options import ModelFactory
from lalm_bench.predict.config import PredictConfig, condition_files, runs_folder
from lalm_bench.predict.outputs import PredictResult
from lalm_bench.predict.run import run_predict
from lalm_bench.predict.samples import sample_files, sample_label


def predict_command(
    config: PredictConfig, output: OutputOptions, *, model_factory: ModelFactory | None = None
) -> PredictResult:
    """Validate before any request, run every condition, write all outputs together, report.

    Outputs of a condition whose run is resumed are rebuilt from its log without ``--overwrite`` (they are
    derived from it); any other existing output needs ``--overwrite`` (checked with the run folders, before
    any request). Exit status 3 when every item processed by this call failed (the outputs are written)."""
    from lalm_bench.predict.report import print_summary, print_warnings

    config.validate()
    files = {}
    for c in config.conditions:
        for k in range(config.samples):
            table, manifest = sample_files(*condition_files(output.path, c), k)
            label = sample_label(c, k)
            files[f"--output ({label})"], files[f"manifest ({label})"] = table, manifest
    inputs = [config.benchmark, *([config.prompt_template] if config.prompt_template else [])]
    check_outputs(files, inputs=inputs, overwrite=True)  # existence: see the docstring
    check_folder_writable(runs_folder(output.path), "run folder")
    result = run_predict(config, output, model_factory=model_factory, progress=not output.quiet)
    from lalm_bench.tables import write_parquet

    tables = result.tables()
    with OutputSet() as out:
        for row in result.conditions:
            with out.open(row.parquet, "wb") as fh:
                write_parquet(fh, tables[row.condition])
            out.json(row.manifest, result.manifests[row.condition])
    print_warnings(result)
    if not output.quiet:
        print_summary(result)
    if result.processed and not result.processed_ok:
        raise AllFailedError(
            f"all {result.processed} items processed failed (see the error column of the outputs and the run logs)"
        )
    return result
