"""`lalm-bench data download|status`: datasets in the Hugging Face hub cache."""

from __future__ import annotations

from typing import Annotated

import typer

from lalm_bench.cli.options import QuietOpt
from lalm_bench.cli.root import app, command_help

_SECTION = "Reference agreement: `lalm-bench clotho-refs`"

data_app = typer.Typer(
    help="Download datasets into the Hugging Face hub cache and show what is present.",
    **command_help("lalm-bench data download clotho", "lalm-bench data status", section=_SECTION),
)
app.add_typer(data_app, name="data")


@data_app.command(
    "download",
    **command_help(
        "lalm-bench data download clotho",
        "lalm-bench data download clotho --captions-only   (no audio)",
        section=_SECTION,
    ),
)
def download(
    dataset: Annotated[str, typer.Argument(help="Dataset to download: clotho.")],
    revision: Annotated[
        str | None, typer.Option("--dataset-revision", "--revision", help="Branch, tag or commit.")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Hugging Face token (default: $HF_TOKEN, preferred, as a command line shows in ps); "
            "never printed or stored.",
            show_default=False,
        ),
    ] = None,
    captions_only: Annotated[
        bool, typer.Option("--captions-only", help="Only the captions archive, not the audio (several GB).")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Download a dataset snapshot and extract its archives in place (what is extracted is skipped).

    Exit status 2 when an archive is still missing afterwards (e.g. offline with a partial snapshot)."""
    from lalm_bench.datasets.download import download_dataset

    report = download_dataset(dataset, revision=revision, token=token, captions_only=captions_only, progress=not quiet)
    typer.echo(f"{report.repo_id} at {report.snapshot}")
    for archive, what in report.archives.items():
        typer.echo(f"  {archive}: {what}")
    report.require_complete()


@data_app.command("status", **command_help("lalm-bench data status", "lalm-bench data status --json", section=_SECTION))
def status(
    revision: Annotated[
        str | None, typer.Option("--dataset-revision", "--revision", help="Snapshot to inspect.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show per dataset and split what is present in the hub cache."""
    from lalm_bench.datasets.download import dataset_status

    st = dataset_status(revision=revision)
    if as_json:
        from lalm_bench.io import dumps_strict

        typer.echo(dumps_strict(st))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"hub cache: {st['cache_dir']}")
    for name, ds in st["datasets"].items():
        if ds["snapshot"] is None:
            console.print(f"{name} ({ds['repo_id']}): not downloaded ({ds['problem']})")
            continue
        table = Table(title=f"{name} ({ds['repo_id']}) snapshot {ds['revision']}")
        for col in ("split", "captions CSV", "clips", "audio archive", "audio files"):
            table.add_column(col, justify="left" if col == "split" else "right")
        for split, info in ds["splits"].items():
            table.add_row(
                split,
                "yes" if info["captions_csv"] else "no",
                "–" if info["clips"] is None else str(info["clips"]),
                "yes" if info["audio_archive"] else "no",
                f"{info['audio_files']}" + (" (complete)" if info["audio_complete"] else ""),
            )
        console.print(table)
        if any(not i["captions_csv"] or not i["audio_complete"] for i in ds["splits"].values()):
            console.print(f"to complete it: {ds['download_command']}")
