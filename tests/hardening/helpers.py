"""Helpers for the hardening tests: the CLI in a subprocess (signals, concurrency, resource limits),
clip tables, and a folder nobody may write (imported, never via conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.rubrics.helpers import FAST_OPTIONS, make_wav, read_jsonl, write_baselines, write_clotho_csv

__all__ = [
    "CLIPS",
    "ENTRY",
    "FAST_OPTIONS",
    "REPO",
    "cli_process",
    "make_wav",
    "read_jsonl",
    "run_cli_subprocess",
    "unwritable_folder",
    "wait_for",
    "write_baselines",
    "write_clotho_csv",
]

REPO = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from lalm_bench.cli import main; main(sys.argv[1:])"
CLIPS = {
    f"clip {i:02d}.wav": [f"Caption {j}: a sound number {i} in place {i * 7 + j}." for j in range(5)] for i in range(8)
}


def _default_sigint() -> None:
    # A shell that starts jobs in the background hands them SIGINT ignored; a user's Ctrl-C is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_process(
    *args: object, cwd: Path, preexec: Callable[[], None] | None = None, entry: str = ENTRY
) -> subprocess.Popen[str]:
    """``lalm-bench ARGS`` in a new process (the environment of the test, caches included); ``entry``: the
    Python code that runs it (the real entry point by default)."""

    def setup() -> None:
        _default_sigint()
        if preexec is not None:
            preexec()

    extra = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *([extra] if extra else [])])}
    return subprocess.Popen(
        [sys.executable, "-c", entry, *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=setup,
    )


def run_cli_subprocess(
    *args: object, cwd: Path, timeout: float = 300, preexec: Callable[[], None] | None = None, entry: str = ENTRY
) -> subprocess.CompletedProcess[str]:
    proc = cli_process(*args, cwd=cwd, preexec=preexec, entry=entry)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str] | None = None, timeout: float = 120) -> None:
    """Poll ``condition`` until true; fail (with the process's stderr) if it never is or the process ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the process ended first (exit {proc.returncode}): {proc.communicate()[1][-2000:]}")
        time.sleep(0.02)
    pytest.fail("timed out waiting")


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write into: a chmod-ed one, or as root (for whom chmod does not
    count) a system folder the kernel refuses; skip where neither exists."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/proc/sys"), Path("/sys/fs/cgroup")):
        if candidate.is_dir() and not os.access(candidate, os.W_OK):
            return candidate
    pytest.skip("running as root, and no folder here refuses root's writes")
