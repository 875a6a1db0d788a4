"""``uv run`` must not recompile the environment's bytecode on every command: the project does not set
``compile-bytecode`` (uv then recompiles on each ``uv run``); bytecode is compiled once, at sync, by
CI and by the README's install note."""

from __future__ import annotations

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
