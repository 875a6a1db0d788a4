"""`lalm-bench accuracy`: the choice-level listening probe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lalm_bench.cli.app import app
from lalm_bench.cli.options import EMBEDDING, LLM, OUTPUT_FILE, BootstrapOpt, Flag, SeedOpt, with_groups
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions

_COLUMNS = "Columns"
_READING = "Reading the answers"


@app.command()
@with_groups(
    embedding=EMBEDDING.but(
        model="BAAI/bge-base-en-v1.5",
        flags={  # no old spellings: --no-cache would mean both caches
            "cache_dir": Flag(("--embedding-cache-dir",), EMBEDDING.flags["cache_dir"].help),
            "use_cache": Flag(("--no-embedding-cache",), EMBEDDING.flags["use_cache"].help, negate=True),
        },
    ),
    llm=LLM.but(flags={"use_cache": Flag(("--no-llm-cache",), LLM.flags["use_cache"].help, negate=True)}),
    output=OUTPUT_FILE.but(path=Path("accuracy_results.json")),
)
def accuracy(
    audio_file: Annotated[
        Path | None,
        typer.Option(
            "--audio-file",
            help="Predictions made with the real audio: the reference (Parquet; CSV/JSONL with JSON lists).",
            show_default="the bundled sample",
        ),
    ] = None,
    noise_file: Annotated[
        Path | None,
        typer.Option(
            "--noise-file", help="Predictions made with noise in place of the audio.", show_default="the bundled sample"
        ),
    ] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="Another control as NAME=FILE (e.g. silence=preds_silence.parquet, none=…, mismatched=…); "
            "NAME@k=FILE is the k-th repeat of a control (noise@1=…: another seed or sample), which --subset "
            "needs-audio needs; repeatable.",
        ),
    ] = None,
    id_column: Annotated[
        str, typer.Option("--id-column", help="Column joining the files.", rich_help_panel=_COLUMNS)
    ] = "id",
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column holding the model's answer.", rich_help_panel=_COLUMNS)
    ] = "model_output",
    category_column: Annotated[
        str, typer.Option("--category-column", help="Category (from the audio file).", rich_help_panel=_COLUMNS)
    ] = "category",
    choices_column: Annotated[
        str, typer.Option("--choices-column", help="The item's choices (a list).", rich_help_panel=_COLUMNS)
    ] = "choices",
    answer_column: Annotated[
        str, typer.Option("--answer-column", help="The correct answer (one of the choices).", rich_help_panel=_COLUMNS)
    ] = "answer",
    question_column: Annotated[
        str | None,
        typer.Option(
            "--question-column",
            help="The question, shown to the fallback extractor.",
            show_default="question, if present",
            rich_help_panel=_COLUMNS,
        ),
    ] = None,
    audio_column: Annotated[
        str | None,
        typer.Option(
            "--audio-column",
            help="Audio path(s) of each item: items sharing a clip are one cluster for the CIs.",
            show_default="audio_path, if present",
            rich_help_panel=_COLUMNS,
        ),
    ] = None,
    cluster_column: Annotated[
        str | None,
        typer.Option(
            "--cluster-column",
            help="Items sharing a value of this column (of the audio file; list cells: any value) are one cluster "
            "in every CI, in place of shared audio files.",
            show_default="clusters of shared audio files",
            rich_help_panel=_COLUMNS,
        ),
    ] = None,
    extractor: Annotated[
        str,
        typer.Option(
            "--extractor",
            help="Fallback for answers in which the rules find no option: embedding (nearest choice above "
            "calibrated thresholds), llm (an LLM picks; needs --llm-model) or none (they stay unparsed).",
            rich_help_panel=_READING,
        ),
    ] = "embedding",
    llm_model: Annotated[
        str | None,
        typer.Option(
            "--llm-model", help="provider/model reading the answers with --extractor llm.", rich_help_panel=_READING
        ),
    ] = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            "--min-similarity",
            help="Embedding fallback: least cosine to accept the nearest choice.",
            show_default="0.5, calibrated with all-MiniLM-L6-v2",
            rich_help_panel=_READING,
        ),
    ] = None,
    min_margin: Annotated[
        float | None,
        typer.Option(
            "--min-margin",
            help="Embedding fallback: least lead of the nearest choice over the second.",
            show_default="0.05, calibrated with all-MiniLM-L6-v2",
            rich_help_panel=_READING,
        ),
    ] = None,
    items: Annotated[
        Path | None,
        typer.Option(
            "--items", help="Also write the per-item table here (.parquet or .csv).", rich_help_panel="Output"
        ),
    ] = None,
    subset: Annotated[
        list[str] | None,
        typer.Option(
            "--subset",
            help="Write the ids of the items with a label as LABEL=FILE (right-only-with-audio, refused-without-audio, "
            "right-only-without-audio, right-both, wrong-both; needs-audio with repeated controls); .csv/.parquet: "
            "a table with column id, else one id per line. Repeatable.",
            rich_help_panel="Output",
        ),
    ] = None,
    bootstrap: BootstrapOpt = 1000,
    seed: SeedOpt = 0,
    embedding: EmbeddingOptions = EmbeddingOptions(),
    llm: LLMOptions = LLMOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Is the answer still right when the audio is gone? Multiple-choice accuracy with audio and under controls.

    Each answer's pick is read by rules, then an embedding or LLM fallback; unparsed answers count as wrong.
    Per category: accuracy with 95% CIs (clustered where items share a clip), refusals, the paired difference
    (Tango), McNemar's test, flips. Writes OUTPUT (JSON); --items the per-item table; --subset LABEL=FILE ids
    by label (needs-audio: items shown to need the audio across repeated controls).
    Without --audio-file/--noise-file it runs on the bundled sample predictions.
    """
    from lalm_bench.accuracy.command import accuracy_command, parse_subsets
    from lalm_bench.accuracy.config import AccuracyConfig, parse_condition

    thresholds: dict[str, Any] = {}
    if min_similarity is not None:
        thresholds["min_similarity"] = min_similarity
    if min_margin is not None:
        thresholds["min_margin"] = min_margin
    config = AccuracyConfig(
        audio_file=audio_file,
        noise_file=noise_file,
        conditions=tuple(parse_condition(c) for c in condition or []),
        id_column=id_column,
        text_column=text_column,
        category_column=category_column,
        choices_column=choices_column,
        answer_column=answer_column,
        question_column=question_column,
        audio_column=audio_column,
        cluster_column=cluster_column,
        extractor=extractor,  # type: ignore[arg-type]  # checked by the command
        llm_model=llm_model,
        embedding=embedding,
        llm=llm,
        bootstrap=bootstrap,
        seed=seed,
        **thresholds,
    )
    accuracy_command(config, output, items=items, subsets=parse_subsets(subset))
