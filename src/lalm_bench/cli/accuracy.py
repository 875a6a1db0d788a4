"""`lalm-bench accuracy`: the choice-level listening probe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lalm_bench.cli.options import (
    BENCHMARK_COLUMNS,
    DEFAULT_SEED,
    EMBEDDING,
    LLM,
    OUTPUT_FILE,
    BootstrapOpt,
    Flag,
    KeepUnarrivedOpt,
    SeedOpt,
    with_groups,
)
from lalm_bench.cli.root import app, command_help
from lalm_bench.datasets.benchmark import BenchmarkColumns
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions

_READING = "Reading the answers"
_COLS = BENCHMARK_COLUMNS.flags


@app.command(
    **command_help(
        "lalm-bench accuracy --audio-file preds_audio.parquet --noise-file preds_noise.parquet "
        "--condition none=preds_none.parquet -o accuracy.json --items items.parquet",
        section="The choice-level probe: `lalm-bench accuracy`",
    )
)
@with_groups(
    columns=BENCHMARK_COLUMNS.but(
        audio=None,
        question=None,
        choices="choices",
        category="category",
        answer="answer",
        flags={
            "category": _COLS["category"].but("Column with the category (from the audio file).", extra={}),
            "choices": _COLS["choices"].but("Column with the item's choices (a list).", extra={}),
            "answer": _COLS["answer"].but("Column with the correct answer (one of the choices).", extra={}),
            "question": _COLS["question"].but(
                "Column with the question, shown to the fallback extractor.",
                extra={"show_default": "question, if present"},
            ),
            "audio": _COLS["audio"].but(
                "Column with the audio path(s): items sharing a clip are one cluster for the CIs.",
                extra={"show_default": "audio_path, if present"},
            ),
        },
    ),
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
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            help="One model's predictions as NAME=SPEC, to compare models (give two or more): SPEC is a folder of "
            "predict outputs (the one with audio gives the conditions, others are repeats noise@1 …), a predict "
            "output (out/preds.parquet: its preds_<condition>.parquet files) or a .json/.toml mapping condition "
            "to file. Replaces --audio-file/--noise-file/--condition; repeatable.",
            rich_help_panel="Model against model",
        ),
    ] = None,
    runs: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            help="A JSON/TOML file of models to compare: {runs: {NAME: SPEC or {condition: file}}}.",
            rich_help_panel="Model against model",
        ),
    ] = None,
    text_column: Annotated[
        str,
        typer.Option("--text-column", help="Column holding the model's answer.", rich_help_panel="Benchmark columns"),
    ] = "model_output",
    cluster_column: Annotated[
        str | None,
        typer.Option(
            "--cluster-column",
            help="Items sharing a value of this column (of the audio file; list cells: any value) are one cluster "
            "in every CI, in place of shared audio files.",
            show_default="clusters of shared audio files",
            rich_help_panel="Benchmark columns",
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
    seed: SeedOpt = DEFAULT_SEED,
    keep_unarrived: KeepUnarrivedOpt = False,
    columns: BenchmarkColumns = BenchmarkColumns(),
    embedding: EmbeddingOptions = EmbeddingOptions(),
    llm: LLMOptions = LLMOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Is the answer still right when the audio is gone? Multiple-choice accuracy with audio and under controls.

    Each answer's pick is read by rules, then an embedding or LLM fallback; unparsed answers count as wrong.
    Per category: accuracy with 95% CIs (clustered where items share a clip), refusals, the paired difference
    (Tango), McNemar's test, flips. Writes OUTPUT (JSON); --items the per-item table; --subset LABEL=FILE ids
    by label (needs-audio: items shown to need the audio across repeated controls). With --run NAME=… (two or
    more) or --runs FILE: every model scored, then model against model (difference with audio, the
    difference-in-differences under each control, Holm) and a listening leaderboard.
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
        id_column=columns.id,
        text_column=text_column,
        category_column=columns.category or "category",
        choices_column=columns.choices or "choices",
        answer_column=columns.answer or "answer",
        question_column=columns.question,
        audio_column=columns.audio,
        cluster_column=cluster_column,
        extractor=extractor,  # type: ignore[arg-type]  # checked by the command
        llm_model=llm_model,
        embedding=embedding,
        llm=llm,
        bootstrap=bootstrap,
        seed=seed,
        keep_unarrived=keep_unarrived,
        **thresholds,
    )
    if run or runs is not None:
        from lalm_bench.accuracy.models_command import models_from_flags

        models_from_flags(config, output, run or [], runs, items=items, subset=subset)
        return
    accuracy_command(config, output, items=items, subsets=parse_subsets(subset))
