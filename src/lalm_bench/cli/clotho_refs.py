"""`lalm-bench clotho-refs`: agreement between the reference captions of each clip."""

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
    SeedOpt,
    app,
)

DEFAULT_MODEL = "BAAI/bge-m3"


@app.command("clotho-refs")
def clotho_refs(
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Clotho split: development, validation or evaluation (default evaluation). With --csv of "
            "another dataset: a label for the output file names.",
        ),
    ] = None,
    model: ModelOpt = DEFAULT_MODEL,
    model_revision: Annotated[
        str | None, typer.Option("--model-revision", help="Hub revision of --model.")
    ] = None,
    device: DeviceOpt = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 128,
    max_seq_length: MaxSeqOpt = None,
    backend: BackendOpt = "torch",
    precision: PrecisionOpt = "fp32",
    cache_dir: CacheDirOpt = None,
    no_cache: NoCacheOpt = False,
    z_threshold: Annotated[
        float, typer.Option("--z-threshold", help="Flag pairs with |z| >= this and captions with z <= -this.")
    ] = 2.0,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for the output files.")
    ] = Path("."),
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Captions table to use instead of the hub cache (CSV, TSV, Parquet, JSONL)."
        ),
    ] = None,
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Dataset snapshot in the hub cache (commit, branch or tag)."),
    ] = None,
    clip_column: Annotated[str, typer.Option("--clip-column", help="Column naming the clip.")] = "file_name",
    caption_column: Annotated[
        str | None,
        typer.Option(
            "--caption-column",
            help="Long tables (one caption per row), e.g. AudioCaps: --clip-column youtube_id "
            "--caption-column caption. Default: wide caption_1 … caption_K columns.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Output file prefix (default: clotho for Clotho, else the CSV file stem)."
        ),
    ] = None,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also write a PNG histogram of pair vs chance similarity.")
    ] = None,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """How much the human captions of each clip agree; the pairs and captions that disagree.

    Writes <name>_pairs_<split>.csv, <name>_outliers_<split>.csv, <name>_caption_outliers_<split>.csv
    and <name>_summary_<split>.json to --output-dir. Clips with fewer than 2 captions are skipped
    and counted in the summary.
    """
    from lalm_bench.references.agreement import ReferenceConfig
    from lalm_bench.references.run import clotho_refs_command

    config = ReferenceConfig(
        split=split,
        csv=csv,
        revision=revision,
        clip_column=clip_column,
        caption_column=caption_column,
        name=name,
        model=model,
        model_revision=model_revision,
        device=device,
        batch_size=batch_size,
        max_seq_length=max_seq_length,
        backend=backend,
        precision=precision,
        cache_dir=None if cache_dir is None else str(cache_dir),
        use_cache=not no_cache,
        z_threshold=z_threshold,
        bootstrap=bootstrap,
        seed=seed,
    )
    clotho_refs_command(config, output_dir=output_dir, plot=plot, overwrite=overwrite, quiet=quiet)
