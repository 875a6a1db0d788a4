"""Fixtures for the rubric tests: Clotho-like data, a scripted rubric LLM on a real 127.0.0.1 server."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from tests.llm.helpers import make_wav
from tests.rubrics.fake_rubric_llm import RubricLLM

__all__ = ["make_wav"]

REPO = Path(__file__).resolve().parents[2]
SHARED_CLOTHO = REPO.parent / "shared" / "data" / "clotho"
# fast backoff so retry paths run quickly; same code as in production
FAST_OPTIONS = [
    "--llm-option", "backoff_initial_s=0.001", "--llm-option", "backoff_max_s=0.005",
    "--llm-option", "jitter_s=0",
]  # fmt: skip


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


def write_clotho_csv(path: Path, clips: dict[str, list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name"] + [f"caption_{i}" for i in range(1, 6)])
        for name, caps in clips.items():
            w.writerow([name, *caps])
    return path


MADE_UP = {
    f"clip {i:02d}, take {i}.wav": [
        f"Caption {j} of clip {i}: a {animal} barks near a {place}." for j in range(1, 6)
    ]
    for i, (animal, place) in enumerate(
        [
            ("dog", "river"),
            ("fox", "road"),
            ("seal", "harbour"),
            ("wolf", "forest"),
            ("dog", "road"),
            ("crow", "field"),
        ]
    )
}


@pytest.fixture
def small_clotho(tmp_path) -> Path:
    """Six made-up clips (names with commas and spaces) in Clotho's CSV layout."""
    return write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)


def write_baselines(path: Path, names, text=lambda n: f"Some noise is heard in {n}.") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name", "model_output"])
        for n in names:
            w.writerow([n, text(n)])
    return path


@pytest.fixture
def rubric_server():
    from tests.llm.fake_server import ScriptedOpenAIServer

    llm = RubricLLM()
    with ScriptedOpenAIServer(llm) as srv:
        srv.llm = llm
        yield srv


@pytest.fixture
def cli(capsys):
    """Run ``lalm-bench`` in-process: returns (exit code, stdout, stderr)."""
    from lalm_bench.cli import main

    def run(*args: str):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


PY = sys.executable
