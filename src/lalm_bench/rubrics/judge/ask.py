"""One unit judged: the judge prompt, the call (or one per criterion), the verdicts in one log record."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lalm_bench.errors import item_error
from lalm_bench.llm.calls import StepReply, call_step
from lalm_bench.llm.interface import AudioPart, Message, Sampling, TextPart
from lalm_bench.rubrics.judge import prompts
from lalm_bench.rubrics.judge.schema import ERROR, JudgeRecord, criterion_id, reply_model
from lalm_bench.rubrics.judge.state import JudgeState, Unit


async def judge_unit(state: JudgeState, unit: Unit, limit: asyncio.Semaphore) -> JudgeRecord:
    """Judge one caption against every criterion; judge errors are recorded, fatal errors raise."""
    assert state.rubric is not None
    t0 = time.perf_counter()
    n = len(state.rubric.items)
    verdicts: list[str] = [ERROR] * n
    reasons: list[str | None] = [None] * n
    replies: list[StepReply] = []
    error_kind = error = None
    audio = None
    if state.read_audio is not None:
        try:
            audio = await asyncio.to_thread(state.read_audio, unit.clip)
        except Exception as exc:  # whatever fails with one clip's audio (MemoryError too) fails that caption
            error_kind, error = "audio", item_error(exc)
    if error is None:
        batches = [[j] for j in unit.order] if state.cfg.per_criterion else [list(unit.order)]
        evidence = [unit.clip.captions[i - 1] for i in unit.evidence]
        results = await asyncio.gather(*(_ask(state, unit, b, evidence, audio, limit) for b in batches))
        for batch, (parsed, reply) in zip(batches, results, strict=True):
            replies.append(reply)
            if parsed is None:
                if error is None:
                    error_kind = "invalid" if (reply.raw is not None or reply.raw_attempts) else "call"
                    error = reply.error or "the judge call failed"
                continue
            by_id = parsed.by_id()
            for i, j in enumerate(batch):
                v = by_id[criterion_id(i)]
                verdicts[j], reasons[j] = v.verdict, v.reason
            reply.parsed = None  # the verdicts and reasons are the parsed reply; the raw text stays
    from lalm_bench.manifest import utc_now

    return JudgeRecord(
        system=unit.system,
        clip=unit.clip.file_name,
        caption_index=unit.caption_index,
        caption=unit.caption,
        judge=unit.judge,
        sample=unit.sample,
        order=list(unit.order),
        evidence=list(unit.evidence),
        with_audio=audio is not None,
        status="error" if ERROR in verdicts else "ok",
        error_kind=error_kind,  # type: ignore[arg-type]
        error=error,
        verdicts=verdicts,  # type: ignore[arg-type]
        reasons=reasons,
        replies=replies,
        seconds=round(time.perf_counter() - t0, 3),
        finished_utc=utc_now(),
    )


async def _ask(
    state: JudgeState,
    unit: Unit,
    batch: list[int],
    evidence: list[str],
    audio: AudioPart | None,
    limit: asyncio.Semaphore,
) -> tuple[Any, StepReply]:
    assert state.rubric is not None
    cfg = state.cfg
    criteria = [state.rubric.items[j]["criterion"] for j in batch]
    text = prompts.judge_prompt(unit.caption, evidence, criteria, with_audio=audio is not None)
    content = (audio, TextPart(text)) if audio is not None else (TextPart(text),)
    messages = [Message.text("system", prompts.SYSTEM), Message("user", content)]
    sampling = Sampling(
        temperature=cfg.sampling.temperature,
        top_p=cfg.sampling.top_p,
        max_tokens=cfg.sampling.max_tokens,
        seed=cfg.seed + unit.sample,
    )
    extra = {"prompt_version": prompts.PROMPT_VERSION, "step": "judge", "seed": cfg.seed, "sample": unit.sample}
    res, reply = await call_step(
        state.models[unit.judge],
        messages,
        schema=reply_model(len(batch)),
        sampling=sampling,
        cache_key_extra=extra,
        limit=limit,
    )
    return (res.parsed if res is not None else None), reply
