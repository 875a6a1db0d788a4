"""`lalm-bench predict`: an audio-language model over a benchmark, with the real audio and with controls."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.options import (
    BENCHMARK_COLUMNS,
    DEFAULT_SEED,
    LLM,
    OUTPUT_FILE,
    SAMPLING,
    AudioTokensPerSecondOpt,
    DeterminismCheckOpt,
    Flag,
    SeedOpt,
    with_groups,
)
from lalm_bench.cli.root import app, command_help
from lalm_bench.datasets.benchmark import BenchmarkColumns
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions, SamplingOptions

_BENCH = "Benchmark"
_AUDIO = "Audio conditions"
_COLS = BENCHMARK_COLUMNS.flags


@app.command(
    **command_help(
        "lalm-bench predict --benchmark mmau_pro.parquet --model openai/Qwen/Qwen2.5-Omni-7B "
        "--base-url http://localhost:8000/v1 --condition audio,noise -o preds.parquet",
        "lalm-bench predict --benchmark mmau_pro.parquet --model mock/echo --limit 5 -o dry.parquet   (no server)",
        section="Running a model under audio controls: `lalm-bench predict`",
    )
)
@with_groups(
    columns=BENCHMARK_COLUMNS.but(
        flags={
            "category": _COLS["category"].but("Column with the category (groups the mismatched audio; passed on)."),
            "answer": _COLS["answer"].but("Column with the reference answer (passed on)."),
        }
    ),
    llm=LLM,
    sampling=SAMPLING,
    output=OUTPUT_FILE.but(
        path=Path("predictions.parquet"),
        drop=("plot",),
        flags={
            "path": Flag(
                ("--output", "-o"),
                "Base name of the outputs: preds.parquet writes preds_<condition>.parquet and "
                "preds_<condition>.manifest.json per condition, and the run logs under preds.runs/<condition>/.",
            ),
            "overwrite": Flag(("--overwrite",), "Redo the runs and replace their outputs (resuming needs no flag)."),
        },
    ),
)
def predict(
    benchmark: Annotated[
        Path,
        typer.Option("--benchmark", help="Parquet, JSON or JSONL file, one row per item.", rich_help_panel=_BENCH),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="provider/model: openai/<served model name> for any OpenAI-compatible server (vLLM, DashScope, "
            "…), transformers/<Qwen2.5-Omni | Qwen3-Omni | Gemma 3n> in-process, mock/listener, mock/deaf, "
            "mock/presence, mock/first-option, mock/echo or mock/drops-audio without a server.",
        ),
    ],
    audio_root: Annotated[
        Path | None,
        typer.Option(
            "--audio-root",
            help="Folder the audio paths are relative to (absolute paths must lie under it too).",
            show_default="the benchmark's folder",
            rich_help_panel=_BENCH,
        ),
    ] = None,
    condition: Annotated[
        list[str],
        typer.Option(
            "--condition",
            help="audio, noise, silence, none or mismatched, or partial audio: head:S / tail:S (first / last S "
            "seconds, the rest silenced; head:S:cut drops it), reversed, shuffled:S; comma-separated or repeated "
            "for several (one output file each: head:2.5 -> <output>_head-2p5.parquet).",
            rich_help_panel=_AUDIO,
        ),
    ] = ["audio"],  # noqa: B006 (typer needs a list default)
    start: Annotated[int, typer.Option("--start", min=0, help="Skip the first K items.", rich_help_panel=_BENCH)] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N items.", rich_help_panel=_BENCH)
    ] = None,
    prompt_template: Annotated[
        Path | None,
        typer.Option(
            "--prompt-template",
            help="Text file with {question}, {choices}, {category}; a line '=== without choices ===' starts the "
            "part for open questions.",
            show_default="the built-in template (docs/predict.md)",
        ),
    ] = None,
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", help="System message for every item.")] = (
        None
    ),
    seed: SeedOpt = DEFAULT_SEED,
    noise_dbfs: Annotated[
        float | None,
        typer.Option(
            "--noise-dbfs",
            help="Noise RMS level in dBFS (full scale 1.0), e.g. -40.",
            show_default="RMS-matched to each real clip",
            rich_help_panel=_AUDIO,
        ),
    ] = None,
    max_audio_seconds: Annotated[
        float | None,
        typer.Option(
            "--max-audio-seconds",
            help="Cut the real audio, and so its controls, to S seconds (recorded per row).",
            rich_help_panel=_AUDIO,
        ),
    ] = None,
    sample_rate: Annotated[
        int | None,
        typer.Option(
            "--sample-rate",
            help="Resample every clip to R Hz before sending.",
            show_default="each file's own rate",
            rich_help_panel=_AUDIO,
        ),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Ask again for the items whose latest record failed.")
    ] = False,
    audio_tokens_per_second: AudioTokensPerSecondOpt = None,
    determinism_check: DeterminismCheckOpt = None,
    permute_choices: Annotated[
        int,
        typer.Option(
            "--permute-choices",
            metavar="K",
            help="Also ask every multiple-choice item with K other option orders (cyclic shifts first, then "
            "seeded random ones); each condition's Parquet gets one row per (id, permutation_index).",
            rich_help_panel=_BENCH,
        ),
    ] = 0,
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            metavar="K",
            help="Ask every condition K times (sample k with seed --seed + k: its own noise/shuffle draws and "
            "request seed, never a cached reply of another sample); sample k >= 1 writes "
            "<output>_<condition>@k.parquet, for accuracy/similarity --condition noise@1=FILE. Use a "
            "--temperature > 0: at 0 the repeats only measure the server's non-determinism.",
            rich_help_panel=_BENCH,
        ),
    ] = 1,
    columns: BenchmarkColumns = BenchmarkColumns(),
    llm: LLMOptions = LLMOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Run an audio-language model over a benchmark with the real audio and with controls.

    Writes a Parquet file per condition that `lalm-bench similarity` reads, and a manifest beside it.

    Prints a serving canary: prompt tokens per condition, and warnings when the server seems to drop the audio.

    Rerunning the same command resumes. Exit status 3 when every item processed failed.
    """
    from lalm_bench.predict.command import predict_command
    from lalm_bench.predict.config import PredictConfig, parse_conditions

    config = PredictConfig(
        benchmark=benchmark,
        model=model,
        audio_root=audio_root,
        conditions=parse_conditions(condition),
        columns=columns,
        start=start,
        limit=limit,
        prompt_template=prompt_template,
        system_prompt=system_prompt,
        seed=seed,
        noise_dbfs=noise_dbfs,
        max_audio_seconds=max_audio_seconds,
        sample_rate=sample_rate,
        retry_failed=retry_failed,
        audio_tokens_per_second=audio_tokens_per_second,
        determinism_check=determinism_check,
        permute_choices=permute_choices,
        samples=samples,
        llm=llm,
        sampling=sampling,
    )
    predict_command(config, output)
