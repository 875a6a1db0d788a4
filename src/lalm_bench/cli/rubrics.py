"""`lalm-bench rubrics generate | collect | judge | compare`: weighted rubrics, captions judged against them,
and their stability across runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.options import (
    CLIPS,
    DEFAULT_SEED,
    EMBEDDING,
    LLM,
    OUTPUT_DIR,
    OUTPUT_FILE,
    SAMPLING,
    BootstrapOpt,
    Flag,
    SeedOpt,
    with_groups,
)
from lalm_bench.cli.root import app, command_help
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions, SamplingOptions
from lalm_bench.rubrics.collect.config import DEFAULT_DST_DIR
from lalm_bench.rubrics.common import RUBRICS_DIR
from lalm_bench.rubrics.common.clips import ClipSelection

rubrics_app = typer.Typer(
    help="Rubric generation (OnlineRubrics-style), collection of final rubrics, judging captions against a "
    "rubric, and rubric stability across runs.",
    no_args_is_help=True,
    **command_help(
        "lalm-bench rubrics generate --audio-model mock/echo --limit 3 && lalm-bench rubrics collect",
        section="Rubric generation: `lalm-bench rubrics generate` / `collect`",
    ),
)
app.add_typer(rubrics_app, name="rubrics")

_GENERATE = "Rubric generation: `lalm-bench rubrics generate` / `collect`"


@rubrics_app.command(
    **command_help(
        "lalm-bench rubrics generate --audio-model openai/Qwen/Qwen3-Omni-30B-A3B-Instruct "
        "--base-url http://localhost:8000/v1 --limit 20   (run folders under ./rubrics)",
        "lalm-bench rubrics generate --audio-model mock/echo --csv clotho_captions_evaluation.csv --limit 3   "
        "(a dry run, no server)",
        section=_GENERATE,
    )
)
@with_groups(
    clips=CLIPS,
    llm=LLM,
    sampling=SAMPLING.but(
        temperature=0.7,
        flags={"temperature": Flag(("--temperature",), "Temperature in stochastic mode.", extra={"min": 0.0})},
    ),
    output=OUTPUT_DIR.but(path=RUBRICS_DIR, drop=("plot",)),
)
def generate(
    audio_model: Annotated[
        str | None,
        typer.Option(
            "--audio-model",
            help="provider/model that captions the audio (e.g. openai/Qwen/Qwen3-Omni-30B-A3B-Instruct; "
            "mock/echo needs no server).",
        ),
    ] = None,
    rubric_model: Annotated[
        str | None,
        typer.Option("--rubric-model", help="provider/model for criteria and merging (default: --audio-model)."),
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option(
            "--baseline-file", help="Parquet/CSV with file_name, model_output: captions made before (no audio model)."
        ),
    ] = None,
    rubric_with_audio: Annotated[
        bool, typer.Option("--rubric-with-audio", help="Attach the clip's audio to the criteria request too.")
    ] = False,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent runs (in parallel).")] = 1,
    mode: Annotated[
        str, typer.Option("--mode", help="deterministic (temperature 0, same seed) or stochastic (per-run seeds).")
    ] = "deterministic",
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed (stochastic run k uses seed + k); draws references.")
    ] = DEFAULT_SEED,
    rubric_lag: Annotated[
        int,
        typer.Option(
            "--rubric-lag", min=0, help="Clip p proposes criteria against the rubric without the last L clips merged."
        ),
    ] = 0,
    run_name: Annotated[str, typer.Option("--run-name", help="Run folder prefix.")] = "run",
    legacy_results: Annotated[
        bool,
        typer.Option("--legacy-results", help="Also write the original scripts' results_<k>.json after every clip."),
    ] = False,
    clips: ClipSelection = ClipSelection(),
    llm: LLMOptions = LLMOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Build a weighted rubric per run: baseline caption, new criteria vs a drawn reference, merge.

    Run folders go to OUTPUT/deter|stoch/<run-name>_<k>/ (default ./rubrics, where `rubrics collect`
    reads). Rerunning the same command resumes each run after its last logged clip. Exit status 3 when
    every clip processed failed; a warning says why when a run ends with no criteria.
    """
    from lalm_bench.errors import InputError
    from lalm_bench.rubrics.generate.command import generate_command
    from lalm_bench.rubrics.generate.config import GenerateConfig

    if len(llm.base_urls) > 1:
        raise InputError("rubrics generate talks to one server: give --base-url once")
    config = GenerateConfig(
        clips=clips,
        audio_model=audio_model,
        rubric_model=rubric_model,
        baseline_file=baseline_file,
        rubric_with_audio=rubric_with_audio,
        runs=runs,
        mode=mode,  # type: ignore[arg-type]
        sampling=sampling,
        seed=seed,
        rubric_lag=rubric_lag,
        llm=llm,
        run_name=run_name,
        legacy_results=legacy_results,
    )
    generate_command(config, output)


@rubrics_app.command(
    **command_help(
        "lalm-bench rubrics collect   (reads ./rubrics, where rubrics generate wrote; writes ./rubrics/collected)",
        "lalm-bench rubrics collect --src-dir stoch -o stoch_new --wrap-list   (the original scripts' layout)",
        section=_GENERATE,
    )
)
@with_groups(
    output=OUTPUT_DIR.but(
        path=DEFAULT_DST_DIR,
        drop=("plot",),
        flags={"path": Flag(("--output", "-o"), "Where the final records go.", aliases=("--dst-dir",))},
    )
)
def collect(
    src_dir: Annotated[
        Path,
        typer.Option(
            "--src-dir",
            help="Folder of results_*.json files or run folders; by default where rubrics generate writes.",
        ),
    ] = RUBRICS_DIR,
    pattern: Annotated[
        str | None,
        typer.Option(
            "--pattern",
            help="Glob in SRC_DIR (default: *.json, else the run logs */log.jsonl, else */*/log.jsonl).",
        ),
    ] = None,
    wrap_list: Annotated[bool, typer.Option("--wrap-list", help="Write a one-element list, not the object.")] = False,
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Write the last record (the final rubric) of each run file to OUTPUT. Exit 1 if any file failed."""
    from lalm_bench.rubrics.collect.command import collect_command
    from lalm_bench.rubrics.collect.config import CollectConfig

    result = collect_command(CollectConfig(src_dir=src_dir, pattern=pattern, wrap_list=wrap_list), output)
    if result.failed:
        raise SystemExit(1)


@rubrics_app.command(
    **command_help(
        "lalm-bench rubrics judge --rubric rubrics/deter/run_0 --captions preds_audio.parquet --id-column id "
        "--references --judge-model openai/Qwen/Qwen3-30B-A3B-Instruct-2507 --base-url http://localhost:8000/v1",
        section="Judging captions with a rubric: `lalm-bench rubrics judge`",
    )
)
@with_groups(
    clips=CLIPS,
    llm=LLM,
    sampling=SAMPLING.but(max_tokens=4096),
    output=OUTPUT_DIR.but(path=Path("judge")),
)
def judge(
    rubric: Annotated[
        Path,
        typer.Option(
            "--rubric",
            help="A run folder of rubrics generate (its last successful rubric), a collected file of rubrics "
            'collect, or a JSON list of {"criterion", "weight"}.',
        ),
    ],
    captions: Annotated[
        list[Path] | None,
        typer.Option(
            "--captions",
            help="Parquet/CSV of captions, one system per file (repeatable): predict's prediction files work "
            "as they are; --id-column names the clip, --text-column holds the caption.",
        ),
    ] = None,
    id_column: Annotated[
        str,
        typer.Option(
            "--id-column",
            help="Column of --captions naming the clip: its Clotho file name, or a path ending in it "
            "(predict's id or audio_path).",
        ),
    ] = "file_name",
    text_column: Annotated[
        str, typer.Option("--text-column", help="Column of --captions holding the caption.")
    ] = "model_output",
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Label of each --captions file, in order (default: the file stem)."),
    ] = None,
    references: Annotated[
        bool,
        typer.Option(
            "--references",
            help="Also judge the clips' human reference captions, each on its own with the others as evidence "
            "(leave-one-out): the human level (not a ceiling).",
        ),
    ] = False,
    judge_model: Annotated[
        list[str] | None,
        typer.Option(
            "--judge-model",
            help="provider/model of the judge (e.g. openai/Qwen/Qwen3-30B-A3B-Instruct-2507); repeat it for several "
            "judges (with several --base-url: one server per judge, in order).",
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=1, help="Judge each caption K times (use --temperature > 0).")
    ] = 1,
    per_criterion: Annotated[
        bool, typer.Option("--per-criterion", help="One judge call per criterion (more reliable, more calls).")
    ] = False,
    judge_with_audio: Annotated[
        bool, typer.Option("--judge-with-audio", help="Attach the clip's audio to every judge call.")
    ] = False,
    cannot_assess: Annotated[
        str,
        typer.Option(
            "--cannot-assess",
            help="skip: cannot_assess leaves the score's numerator and denominator; fail: counts as not met.",
            rich_help_panel="Statistics",
        ),
    ] = "skip",
    shuffle: Annotated[
        bool,
        typer.Option(
            "--shuffle/--no-shuffle",
            help="Shuffle the criteria per clip and sample (seeded), or show them in rubric order.",
        ),
    ] = True,
    seed: SeedOpt = DEFAULT_SEED,
    bootstrap: BootstrapOpt = 1000,
    table_format: Annotated[
        str, typer.Option("--table-format", help="parquet or csv for scores and verdicts.")
    ] = "parquet",
    clips: ClipSelection = ClipSelection(),
    llm: LLMOptions = LLMOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Judge captions against a rubric: a verdict per criterion, a weighted score per caption, a summary.

    The output folder is the run folder (run.json, log.jsonl, then summary.json, scores and verdicts
    tables). Rerunning the same command resumes after the last logged caption. Exit status 3 when every
    caption judged failed.
    """
    from lalm_bench.errors import InputError
    from lalm_bench.rubrics.judge.command import judge_command
    from lalm_bench.rubrics.judge.config import CaptionSource, JudgeConfig

    files = list(captions or [])
    names = list(name or [])
    if names and len(names) != len(files):
        raise InputError(f"{len(names)} --name for {len(files)} --captions: give one name per file, in order")
    config = JudgeConfig(
        rubric=rubric,
        captions=tuple(
            CaptionSource(f, n, id_column=id_column, text_column=text_column)
            for f, n in zip(files, names or [f.stem for f in files], strict=True)
        ),
        references=references,
        clips=clips,
        judges=tuple(judge_model or ()),
        samples=samples,
        per_criterion=per_criterion,
        with_audio=judge_with_audio,
        shuffle=shuffle,
        cannot_assess=cannot_assess,  # type: ignore[arg-type]
        seed=seed,
        bootstrap=bootstrap,
        table_format=table_format,  # type: ignore[arg-type]
        llm=llm,
        sampling=sampling,
    )
    judge_command(config, output)


@rubrics_app.command(
    **command_help(
        "lalm-bench rubrics compare rubrics/stoch/run_0 rubrics/stoch/run_1 rubrics/stoch/run_2 -o compare.json",
        section="Rubric stability: `lalm-bench rubrics compare`",
    )
)
@with_groups(
    embedding=EMBEDDING.but(model="BAAI/bge-base-en-v1.5"),
    output=OUTPUT_FILE.but(path=Path("compare.json")),
)
def compare(
    rubrics: Annotated[
        list[str],
        typer.Argument(
            help="Two or more rubrics: run folders, collected files or JSON lists of {criterion, weight}.",
            show_default=False,
        ),
    ],
    threshold: Annotated[
        str,
        typer.Option(
            "--threshold",
            help="Cosine at or above which two criteria may match; auto: calibrated for --model on the shipped "
            "paraphrase set (recorded in the output).",
        ),
    ] = "auto",
    embedding: EmbeddingOptions = EmbeddingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """How stable are rubrics across runs: criteria matched one-to-one by embedding cosine (Hungarian).

    For each pair: matched, precision, recall, F1, soft Jaccard, Spearman of matched weights, weight
    coverage; across all: the F1 matrix, the criteria that survive in every rubric, and for run folders
    the rubric size after each clip. Writes OUTPUT (JSON).
    """
    from lalm_bench.rubrics.compare.command import compare_command
    from lalm_bench.rubrics.compare.config import CompareConfig

    compare_command(CompareConfig(inputs=tuple(rubrics), threshold=threshold, embedding=embedding), output)
