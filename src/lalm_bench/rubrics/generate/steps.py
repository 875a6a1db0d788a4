"""The three steps of one clip: baseline caption, new criteria against a drawn reference, merge.

1. **baseline**: the audio model captions the clip's audio (or the caption is read from a baseline file);
2. **extract**: a reference caption is drawn (per clip, from the run's seed, so resuming or changing
   the concurrency never changes a draw); the rubric model compares it, as the better response,
   with the baseline against a fixed rubric snapshot and returns new criteria, each with a verbatim
   quote (criteria whose quote is not in the reference are rejected and recorded);
3. **merge**: the rubric model merges the new criteria into the rubric. Each merged item names the
   ids of the items it stands for, so the code checks that nothing was invented or lost and computes
   the weight as the sum of the source weights.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.errors import item_error
from lalm_bench.llm.calls import StepReply, call_step
from lalm_bench.llm.interface import AudioPart, ChatModel, Message, Sampling, TextPart
from lalm_bench.rubrics.common.clips import Clip
from lalm_bench.rubrics.common.records import Criterion, ExtractorReply, MergeReply, RubricItem, RunRecord
from lalm_bench.rubrics.generate import prompts

_WORD = re.compile(r"\w+")


def draw_reference(seed: int, split: str, clip: Clip) -> tuple[int, str]:
    """The reference caption of ``clip`` for a run seed: 1-based index and text (empty ones skipped)."""
    choices = [(i, c) for i, c in enumerate(clip.captions, 1) if c.strip()]
    if not choices:
        return 0, ""
    return random.Random(f"{seed}:{split}:{clip.file_name}").choice(choices)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def check_quotes(criteria: list[Criterion], reference: str) -> tuple[list[Criterion], list[dict[str, Any]]]:
    """Keep criteria whose quote occurs in the reference (case, spacing and punctuation aside)."""
    ref = _norm(reference)
    kept, rejected = [], []
    for c in criteria:
        q = _norm(c.quote)
        if q and q in ref:
            kept.append(c)
        else:
            rejected.append({**c.model_dump(), "reason": "quote not found in the reference"})
    return kept, rejected


class MergeInvalid(ValueError):
    """The merge reply does not map its items onto the input ids."""


def apply_merge(
    rubric: list[RubricItem], new: list[Criterion], reply: MergeReply
) -> tuple[list[RubricItem], list[str]]:
    """Turn a merge reply into the new rubric: each input id must be used at most once; an id left
    out is kept unchanged (with a warning); weights are the sums of the source weights."""
    ids = prompts.merge_ids(rubric, new)
    used: set[str] = set()
    out: list[RubricItem] = []
    for item in reply.rubric:
        srcs = [s.strip().upper() for s in item.sources]
        unknown = [s for s in srcs if s not in ids]
        if unknown:
            raise MergeInvalid(f"merge reply names unknown id(s) {', '.join(unknown)}")
        again = [s for s in srcs if s in used] + [s for i, s in enumerate(srcs) if s in srcs[:i]]
        if again:
            raise MergeInvalid(f"merge reply uses id(s) {', '.join(sorted(set(again)))} more than once")
        used.update(srcs)
        out.append(RubricItem(criterion=item.criterion.strip(), weight=sum(ids[s][1] for s in srcs)))
    warnings = []
    for k, (text, weight) in ids.items():
        if k not in used:
            warnings.append(f"merge reply left out {k}; kept unchanged")
            out.append(RubricItem(criterion=text, weight=weight))
    return out, warnings


@dataclass
class StepContext:
    """What the steps of every clip share: the models, the data and the request limit."""

    split: str
    audio_model: ChatModel | None
    rubric_model: ChatModel
    read_audio: Callable[[Clip], AudioPart]
    baselines: dict[str, str] | None
    baseline_file: Path | None
    rubric_with_audio: bool
    rubric_lag: int
    limit: asyncio.Semaphore


@dataclass
class RunView:
    """The parts of a run the steps see: its identity, sampling and rubric versions."""

    name: str
    seed: int
    sampling: Sampling
    wait_version: Callable[[int], Any]  # async: the rubric after v clips
    current: Callable[[], list[RubricItem]]


@dataclass
class Prepared:
    """Steps 1 and 2 of one clip, ready for the sequential merge step."""

    clip: Clip
    reference_index: int
    reference: str
    started: float
    baseline: str | None = None
    baseline_reply: StepReply | None = None
    extractor_reply: StepReply | None = None
    rubric_version_seen: int | None = None
    new_criteria: list[Criterion] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None


async def _call(
    ctx: StepContext, model: ChatModel, step: str, run: RunView, messages: list[Message], schema: Any = None
) -> tuple[Any, StepReply]:
    extra = {"prompt_version": prompts.PROMPT_VERSION, "step": step, "run": run.name, "seed": run.seed}
    return await call_step(
        model, messages, schema=schema, sampling=run.sampling, cache_key_extra=extra, limit=ctx.limit
    )


async def prepare_clip(ctx: StepContext, run: RunView, pos: int, clip: Clip) -> Prepared:
    """Baseline caption and new criteria for one clip (may run ahead of the merge step)."""
    ref_index, reference = draw_reference(run.seed, ctx.split, clip)
    prep = Prepared(clip, ref_index, reference, time.perf_counter())
    if not reference:
        prep.failed_step, prep.error = "extract", "clip has no non-empty reference caption"
        return prep
    audio = None
    if ctx.rubric_with_audio or ctx.baselines is None:
        try:
            audio = await asyncio.to_thread(ctx.read_audio, clip)
        except Exception as exc:  # whatever fails with one clip's audio (MemoryError too) fails that clip
            prep.failed_step, prep.error = "audio", item_error(exc)
            return prep
    # step 1: baseline caption
    if ctx.baselines is not None:
        prep.baseline = ctx.baselines.get(clip.file_name)
        if prep.baseline is None or not prep.baseline.strip():
            what = "no" if prep.baseline is None else "an empty"
            prep.failed_step, prep.error = "baseline", f"{what} baseline caption in {ctx.baseline_file}"
            return prep
    else:
        assert ctx.audio_model is not None and audio is not None
        msgs = [Message("user", (audio, TextPart(prompts.BASELINE_PROMPT)))]
        res, prep.baseline_reply = await _call(ctx, ctx.audio_model, "baseline", run, msgs)
        if res is None or not res.text.strip():
            prep.failed_step = "baseline"
            prep.error = prep.baseline_reply.error or "the audio model returned an empty caption"
            return prep
        prep.baseline = res.text.strip()
    # step 2: new criteria against a fixed rubric snapshot
    prep.rubric_version_seen = max(0, pos - ctx.rubric_lag)
    rubric = await run.wait_version(prep.rubric_version_seen)
    with_audio = audio is not None and ctx.rubric_with_audio
    text = prompts.extractor_prompt(reference, prep.baseline, rubric, with_audio=with_audio)
    content = (audio, TextPart(text)) if with_audio and audio is not None else (TextPart(text),)
    msgs = [Message.text("system", prompts.EXTRACTOR_SYSTEM), Message("user", content)]
    res, prep.extractor_reply = await _call(ctx, ctx.rubric_model, "extract", run, msgs, ExtractorReply)
    if res is None:
        prep.failed_step, prep.error = "extract", prep.extractor_reply.error
        return prep
    prep.new_criteria, prep.rejected = check_quotes(list(res.parsed.criteria), reference)
    return prep


async def merge_clip(ctx: StepContext, run: RunView, pos: int, prep: Prepared) -> RunRecord:
    """Merge the clip's new criteria into the current rubric and build its record."""
    from lalm_bench.manifest import utc_now

    rubric = run.current()
    final, merge_reply = rubric, None
    warnings: list[str] = []
    failed_step, error = prep.failed_step, prep.error
    if failed_step is None and prep.new_criteria:
        if not rubric and len(prep.new_criteria) == 1:  # nothing to merge with
            c = prep.new_criteria[0]
            final = [RubricItem(criterion=c.criterion, weight=c.weight)]
        else:
            msgs = [
                Message.text("system", prompts.MERGE_SYSTEM),
                Message.text("user", prompts.merge_prompt(rubric, prep.new_criteria)),
            ]
            res, merge_reply = await _call(ctx, ctx.rubric_model, "merge", run, msgs, MergeReply)
            if res is None:
                failed_step, error = "merge", merge_reply.error
            else:
                try:
                    final, warnings = apply_merge(rubric, prep.new_criteria, res.parsed)
                except MergeInvalid as exc:
                    failed_step, error = "merge", str(exc)
                    merge_reply.error = str(exc)
    return RunRecord(
        run=run.name,
        position=pos,
        clip=prep.clip.file_name,
        split=ctx.split,
        status="failed" if failed_step else "ok",
        failed_step=failed_step,  # type: ignore[arg-type]
        error=error,
        reference_index=prep.reference_index,
        reference=prep.reference,
        baseline=prep.baseline,
        baseline_source="file" if ctx.baselines is not None else "model",
        rubric_version_seen=prep.rubric_version_seen,
        baseline_reply=prep.baseline_reply,
        extractor_reply=prep.extractor_reply,
        new_criteria=prep.new_criteria,
        rejected_criteria=prep.rejected,
        merge_reply=merge_reply,
        merge_warnings=warnings,
        final_criteria=rubric if failed_step else final,
        seconds=round(time.perf_counter() - prep.started, 3),
        finished_utc=utc_now(),
    )
