"""`lalm-bench report`: one page to see, hear and compare what the loop measured."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.options import DEFAULT_SEED, OUTPUT_FILE, BootstrapOpt, SeedOpt, with_groups
from lalm_bench.cli.root import app, command_help
from lalm_bench.io import OutputOptions


@app.command(
    **command_help(
        "lalm-bench report preds_audio.parquet accuracy.json similarity.json -o report.html",
        "lalm-bench report demo/ -o demo/report.html",
        section="The page: `lalm-bench report`",
    )
)
@with_groups(output=OUTPUT_FILE.but(path=Path("report.html"), drop=("plot",)))
def report(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Outputs of predict (preds_<condition>.parquet with its manifest), accuracy, similarity, rubrics "
            "judge/compare, clotho-refs: files or folders.",
            show_default=False,
        ),
    ],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Name the model of a path: NAME=PATH (repeatable)."),
    ] = None,
    title: Annotated[str, typer.Option("--title", help="Title of the page.")] = "lalm-bench report",
    audio: Annotated[
        str,
        typer.Option(
            "--audio",
            help="embed: players with the audio inside the page (FLAC); link: files beside the page; none: no players.",
        ),
    ] = "embed",
    audio_items: Annotated[
        int, typer.Option("--audio-items", help="Items with players (flips and items right only with audio first).")
    ] = 10,
    format: Annotated[
        str, typer.Option("--format", help="html (the page) or the headline tables as md, tex or csv.")
    ] = "html",
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = DEFAULT_SEED,
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """One self-contained page: the verdict per model, figures with CIs, every item's answers under each
    condition with the audio that was sent, rubrics and references, provenance. Opens offline from disk.
    """
    from lalm_bench.report.command import parse_labels, report_command
    from lalm_bench.report.config import ReportConfig

    config = ReportConfig(
        paths=tuple(paths),
        labels=parse_labels(label),
        title=title,
        audio=audio,
        audio_items=audio_items,
        format=format,
        bootstrap=bootstrap,
        seed=seed,
    )
    report_command(config, output)
