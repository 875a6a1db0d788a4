"""What a judge run holds while it runs: the checked inputs, the units, the judges, the run folder.

The helpers (plan, ask, outputs) take this state, never the job: the job module sits above them and
they never import it back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lalm_bench.io import OutputOptions
from lalm_bench.llm.interface import AudioPart
from lalm_bench.rubrics.common.clips import Clip, ClipSet
from lalm_bench.rubrics.common.rubric_files import LoadedRubric
from lalm_bench.rubrics.judge.config import JudgeConfig
from lalm_bench.rubrics.judge.schema import JudgeRecord, JudgeSettings
from lalm_bench.runs import Models, RunSlot


@dataclasses.dataclass(frozen=True)
class Unit:
    """One caption judged once."""

    system: str
    clip: Clip
    caption_index: int
    caption: str
    judge: str
    sample: int
    evidence: tuple[int, ...]
    order: tuple[int, ...]

    def key(self) -> tuple[str, str, int, str, int]:
        return (self.system, self.clip.file_name, self.caption_index, self.judge, self.sample)


@dataclasses.dataclass
class SystemInput:
    name: str
    path: Path | None  # None: the references
    captions: dict[str, str]
    counts: dict[str, Any]


@dataclasses.dataclass(kw_only=True)
class JudgeRun(RunSlot[JudgeRecord]):
    """The run folder of a judge run (the output folder)."""


@dataclasses.dataclass
class JudgeState:
    """One ``rubrics judge`` call: config, rubric, clips, systems, units, judges, run folder and records."""

    cfg: JudgeConfig
    output: OutputOptions
    files: dict[str, Path]
    rubric: LoadedRubric | None = None
    clipset: ClipSet | None = None
    clips: list[Clip] = dataclasses.field(default_factory=list)
    systems: list[SystemInput] = dataclasses.field(default_factory=list)
    excluded: dict[str, int] = dataclasses.field(default_factory=dict)
    units: list[Unit] = dataclasses.field(default_factory=list)
    todo: list[Unit] = dataclasses.field(default_factory=list)
    records: list[JudgeRecord] = dataclasses.field(default_factory=list)
    resumed: int = 0
    settings: JudgeSettings | None = None
    models: Models = dataclasses.field(default_factory=Models)
    server_of: dict[str, str] = dataclasses.field(default_factory=dict)
    run: JudgeRun | None = None
    read_audio: Callable[[Clip], AudioPart] | None = None
    t0: float = dataclasses.field(default_factory=time.perf_counter)
    warnings: list[str] = dataclasses.field(default_factory=list)  # printed once every input has been checked

    @property
    def model_info(self) -> dict[str, dict[str, Any]]:
        return self.models.info
