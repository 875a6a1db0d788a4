"""`lalm-bench rubrics generate | collect`: weighted rubrics from clips, model captions and references."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.app import OverwriteOpt, QuietOpt, app

rubrics_app = typer.Typer(
    help="Rubric generation (OnlineRubrics-style) and collection of final rubrics.",
    no_args_is_help=True,
)
app.add_typer(rubrics_app, name="rubrics")

DEFAULT_OUTPUT = Path("projects/make_rubrics")


@rubrics_app.command()
def generate(
    split: Annotated[str, typer.Option("--split", help="Clotho split.")] = "evaluation",
    start: Annotated[int, typer.Option("--start", min=0, help="Skip the first K clips.")] = 0,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N clips.")] = None,
    audio_model: Annotated[
        str | None,
        typer.Option(
            "--audio-model",
            help="provider/model that captions the audio (e.g. openai/Qwen/Qwen3-Omni-30B-A3B-Instruct).",
        ),
    ] = None,
    rubric_model: Annotated[
        str | None,
        typer.Option(
            "--rubric-model", help="provider/model for criteria and merging (default: --audio-model)."
        ),
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option(
            "--baseline-file",
            help="Parquet/CSV with file_name, model_output: captions made before (no audio model needed).",
        ),
    ] = None,
    csv: Annotated[
        Path | None,
        typer.Option("--csv", help="Clotho captions CSV (default: the cached woongvy/clotho-v2.1 snapshot)."),
    ] = None,
    audio_dir: Annotated[
        Path | None,
        typer.Option(
            "--audio-dir", help="Folder of the split's audio files (default: <csv folder>/<split>)."
        ),
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Revision of the cached Clotho snapshot.")
    ] = None,
    rubric_with_audio: Annotated[
        bool, typer.Option("--rubric-with-audio", help="Attach the clip's audio to the criteria request too.")
    ] = False,
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent runs (in parallel).")] = 1,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", help="deterministic (temperature 0, same seed) or stochastic (per-run seeds)."
        ),
    ] = "deterministic",
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="Temperature in stochastic mode.")
    ] = 0.7,
    top_p: Annotated[float | None, typer.Option("--top-p", min=0.0, max=1.0)] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1)] = 1024,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed (stochastic run k uses seed + k); draws references.")
    ] = 42,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight at most.")] = 8,
    rubric_lag: Annotated[
        int,
        typer.Option(
            "--rubric-lag",
            min=0,
            help="Clip p proposes criteria against the rubric without the last L clips merged (0: current).",
        ),
    ] = 0,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="OpenAI-compatible server (default: $OPENAI_BASE_URL).")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Env var holding the API key.")
    ] = "OPENAI_API_KEY",
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Request timeout in seconds.")] = 300.0,
    max_retries: Annotated[
        int, typer.Option("--max-retries", min=0, help="Retries on 429, 5xx, timeouts.")
    ] = 4,
    cache: Annotated[
        bool, typer.Option("--cache/--no-cache", help="On-disk response cache ($LALM_BENCH_LLM_CACHE).")
    ] = True,
    llm_option: Annotated[
        list[str] | None,
        typer.Option(
            "--llm-option",
            help="Provider option KEY=VALUE (VALUE read as JSON if it parses), e.g. structured_output=vllm.",
        ),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Run folders go to OUTPUT_DIR/deter|stoch/<run-name>_<k>/.")
    ] = DEFAULT_OUTPUT,
    run_name: Annotated[str, typer.Option("--run-name", help="Run folder prefix.")] = "run",
    overwrite: OverwriteOpt = False,
    legacy_results: Annotated[
        bool,
        typer.Option("--legacy-results", help="Also write the seed's results_<k>.json after every clip."),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Build a weighted rubric per run: baseline caption, new criteria vs a drawn reference, merge.

    Rerunning the same command resumes each run after its last logged clip.
    """
    from lalm_bench.rubrics.pipeline import GenerateConfig, generate

    generate(
        GenerateConfig(
            split=split,
            start=start,
            limit=limit,
            audio_model=audio_model,
            rubric_model=rubric_model,
            baseline_file=baseline_file,
            csv=csv,
            audio_dir=audio_dir,
            revision=revision,
            rubric_with_audio=rubric_with_audio,
            runs=runs,
            mode=mode,  # type: ignore[arg-type]
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            concurrency=concurrency,
            rubric_lag=rubric_lag,
            base_url=base_url,
            api_key_env=api_key_env,
            timeout=timeout,
            max_retries=max_retries,
            cache=cache,
            model_options=parse_options(llm_option or []),
            output_dir=output_dir,
            run_name=run_name,
            overwrite=overwrite,
            legacy_results=legacy_results,
            quiet=quiet,
        )
    )


def parse_options(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs; a VALUE that parses as JSON is used as such, else as a string."""
    import json

    from lalm_bench.errors import InputError

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--llm-option {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


@rubrics_app.command()
def collect(
    src_dir: Annotated[
        Path, typer.Option("--src-dir", help="Folder of results_*.json files or run folders.")
    ] = Path("stoch"),
    dst_dir: Annotated[Path, typer.Option("--dst-dir", help="Where the final records go.")] = Path(
        "stoch_new"
    ),
    pattern: Annotated[
        str | None,
        typer.Option("--pattern", help="Glob in SRC_DIR (default *.json, else the run logs */log.jsonl)."),
    ] = None,
    wrap_list: Annotated[
        bool, typer.Option("--wrap-list", help="Write a one-element list, not the object.")
    ] = False,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write the last record (the final rubric) of each run file to DST_DIR. Exit 1 if any file failed."""
    from lalm_bench.rubrics.collect import collect as collect_runs

    result = collect_runs(src_dir, dst_dir, pattern, wrap_list=wrap_list, overwrite=overwrite, quiet=quiet)
    if result.failed:
        raise SystemExit(1)
