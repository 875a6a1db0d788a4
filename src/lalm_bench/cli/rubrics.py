"""`lalm-bench rubrics generate | collect`: weighted rubrics from clips, model captions and references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.app import app
from lalm_bench.cli.options import (
    LLM,
    OUTPUT_DIR,
    SAMPLING,
    DatasetRevisionOpt,
    Flag,
    OldRevisionOpt,
    pick_alias,
    with_groups,
)
from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import LLMOptions, SamplingOptions

rubrics_app = typer.Typer(
    help="Rubric generation (OnlineRubrics-style) and collection of final rubrics.", no_args_is_help=True
)
app.add_typer(rubrics_app, name="rubrics")

SplitOpt = Annotated[str, typer.Option("--split", help="Clotho split.", rich_help_panel="Clips")]
CsvOpt = Annotated[
    Path | None,
    typer.Option(
        "--csv", help="Clotho captions CSV (default: the cached woongvy/clotho-v2.1 snapshot).", rich_help_panel="Clips"
    ),
]
AudioDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--audio-dir",
        help="Folder of the split's audio files (default: <csv folder>/<split>).",
        rich_help_panel="Clips",
    ),
]


@rubrics_app.command()
@with_groups(
    llm=LLM,
    sampling=SAMPLING.but(
        temperature=0.7,
        flags={"temperature": Flag(("--temperature",), "Temperature in stochastic mode.", extra={"min": 0.0})},
    ),
    output=OUTPUT_DIR.but(path=Path("rubrics"), drop=("plot",)),
)
def generate(
    split: SplitOpt = "evaluation",
    csv: CsvOpt = None,
    audio_dir: AudioDirOpt = None,
    dataset_revision: DatasetRevisionOpt = None,
    revision: OldRevisionOpt = None,
    start: Annotated[int, typer.Option("--start", min=0, help="Skip the first K clips.", rich_help_panel="Clips")] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most N clips.", rich_help_panel="Clips")
    ] = None,
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
    ] = 42,
    rubric_lag: Annotated[
        int,
        typer.Option(
            "--rubric-lag", min=0, help="Clip p proposes criteria against the rubric without the last L clips merged."
        ),
    ] = 0,
    run_name: Annotated[str, typer.Option("--run-name", help="Run folder prefix.")] = "run",
    legacy_results: Annotated[
        bool, typer.Option("--legacy-results", help="Also write the seed's results_<k>.json after every clip.")
    ] = False,
    llm: LLMOptions = LLMOptions(),
    sampling: SamplingOptions = SamplingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Build a weighted rubric per run: baseline caption, new criteria vs a drawn reference, merge.

    Run folders go to OUTPUT_DIR/deter|stoch/<run-name>_<k>/. Rerunning the same command resumes each
    run after its last logged clip. Exit status 3 when every clip processed failed.
    """
    from lalm_bench.errors import InputError
    from lalm_bench.rubrics.command import generate_command
    from lalm_bench.rubrics.config import ClipSelection, GenerateConfig

    if len(llm.base_urls) > 1:
        raise InputError("rubrics generate talks to one server: give --base-url once")
    config = GenerateConfig(
        clips=ClipSelection(
            split=split,
            csv=csv,
            audio_dir=audio_dir,
            dataset_revision=pick_alias(dataset_revision, revision, "--dataset-revision and --revision"),
            start=start,
            limit=limit,
        ),
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


@rubrics_app.command()
@with_groups(
    output=OUTPUT_DIR.but(
        path=Path("stoch_new"), drop=("plot",), flags={"path": Flag(("--dst-dir",), "Where the final records go.")}
    )
)
def collect(
    src_dir: Annotated[Path, typer.Option("--src-dir", help="Folder of results_*.json files or run folders.")] = Path(
        "stoch"
    ),
    pattern: Annotated[
        str | None, typer.Option("--pattern", help="Glob in SRC_DIR (default *.json, else the run logs */log.jsonl).")
    ] = None,
    wrap_list: Annotated[bool, typer.Option("--wrap-list", help="Write a one-element list, not the object.")] = False,
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """Write the last record (the final rubric) of each run file to DST_DIR. Exit 1 if any file failed."""
    from lalm_bench.rubrics.command import collect_command

    if collect_command(src_dir, output.path, pattern, wrap_list=wrap_list, output=output):
        raise SystemExit(1)
