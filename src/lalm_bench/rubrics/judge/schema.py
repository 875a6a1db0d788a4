"""What the judge must return, and what a judge run writes to its log."""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from lalm_bench.llm.calls import StepReply

RECORD_FORMAT = "lalm-bench/judge-record/1"
VERDICTS = ("met", "not_met", "cannot_assess")
ERROR = "error"  # no verdict: the judge call failed, its reply stayed invalid, or the audio was unreadable
VerdictLabel = Literal["met", "not_met", "cannot_assess"]
Label = Literal["met", "not_met", "cannot_assess", "error"]


def criterion_id(i: int) -> str:
    """The id shown to the judge for the i-th criterion of a request (0-based ``i``): ``C1``, ``C2``, ..."""
    return f"C{i + 1}"


def _tidy_label(cls: Any, value: Any) -> Any:
    """``Met``, ``not met``, ``Cannot-Assess`` -> ``met``, ``not_met``, ``cannot_assess``."""
    return "_".join(value.strip().lower().replace("-", " ").split()) if isinstance(value, str) else value


class Verdict(BaseModel):
    """The judge's verdict on one criterion, after a one-sentence reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="One sentence: why the verdict.")
    verdict: VerdictLabel = Field(description="met, not_met or cannot_assess.")

    @field_validator("verdict", mode="before")
    @classmethod
    def tidy_verdict(cls, value: Any) -> Any:
        return _tidy_label(cls, value)


class JudgeReplyBase(BaseModel):
    """A judge reply: one property per criterion id of the request (see :func:`reply_model`)."""

    model_config = ConfigDict(extra="forbid")

    def by_id(self) -> dict[str, Verdict]:
        """``{"C1": verdict, ...}`` in id order."""
        return {name: getattr(self, name) for name in type(self).model_fields}


def _as_object(ids: tuple[str, ...], value: Any) -> Any:
    """What a model without constrained decoding writes, made into ``{"C1": {...}, ...}``.

    Ids are tidied (``c3``, `` C3 `` -> ``C3``); a ``{"verdicts": ...}`` wrapper and the list form
    ``[{"id": "C1", "reason": ..., "verdict": ...}]`` are taken when each id comes once. A reply that
    leaves an id out or names one twice is refused with the reason (for the repair retry)."""
    if isinstance(value, dict) and set(value) == {"verdicts"}:
        value = value["verdicts"]
    pairs: list[tuple[Any, Any]]
    if isinstance(value, list):
        if not all(isinstance(v, dict) and "id" in v for v in value):
            return value  # refused below by the schema
        pairs = [(v["id"], {k: x for k, x in v.items() if k != "id"}) for v in value]
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        return value
    got = [k.strip().upper() if isinstance(k, str) else k for k, _ in pairs]
    missing = [i for i in ids if i not in got]
    twice = sorted({i for i in got if got.count(i) > 1 and i in ids}, key=ids.index)
    problems = []
    if missing:
        problems.append(f"missing verdict(s) for {', '.join(missing)}")
    if twice:
        problems.append(f"more than one verdict for {', '.join(twice)}")
    if problems:
        raise ValueError("; ".join(problems) + f" (give exactly one verdict for each of {', '.join(ids)})")
    return dict(zip(got, (v for _, v in pairs), strict=True))


@functools.lru_cache(maxsize=256)
def reply_model(n: int) -> type[JudgeReplyBase]:
    """The reply schema of a request with ``n`` criteria (ids ``C1..Cn``): an object with one required
    property per id and no other (``additionalProperties: false``), each a :class:`Verdict`.

    Any reply valid for this JSON schema judges every criterion exactly once, so a server with
    constrained decoding (vLLM, llama.cpp) cannot leave an id out or repeat one. For servers without
    it the validator tidies what it can and refuses the rest with the reason, so such a reply gets
    the provider's repair retry and, if still invalid, becomes a judge error."""
    ids = tuple(criterion_id(i) for i in range(n))

    def as_object(cls: Any, value: Any) -> Any:
        return _as_object(ids, value)

    fields: dict[str, Any] = {i: (Verdict, Field(description=f"The verdict on criterion {i}.")) for i in ids}
    return create_model(  # type: ignore[call-overload,no-any-return]
        "JudgeReply",
        __base__=JudgeReplyBase,
        __validators__={"as_object": model_validator(mode="before")(as_object)},  # type: ignore[dict-item]
        **fields,
    )


class JudgeRecord(BaseModel):
    """One line of ``log.jsonl``: one caption judged once (one judge, one sample) against every criterion."""

    format: str = RECORD_FORMAT
    system: str
    clip: str
    caption_index: int  # 0: the system's caption; k >= 1: reference caption k of the clip
    caption: str
    judge: str
    sample: int
    order: list[int]  # rubric indices in the order shown: id C(i+1) is criterion order[i]
    evidence: list[int]  # the reference captions (1-based) shown to the judge as evidence
    with_audio: bool = False
    status: Literal["ok", "error"]  # error: at least one criterion has no verdict
    error_kind: Literal["call", "invalid", "audio"] | None = None
    error: str | None = None
    verdicts: list[Label]  # per criterion, in rubric order
    reasons: list[str | None]
    replies: list[StepReply] = Field(default_factory=list)
    seconds: float = 0.0
    finished_utc: str = ""

    def key(self) -> tuple[str, str, int, str, int]:
        return (self.system, self.clip, self.caption_index, self.judge, self.sample)

    @property
    def tokens(self) -> int:
        return sum(r.prompt_tokens + r.completion_tokens for r in self.replies if not r.cached)


class JudgeSettings(BaseModel):
    """What identifies a judge run: the same settings resume it, other settings are refused.

    Statistics (``--cannot-assess``, ``--bootstrap``) are not settings: they change the summary, not
    a single call, so a finished run can be summarised again under another policy without a call."""

    rubric_sha256: str
    split: str
    start: int
    limit: int | None
    clips_csv_sha256: str
    dataset_revision: str | None
    systems: list[dict[str, Any]]  # name, captions file sha256 (references: null)
    references: bool
    excluded_references: dict[str, int]  # clip -> reference index not judged (the rubric's source)
    judges: list[str]
    samples: int
    per_criterion: bool
    with_audio: bool
    shuffle: bool
    temperature: float
    top_p: float | None
    max_tokens: int | None
    seed: int
    prompt_version: str
