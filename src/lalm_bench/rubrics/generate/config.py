"""Settings of ``rubrics generate`` (see ``lalm-bench rubrics generate --help`` for their meaning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lalm_bench.llm.options import LLMOptions, SamplingOptions
from lalm_bench.manifest import DEFAULT_SEED
from lalm_bench.rubrics.common import RUBRICS_DIR
from lalm_bench.rubrics.common.clips import ClipSelection

MODE_DIRS = {"deterministic": "deter", "stochastic": "stoch"}
DEFAULT_OUTPUT_DIR = RUBRICS_DIR


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides what ``rubrics generate`` does (output location aside)."""

    clips: ClipSelection = field(default_factory=ClipSelection)
    audio_model: str | None = None
    rubric_model: str | None = None
    baseline_file: Path | None = None
    rubric_with_audio: bool = False
    runs: int = 1
    mode: Literal["deterministic", "stochastic"] = "deterministic"
    sampling: SamplingOptions = field(default_factory=lambda: SamplingOptions(temperature=0.7))
    seed: int = DEFAULT_SEED
    rubric_lag: int = 0
    llm: LLMOptions = field(default_factory=LLMOptions)
    run_name: str = "run"
    legacy_results: bool = False
