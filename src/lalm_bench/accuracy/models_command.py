"""``lalm-bench accuracy --run NAME=… --run NAME=…``: from the flags, check, score every model, compare, write,
report."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from lalm_bench.accuracy.command import check_config
from lalm_bench.accuracy.config import AccuracyConfig
from lalm_bench.accuracy.models import AccuracyModelsConfig, AccuracyModelsResult, run_accuracy_models
from lalm_bench.accuracy.runs import parse_run, read_runs_file
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, OutputSet, check_outputs

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder
    from lalm_bench.llm.options import ModelFactory


def accuracy_models_command(
    config: AccuracyModelsConfig,
    output: OutputOptions,
    *,
    items: Path | None = None,
    embedder: Embedder | None = None,
    model_factory: ModelFactory | None = None,
) -> AccuracyModelsResult:
    """Validate before any work, run, write the JSON and ``items`` (every model's rows, column ``model``) all
    or nothing, print the leaderboard and the pairs."""
    from lalm_bench.embeddings.options import check_embedding_options

    config.check()
    for run in config.runs:
        check_config(config.model_config(run), items=items)
    check_outputs(
        {"--output": output.path, "--items": items},
        inputs=[p for run in config.runs for _, p in run.files],
        overwrite=output.overwrite,
    )
    if config.base.extractor == "embedding" and embedder is None:
        check_embedding_options(config.base.embedding)
    result = run_accuracy_models(config, embedder=embedder, model_factory=model_factory, progress=not output.quiet)
    with OutputSet() as out:
        out.json(output.path, result.to_json())
        if items is not None:
            out.table(items, result.table())
    if not output.quiet:
        from lalm_bench.accuracy.models_report import print_models_summary

        print_models_summary(result.to_json())
        print("wrote " + ", ".join(str(p) for p in (output.path, items) if p is not None))
    return result


def models_from_flags(
    config: AccuracyConfig,
    output: OutputOptions,
    run: list[str],
    runs: Path | None,
    *,
    items: Path | None,
    subset: list[str] | None,
) -> None:
    """Refuse the single-model flags next to ``--run``/``--runs``, then run the comparison."""
    given = [
        flag
        for flag, value in (
            ("--audio-file", config.audio_file),
            ("--noise-file", config.noise_file),
            ("--condition", config.conditions),
            ("--subset", subset),
            ("--plot", output.plot),
        )
        if value
    ]
    if given:
        raise InputError(
            f"{', '.join(given)}: not with --run/--runs (each model's files come from its run; "
            "run accuracy on one model for --subset and --plot)"
        )
    models = [parse_run(spec) for spec in run]
    if runs is not None:
        models += read_runs_file(runs)
    base = dataclasses.replace(config, audio_file=None, noise_file=None, conditions=())
    accuracy_models_command(AccuracyModelsConfig(runs=tuple(models), base=base), output, items=items)
