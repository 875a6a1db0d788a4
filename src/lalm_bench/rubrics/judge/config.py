"""Settings of ``rubrics judge`` (see ``lalm-bench rubrics judge --help`` for their meaning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lalm_bench.llm.options import LLMOptions, SamplingOptions
from lalm_bench.manifest import DEFAULT_SEED, config_parameters
from lalm_bench.rubrics.common.clips import ClipSelection

REFERENCES = "references"  # the name of the human-reference system
DEFAULT_MAX_TOKENS = 4096  # a reply holds a reason per criterion: rubrics of 50+ criteria need room


@dataclass(frozen=True)
class CaptionSource:
    """One system: a Parquet/CSV file, its label, the column naming the clip (a Clotho file name, or a path
    ending in one, as in ``predict``'s prediction files) and the column holding the caption."""

    path: Path
    name: str
    id_column: str = "file_name"
    text_column: str = "model_output"

    def columns(self) -> dict[str, str]:
        """The columns where they differ from the defaults (so run folders made before keep resuming)."""
        return {
            k: v
            for k, v, default in (
                ("id_column", self.id_column, "file_name"),
                ("text_column", self.text_column, "model_output"),
            )
            if v != default
        }


@dataclass(frozen=True)
class JudgeConfig:
    """Everything that decides what ``rubrics judge`` does (output location aside)."""

    rubric: Path
    captions: tuple[CaptionSource, ...] = ()
    references: bool = False
    clips: ClipSelection = field(default_factory=ClipSelection)
    judges: tuple[str, ...] = ()
    samples: int = 1
    per_criterion: bool = False
    with_audio: bool = False
    shuffle: bool = True
    cannot_assess: Literal["skip", "fail"] = "skip"
    seed: int = DEFAULT_SEED
    bootstrap: int = 1000
    table_format: Literal["parquet", "csv"] = "parquet"
    llm: LLMOptions = field(default_factory=LLMOptions)
    sampling: SamplingOptions = field(default_factory=lambda: SamplingOptions(max_tokens=DEFAULT_MAX_TOKENS))

    def parameters(self) -> dict[str, Any]:
        params = config_parameters(self)
        params["llm"] = self.llm.public()  # URLs without credentials
        return params
