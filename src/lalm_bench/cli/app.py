"""The Typer application (no heavy imports here: ``--help`` must be instant)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="lalm-bench",
    help="Evaluation toolkit for Large Audio-Language Models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from lalm_bench import __version__

        typer.echo(f"lalm-bench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Evaluation toolkit for Large Audio-Language Models: listening probe, reference agreement, rubrics."""
