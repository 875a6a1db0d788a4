from __future__ import annotations

import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer


@pytest.fixture
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _isolated_llm_env(monkeypatch, tmp_path):
    # Never touch the user's cache or real keys from tests.
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(tmp_path / "default-cache.sqlite"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
