"""Fixtures for the rubric tests: Clotho-like data, a scripted rubric LLM on a real 127.0.0.1 server."""

from __future__ import annotations

from pathlib import Path

import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.rubrics.helpers import MADE_UP, SHARED_CLOTHO, write_clotho_csv


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(tmp_path / "llm-cache.sqlite"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def clotho_eval() -> Path:
    """The real Clotho evaluation captions CSV (skips when ../shared/data is absent)."""
    path = SHARED_CLOTHO / "clotho_captions_evaluation.csv"
    if not path.is_file():
        pytest.skip("../shared/data/clotho not available")
    return path


@pytest.fixture
def small_clotho(tmp_path) -> Path:
    """Six made-up clips (names with commas and spaces) in Clotho's CSV layout."""
    return write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)


@pytest.fixture
def rubric_server():
    llm = RubricLLM()
    with ScriptedOpenAIServer(llm) as srv:
        srv.llm = llm
        yield srv
