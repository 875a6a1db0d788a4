"""Pydantic models: what the rubric model must return, and what a run writes to disk."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt

from lalm_bench.llm.calls import StepReply

RECORD_FORMAT = "lalm-bench/rubric-record/1"


class Criterion(BaseModel):
    """One criterion proposed by the extractor, with a verbatim quote from the reference."""

    criterion: str = Field(min_length=1, description="Self-contained yes/no checkable criterion.")
    # strict: a reply "weight": true is no weight (not 1), nor is "3" or 3.5
    weight: StrictInt = Field(ge=1, le=5, description="Importance from 1 (minor) to 5 (essential).")
    quote: str = Field(description="Verbatim words of the reference caption that support the criterion.")


class ExtractorReply(BaseModel):
    criteria: list[Criterion] = Field(description="Only NEW criteria; may be empty.")


class MergeItem(BaseModel):
    """One merged criterion and the ids of the input items it stands for."""

    criterion: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1, description="Ids of the input items merged into this one.")


class MergeReply(BaseModel):
    rubric: list[MergeItem]


class RubricItem(BaseModel):
    """A criterion of the rubric; ``weight`` is the sum of the weights of the items merged into it."""

    criterion: str
    weight: int = Field(ge=1)


class RunRecord(BaseModel):
    """One line of ``log.jsonl``: everything that happened to one clip in one run."""

    format: str = RECORD_FORMAT
    run: str
    position: int
    clip: str
    split: str
    status: Literal["ok", "failed"]
    failed_step: Literal["audio", "baseline", "extract", "merge"] | None = None
    error: str | None = None
    reference_index: int
    reference: str
    baseline: str | None = None
    baseline_source: Literal["file", "model"]
    rubric_version_seen: int | None = None
    baseline_reply: StepReply | None = None
    extractor_reply: StepReply | None = None
    new_criteria: list[Criterion] = Field(default_factory=list)
    rejected_criteria: list[dict[str, Any]] = Field(default_factory=list)
    merge_reply: StepReply | None = None
    merge_warnings: list[str] = Field(default_factory=list)
    final_criteria: list[RubricItem] = Field(default_factory=list)
    seconds: float = 0.0
    finished_utc: str = ""

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.replies() if not s.cached)

    def replies(self) -> list[StepReply]:
        return [s for s in (self.baseline_reply, self.extractor_reply, self.merge_reply) if s is not None]


class RunSettings(BaseModel):
    """What identifies a run: a rerun with the same settings resumes it, other settings are refused.

    The server's address is not part of it (a server restarted on another port serves the same run);
    the manifest records it."""

    split: str
    start: int
    limit: int | None
    clips_csv_sha256: str
    dataset_revision: str | None
    audio_model: str | None
    rubric_model: str
    baseline_file_sha256: str | None
    rubric_with_audio: bool
    rubric_lag: int
    mode: Literal["deterministic", "stochastic"]
    temperature: float
    top_p: float | None
    max_tokens: int | None
    seed: int
    prompt_version: str
