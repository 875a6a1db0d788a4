"""What a ``predict`` run writes: the settings that identify it and one log record per item."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lalm_bench.audio.sent import AudioSent
from lalm_bench.llm.calls import StepReply

RECORD_FORMAT = "lalm-bench/predict-record/1"
SETTINGS_FORMAT = "lalm-bench/predict-run/1"

#: Provider options that change how requests are sent, not what they ask: they do not make another run.
TRANSPORT_OPTIONS = frozenset(
    {"backoff_initial_s", "backoff_max_s", "jitter_s", "max_attempts", "max_retries", "max_total_wait_s", "timeout"}
)


class RunSettings(BaseModel):
    """What identifies one condition's run: a rerun with the same settings resumes it, others are refused.

    ``--start``/``--limit`` are not part of it (records are per item, so another window of the same
    benchmark extends the run), nor are the server addresses (``base_urls`` is recorded for information:
    a restarted server on another port resumes the same run)."""

    model_config = ConfigDict(extra="forbid")

    format: str = SETTINGS_FORMAT
    condition: str
    model: str
    benchmark_sha256: str
    columns: dict[str, str | None]
    prompt_name: str
    prompt_version: str
    prompt_sha256: str
    system_prompt: str | None
    seed: int
    temperature: float
    top_p: float | None
    max_tokens: int | None
    provider_options: dict[str, Any]
    # audio settings; None for the ``none`` condition, which sends no audio
    max_audio_seconds: float | None = None
    sample_rate: int | None = None
    noise_dbfs: float | None = None  # noise only
    mismatch_key: str | None = None  # mismatched only: what a derangement group is
    choice_order: int | None = None  # --permute-choices: the option order of this run (None: the benchmark's)
    base_urls: list[str | None] = []  # informational

    def shared(self) -> dict[str, Any]:
        """The settings every condition of one comparison shares (for the serving canary)."""
        keep = ("model", "benchmark_sha256", "columns", "prompt_sha256", "system_prompt", "seed")
        return {k: getattr(self, k) for k in keep} | {"sampling": [self.temperature, self.top_p, self.max_tokens]}


class PredictRecord(BaseModel):
    """One line of a condition's ``log.jsonl``: what was sent for one item and what came back.

    ``attempt`` counts the runs that processed the item (``--retry-failed`` adds a record with the next
    attempt; the latest record counts). ``model_output`` is ``None`` whenever the item failed."""

    format: str = RECORD_FORMAT
    id: str
    attempt: int = 1
    condition: str
    status: Literal["ok", "failed"]
    failed_step: Literal["audio", "request"] | None = None
    error: str | None = None
    model_output: str | None = None
    seed: int
    prompt: str
    audio: list[AudioSent] = []
    mismatched_with: str | None = None
    permutation_index: int = 0  # --permute-choices: 0 = the benchmark's option order
    permutation: list[int] | None = None  # the displayed order as indices into the original choices
    reply: StepReply | None = None
    server: str | None = None  # the base URL that answered (without credentials)
    seconds: float = 0.0
    finished_utc: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.attempt)

    @property
    def audio_seconds(self) -> float | None:
        if self.failed_step == "audio":
            return None
        return float(sum(a.seconds for a in self.audio))
