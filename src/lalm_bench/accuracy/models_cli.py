"""From ``accuracy``'s flags to the model-against-model command (what the CLI module hands over)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lalm_bench.accuracy.config import AccuracyConfig
from lalm_bench.accuracy.models import AccuracyModelsConfig
from lalm_bench.accuracy.models_command import accuracy_models_command
from lalm_bench.accuracy.runs import parse_run, read_runs_file
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions


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
