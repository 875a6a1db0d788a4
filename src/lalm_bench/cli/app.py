"""The Typer application and the option types shared by subcommands (no heavy imports here)."""

from __future__ import annotations

from pathlib import Path
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

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="SentenceTransformer: hub repo id, local folder, or py:<package> for a model shipped in a package.",
    ),
]
RevisionOpt = Annotated[str | None, typer.Option("--revision", help="Hub revision (branch, tag or commit) of --model.")]
DeviceOpt = Annotated[
    str,
    typer.Option(
        "--device",
        help="auto, cpu, cuda, cuda:N, mps, or several GPUs (cuda:0,cuda:1): one process per GPU.",
    ),
]
MaxSeqOpt = Annotated[
    int | None, typer.Option("--max-seq-length", help="Token limit of the encoder (default: the model's own).")
]
BootstrapOpt = Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples for 95% CIs (0: off).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for bootstrap and chance-baseline sampling.")]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Inference backend: torch, openvino (CPU, needs the openvino extra) or onnx.",
    ),
]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision",
        help="fp32 (exact) or, with --backend openvino, bf16 (faster on CPUs with bf16 units; approximate, "
        "its deviation from torch fp32 is measured and recorded in the manifest).",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Embedding cache folder (default: $LALM_BENCH_CACHE_DIR, else the user cache dir).",
    ),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the embedding cache.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary table.")]


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
