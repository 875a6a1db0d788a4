"""`lalm-bench cache info|clear`: inspect or empty the on-disk embedding cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lalm_bench.cli.app import app

CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--embedding-cache-dir",
        "--cache-dir",
        help="Embedding cache folder (default: $LALM_BENCH_CACHE_DIR, else the user cache dir).",
    ),
]

cache_app = typer.Typer(help="Inspect or clear the embedding cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@cache_app.command("info")
def info(
    cache_dir: CacheDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Where the cache is, how big, and how many vectors it holds per model."""
    from lalm_bench.embeddings.cache import EmbeddingCache

    with EmbeddingCache(cache_dir) as cache:
        report = cache.info()
    if as_json:
        from lalm_bench.io import dumps_strict

        typer.echo(dumps_strict(report))
        return
    typer.echo(f"location: {report['directory']}")
    typer.echo(f"size:     {_human(report['bytes'])} ({report['entries']} vectors)")
    for m in report["models"]:
        typer.echo(
            f"  {m['name']}  [{m['identity'][:23]}, max_seq_length={m['max_seq_length']}, "
            f"{m['backend']}/{m['precision']}]: {m['entries']} vectors"
        )


@cache_app.command("clear")
def clear(
    cache_dir: CacheDirOpt = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model name (as given to --model).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete cached vectors (all, or one model's)."""
    from lalm_bench.embeddings.cache import EmbeddingCache

    with EmbeddingCache(cache_dir) as cache:
        what = f"the cached vectors of {model!r}" if model else "all cached vectors"
        if not yes and not typer.confirm(f"delete {what} in {cache.directory}?"):
            raise typer.Abort()
        n = cache.clear(model)
    typer.echo(f"deleted {n} vectors")
