"""`lalm-bench similarity`: the listening probe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.app import (
    BackendOpt,
    BootstrapOpt,
    CacheDirOpt,
    DeviceOpt,
    MaxSeqOpt,
    ModelOpt,
    NoCacheOpt,
    OverwriteOpt,
    PrecisionOpt,
    QuietOpt,
    RevisionOpt,
    SeedOpt,
    app,
)

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "projects" / "audio_similarity"
DEFAULT_MODEL = "BAAI/bge-base-en-v1.5"


@app.command()
def similarity(
    noise_file: Annotated[
        Path, typer.Option("--noise-file", help="Predictions made with noise in place of the audio (Parquet).")
    ] = SAMPLE_DIR / "predictions_with_noise.parquet",
    audio_file: Annotated[
        Path, typer.Option("--audio-file", help="Predictions made with the real audio (Parquet).")
    ] = SAMPLE_DIR / "predictions_with_audio.parquet",
    id_column: Annotated[str, typer.Option("--id-column")] = "id",
    text_column: Annotated[str, typer.Option("--text-column")] = "model_output",
    category_column: Annotated[str, typer.Option("--category-column")] = "category",
    model: ModelOpt = DEFAULT_MODEL,
    revision: RevisionOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    device: DeviceOpt = "auto",
    max_seq_length: MaxSeqOpt = None,
    backend: BackendOpt = "torch",
    precision: PrecisionOpt = "fp32",
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    output: Annotated[Path, typer.Option("--output", "-o", help="Result JSON.")] = Path("similarity_results.json"),
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also write a PNG of the distributions.")] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Score null or empty answers as empty strings.")
    ] = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Embed each ID's answer with audio and with noise; report cosine similarity vs a chance baseline.

    High similarity means the model answers from the text prompt, not from the sound.
    Writes OUTPUT (JSON: overall, by_category, chance, comparison, detailed, manifest).
    """
    from lalm_bench.similarity.run import similarity_command

    similarity_command(
        noise_file=noise_file,
        audio_file=audio_file,
        id_column=id_column,
        text_column=text_column,
        category_column=category_column,
        model=model,
        revision=revision,
        batch_size=batch_size,
        device=device,
        max_seq_length=max_seq_length,
        backend=backend,
        precision=precision,
        cache_dir=None if cache_dir is None else str(cache_dir),
        use_cache=not no_cache,
        output=output,
        bootstrap=bootstrap,
        seed=seed,
        plot=plot,
        allow_empty=allow_empty,
        overwrite=overwrite,
        quiet=quiet,
    )
