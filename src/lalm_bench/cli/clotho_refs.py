"""`lalm-bench clotho-refs`: agreement between the reference captions of each clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from lalm_bench.cli.options import CLIPS, DEFAULT_SEED, EMBEDDING, OUTPUT_DIR, BootstrapOpt, SeedOpt, with_groups
from lalm_bench.cli.root import app, command_help
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions
from lalm_bench.rubrics.common.clips import ClipSelection


@app.command(
    "clotho-refs",
    **command_help(
        "lalm-bench clotho-refs --split evaluation -o clotho_refs/",
        "lalm-bench clotho-refs --csv audiocaps.csv --clip-column youtube_id --caption-column caption -o refs/",
        section="Reference agreement: `lalm-bench clotho-refs`",
    ),
)
@with_groups(
    clips=CLIPS.but(
        drop=("audio_dir", "start", "limit"),
        split=None,
        flags={
            "split": CLIPS.flags["split"].but(
                "Clotho split: development, validation or evaluation (default evaluation). With --csv of another "
                "dataset: a label for the output file names."
            ),
            "csv": CLIPS.flags["csv"].but("Captions table to use instead of the hub cache (CSV, TSV, Parquet, JSONL)."),
        },
    ),
    embedding=EMBEDDING.but(model="BAAI/bge-m3", batch_size=128),
    output=OUTPUT_DIR.but(path=Path(".")),
)
def clotho_refs(
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
        typer.Option("--name", help="Output file prefix (default: clotho for Clotho, else the CSV file stem)."),
    ] = None,
    z_threshold: Annotated[
        float,
        typer.Option(
            "--z-threshold", help="Flag pairs with |z| >= this, clips (robust z) and captions with z <= -this."
        ),
    ] = 2.0,
    chance_quantile: Annotated[
        float,
        typer.Option(
            "--chance-quantile",
            help="Flag pairs below this quantile of the chance distribution (captions of different clips); "
            "0.5: less similar than the typical unrelated pair.",
        ),
    ] = 0.5,
    caption_rule: Annotated[
        str,
        typer.Option(
            "--caption-rule",
            help="split: a caption's mean similarity to its clip's others, z over the split (flags mostly hard "
            "clips); clip: its leave-one-out score against its own clip, robust z over the split.",
        ),
    ] = "split",
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = DEFAULT_SEED,
    clips: ClipSelection = ClipSelection(),
    embedding: EmbeddingOptions = EmbeddingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """How much the human captions of each clip agree; the pairs and captions that disagree.

    Writes <name>_pairs_<split>.csv, <name>_outliers_<split>.csv (pair z rule),
    <name>_caption_outliers_<split>.csv, <name>_clips_<split>.csv (every clip with each rule's flags) and
    <name>_summary_<split>.json to the -o folder. Clips with fewer than 2 captions are skipped and counted
    in the summary.
    """
    from lalm_bench.clotho_refs.command import clotho_refs_command
    from lalm_bench.clotho_refs.config import ClothoRefsConfig

    config = ClothoRefsConfig(
        split=clips.split,
        csv=clips.csv,
        dataset_revision=clips.dataset_revision,
        clip_column=clip_column,
        caption_column=caption_column,
        name=name,
        embedding=embedding,
        z_threshold=z_threshold,
        chance_quantile=chance_quantile,
        caption_rule=_caption_rule(caption_rule),
        bootstrap=bootstrap,
        seed=seed,
    )
    clotho_refs_command(config, output)


def _caption_rule(value: str) -> Literal["split", "clip"]:
    from lalm_bench.errors import InputError

    if value not in ("split", "clip"):
        raise InputError(f"--caption-rule {value!r}: use split or clip")
    return "clip" if value == "clip" else "split"
