"""`lalm-bench cache info|clear`: inspect or empty the on-disk embedding cache (or, with --llm, the LLM one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lalm_bench.cli.options import EmbeddingCacheDirOpt, LLMCacheOpt
from lalm_bench.cli.root import app, command_help

LLMOpt = Annotated[bool, typer.Option("--llm", help="The LLM response cache instead of the embedding cache.")]
_SECTION = "Speed: embedding cache, backends, several GPUs"

cache_app = typer.Typer(
    help="Inspect or clear the embedding cache (--llm: the LLM response cache).",
    no_args_is_help=True,
    **command_help("lalm-bench cache info", "lalm-bench cache clear --llm --yes", section=_SECTION),
)
app.add_typer(cache_app, name="cache")


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _llm_cache_path(path: Path | None) -> Path:
    from lalm_bench.errors import InputError
    from lalm_bench.llm.cache import CACHE_ENV, default_cache_path

    found = path or default_cache_path()
    if found is None:
        raise InputError(f"the LLM response cache is disabled (${CACHE_ENV}); name a file with --llm-cache")
    if found.is_dir():
        raise InputError(f"--llm-cache {found} is a folder; name the cache file")
    return found


def _llm_info(path: Path) -> dict[str, Any]:
    from lalm_bench.llm.cache import ResponseCache

    files = path.parent.glob(path.name + "*") if path.parent.is_dir() else ()
    size = sum(p.stat().st_size for p in files if p.is_file())
    report: dict[str, Any] = {"database": str(path), "exists": path.is_file(), "bytes": size, "entries": 0}
    if not path.is_file():
        return {**report, "damaged": None}
    with ResponseCache(path, read_only=True, warn=False) as cache:
        entries = len(cache)
        return {**report, "entries": entries, "damaged": cache.damaged}


@cache_app.command(
    "info", **command_help("lalm-bench cache info", "lalm-bench cache info --llm --json", section=_SECTION)
)
def info(
    cache_dir: EmbeddingCacheDirOpt = None,
    llm: LLMOpt = False,
    llm_cache: LLMCacheOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Where the cache is, how big, and how many entries it holds (per model).

    Only reads: nothing is created, and a read-only or damaged cache is reported, not refused."""
    from lalm_bench.embeddings.cache import EmbeddingCache
    from lalm_bench.io import dumps_strict

    if llm:
        report = _llm_info(_llm_cache_path(llm_cache))
        if as_json:
            typer.echo(dumps_strict(report))
            return
        typer.echo(f"location: {report['database']}")
        if not report["exists"]:
            typer.echo("nothing cached there yet")
        elif report["damaged"]:
            typer.echo(f"damaged:  {report['damaged']} (`lalm-bench cache clear --llm` removes it)")
        else:
            typer.echo(f"size:     {_human(report['bytes'])} ({report['entries']} responses)")
        return

    if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
        from lalm_bench.errors import InputError

        raise InputError(f"--embedding-cache-dir {cache_dir} is a file; name the cache folder")
    with EmbeddingCache(cache_dir, read_only=True, warn=False) as cache:
        report = cache.info()
    if as_json:
        typer.echo(dumps_strict(report))
        return
    typer.echo(f"location: {report['directory']}")
    if not report["exists"]:
        typer.echo("nothing cached there yet")
        return
    if report["damaged"]:
        typer.echo(f"damaged:  {report['database']}: {report['damaged']} (`lalm-bench cache clear` removes it)")
        return
    typer.echo(f"size:     {_human(report['bytes'])} ({report['entries']} vectors)")
    for m in report["models"]:
        typer.echo(
            f"  {m['name']}  [{str(m.get('identity'))[:23]}, max_seq_length={m.get('max_seq_length')}, "
            f"{m.get('backend')}/{m.get('precision')}]: {m['entries']} vectors"
        )


@cache_app.command(
    "clear",
    **command_help(
        "lalm-bench cache clear --model BAAI/bge-m3 --yes", "lalm-bench cache clear --llm --yes", section=_SECTION
    ),
)
def clear(
    cache_dir: EmbeddingCacheDirOpt = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model name (as given to --model).")] = None,
    llm: LLMOpt = False,
    llm_cache: LLMCacheOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete cached vectors (all, or one model's), or with --llm every cached LLM response.

    A damaged cache file is removed."""
    from lalm_bench.embeddings.cache import EmbeddingCache
    from lalm_bench.errors import InputError

    if llm:
        if model is not None:
            raise InputError("--model selects embedding vectors; the LLM response cache is cleared as a whole")
        _clear_llm(_llm_cache_path(llm_cache), yes)
        return
    probe = EmbeddingCache(cache_dir, read_only=True, warn=False)
    if not probe.damaged:
        probe.info()  # reads every model row: damage there shows up now
    probe.close()
    if not probe.exists:
        typer.echo(f"nothing cached in {probe.directory}")
        return
    if probe.damaged:
        if not yes and not typer.confirm(f"remove the damaged cache file {probe.path}?"):
            raise typer.Abort()
        gone = probe.remove_files()
        extra = f" and {len(gone) - 1} companion file(s)" if len(gone) > 1 else ""
        typer.echo(f"removed the damaged cache file {probe.path}{extra}")
        return
    with EmbeddingCache(cache_dir) as cache:
        what = f"the cached vectors of {model!r}" if model else "all cached vectors"
        if not yes and not typer.confirm(f"delete {what} in {cache.directory}?"):
            raise typer.Abort()
        n = cache.clear(model)
        if cache.damaged:  # found damaged while clearing
            cache.remove_files()
            typer.echo(f"removed the damaged cache file {cache.path}")
            return
    typer.echo(f"deleted {n} vectors")


def _clear_llm(path: Path, yes: bool) -> None:
    from lalm_bench.llm.cache import ResponseCache

    if not path.is_file():
        typer.echo(f"nothing cached in {path}")
        return
    probe = ResponseCache(path, read_only=True, warn=False)
    len(probe)  # reads the table: damage there shows up now
    probe.close()
    if probe.damaged:
        if not yes and not typer.confirm(f"remove the damaged LLM response cache {path}?"):
            raise typer.Abort()
        probe.remove_files()
        typer.echo(f"removed the damaged cache file {path}")
        return
    if not yes and not typer.confirm(f"delete every cached LLM response in {path}?"):
        raise typer.Abort()
    with ResponseCache(path) as cache:
        n = cache.clear()
        if cache.damaged:
            cache.remove_files()
            typer.echo(f"removed the damaged cache file {path}")
            return
    typer.echo(f"deleted {n} responses")
