"""``lalm-bench demo`` end to end: check the folder, run, write ``demo.json``, print the verdicts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lalm_bench.demo.config import DemoConfig, DemoPaths
from lalm_bench.demo.run import DemoResult, run_demo
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, OutputSet, check_outputs

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder


def planned_outputs(config: DemoConfig, root: Path) -> dict[str, Path]:
    """Every file the demo writes (run folders aside), labelled for error messages."""
    paths = DemoPaths(root)
    files = {
        "demo.json": paths.summary,
        "benchmark": paths.benchmark_folder / "benchmark.jsonl",
        "report.html": paths.report,
    }
    for model in config.models:
        for label, path in paths.model(model).outputs().items():
            files[f"{model} {label}"] = path
    return files


def demo_command(config: DemoConfig, output: OutputOptions, *, embedder: Embedder | None = None) -> DemoResult:
    """Refuse a folder that already holds a demo (unless ``overwrite``) before any work; run; write
    ``demo.json``; print each model's verdict and where the files are."""
    from lalm_bench.embeddings.options import check_embedding_options

    config.validate()
    root = Path(output.path)
    if root.exists() and not root.is_dir():
        raise InputError(f"--output {root} is a file; name a folder")
    check_outputs(planned_outputs(config, root), overwrite=output.overwrite)
    if embedder is None:
        check_embedding_options(config.embedding)

    def step(message: str) -> None:
        if not output.quiet:
            print(f"… {message}", file=sys.stderr, flush=True)

    result = run_demo(config, output, embedder=embedder, step=step)
    doc = result.to_json()
    summary = DemoPaths(root).summary
    with OutputSet() as out:
        out.json(summary, doc)
    if not output.quiet:
        from lalm_bench.demo.report import print_summary

        print_summary(doc, str(summary))
    return result
