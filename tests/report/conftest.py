"""Runs shared by the report tests (made once per session: predict, accuracy, similarity for two models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.helpers import full_run, tone_benchmark


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``listener`` and ``deaf`` run folders (predict + accuracy + similarity) on one tone benchmark."""
    from tests.conftest import CliResult

    def run_cli(*args: object) -> CliResult:
        import contextlib
        import io

        from lalm_bench.cli import main

        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return CliResult(code, out.getvalue(), err.getvalue())

    base = tmp_path_factory.mktemp("report-runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("LALM_BENCH_CACHE_DIR", str(base / "cache" / "embeddings"))
    mp.setenv("LALM_BENCH_LLM_CACHE", str(base / "cache" / "llm.sqlite"))
    try:
        bench = tone_benchmark(base / "bench")
        return {
            "bench": bench,
            "listener": full_run(run_cli, base / "listener", listening=True, bench=bench),
            "deaf": full_run(run_cli, base / "deaf", listening=False, bench=bench),
        }
    finally:
        mp.undo()
