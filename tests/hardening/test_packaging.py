"""``uv run`` must not recompile the environment's bytecode on every command: the project does not set
``compile-bytecode`` (uv then recompiles on each ``uv run``); bytecode is compiled once, at sync, by
CI and by the README's install note."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hardening.helpers import REPO


def _settings(text: str) -> list[str]:
    return [line.split("#", 1)[0] for line in text.splitlines() if line.split("#", 1)[0].strip()]


def test_no_per_command_bytecode_compilation():
    for name in ("pyproject.toml", "uv.toml"):
        path = REPO / name
        if path.exists():
            assert not any("compile-bytecode" in line for line in _settings(path.read_text(encoding="utf-8")))


def test_ci_compiles_once_at_sync():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    syncs = [line for line in ci.splitlines() if " sync " in line and not line.lstrip().startswith("#")]
    assert syncs and all("--compile-bytecode" in line for line in syncs)


def _uv() -> list[str] | None:
    import shutil
    import subprocess
    import sys

    if shutil.which("uv"):
        return ["uv"]
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    return [sys.executable, "-m", "uv"] if probe.returncode == 0 else None


def readme_first_command() -> list[str]:
    """The first line of the README's first code block, without ``uv run`` and its comment."""
    import shlex

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1]
    line = block.splitlines()[0].split("#", 1)[0].strip()
    words = shlex.split(line)
    assert words[:2] == ["uv", "run"] and words[2] == "lalm-bench", line
    return words[2:]


@pytest.mark.slow
def test_wheel_installs_and_runs_the_readme_first_command(tmp_path):
    """As a new user would: build the wheel, install it with its dependencies into a fresh venv outside
    the repo, run the README's first command from an empty folder. Versions are pinned to the lock's
    (``-c``), so uv takes everything from its cache; bytecode is not compiled (slower than running)."""
    import os
    import subprocess

    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")}

    def sh(*args: object, cwd: Path = tmp_path, **extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in args], cwd=cwd, env={**env, **extra}, capture_output=True, text=True)
        assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "empty"
    sh(*uv, "build", "--wheel", "--out-dir", dist, REPO, cwd=REPO)
    (wheel,) = dist.glob("lalm_bench-*.whl")
    constraints = tmp_path / "constraints.txt"
    sh(*uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", constraints, cwd=REPO)
    sh(*uv, "venv", "--quiet", venv)
    sh(*uv, "pip", "install", "--quiet", "-c", constraints, wheel, VIRTUAL_ENV=str(venv))
    work.mkdir()
    command = readme_first_command()
    done = sh(venv / "bin" / command[0], *command[1:], cwd=work, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    assert "error" not in done.stderr.lower()
    written = [p for p in work.rglob("*") if p.is_file()]
    assert written, "the README's first command wrote nothing"
    assert any(p.suffix == ".json" for p in written)
