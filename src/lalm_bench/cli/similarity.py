"""`lalm-bench similarity`: the listening probe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.app import app
from lalm_bench.cli.options import EMBEDDING, OUTPUT_FILE, BootstrapOpt, Flag, SeedOpt, with_groups
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions
from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE


@app.command()
@with_groups(
    embedding=EMBEDDING.but(
        model="BAAI/bge-base-en-v1.5",
        batch_size=64,
        flags={
            "model_revision": Flag(
                ("--model-revision",), EMBEDDING.flags["model_revision"].help, aliases=("--revision",)
            )
        },
    ),
    output=OUTPUT_FILE.but(path=Path("similarity_results.json")),
)
def similarity(
    noise_file: Annotated[
        Path,
        typer.Option(
            "--noise-file",
            help="Predictions made with noise in place of the audio (Parquet).",
            show_default="the bundled sample",
        ),
    ] = SAMPLE_NOISE,
    audio_file: Annotated[
        Path,
        typer.Option(
            "--audio-file", help="Predictions made with the real audio (Parquet).", show_default="the bundled sample"
        ),
    ] = (SAMPLE_AUDIO),
    id_column: Annotated[str, typer.Option("--id-column", help="Column joining the two files.")] = "id",
    text_column: Annotated[str, typer.Option("--text-column", help="Column holding the model's answer.")] = (
        "model_output"
    ),
    category_column: Annotated[str, typer.Option("--category-column", help="Category (from the noise file).")] = (
        "category"
    ),
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Score null or empty answers as empty strings.")
    ] = (False),
    embedding: EmbeddingOptions = EmbeddingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Embed each ID's answer with audio and with noise; report cosine similarity vs a chance baseline.

    High similarity means the model answers from the text prompt, not from the sound.
    Writes OUTPUT (JSON: overall, by_category, chance, comparison, detailed, manifest).
    Without --noise-file/--audio-file it runs on the bundled sample predictions.
    """
    from lalm_bench.similarity.command import similarity_command
    from lalm_bench.similarity.config import SimilarityConfig

    config = SimilarityConfig(
        noise_file=noise_file,
        audio_file=audio_file,
        id_column=id_column,
        text_column=text_column,
        category_column=category_column,
        embedding=embedding,
        bootstrap=bootstrap,
        seed=seed,
        allow_empty=allow_empty,
    )
    similarity_command(config, output)
