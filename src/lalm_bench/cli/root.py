"""The Typer application (no heavy imports here: ``--help`` must be instant)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from typer.core import TyperOption

README = "README.md"

LOOP = """Evaluation toolkit for Large Audio-Language Models: listening probes, reference agreement, rubrics.

The loop (every command's --help has an example and its README section):

  listen:   predict --condition audio,noise  ->  similarity | accuracy  ->  report
  rubrics:  rubrics generate  ->  rubrics collect  ->  rubrics judge  ->  rubrics compare
  data:     data download clotho  ->  clotho-refs (how much the human captions agree)
"""

app = typer.Typer(
    name="lalm-bench",
    help=LOOP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def readme_anchor(heading: str) -> str:
    """The GitHub anchor of a README heading (lower case, punctuation dropped, spaces as hyphens)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lstrip("#").strip().lower())
    return text.replace(" ", "-")


def command_help(*examples: str, section: str) -> dict[str, Any]:
    """``epilog=`` for ``app.command(...)``: worked examples and the README section of the command."""
    lines = ["Examples:" if len(examples) > 1 else "Example:", *(f"  $ {e}" for e in examples)]
    return {"epilog": "\n\n".join([*lines, f"More: {README}#{readme_anchor(section)}"])}


def _hide_bool_of_flags() -> None:
    """typer 0.29's rich help shows "<bool>" beside on/off flags as if they took a value; they take none.

    Older typer (0.25, which the OpenVINO resolution gets) has no such hook and shows no "<bool>".
    """
    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:
        return

    def flag_type(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = flag_type  # type: ignore[method-assign,attr-defined,unused-ignore]


_hide_bool_of_flags()


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
    pass
