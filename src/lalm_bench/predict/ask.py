"""One item asked under one condition: the audio built, the request sent to the least busy server, the record."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lalm_bench.audio.sent import sends_audio
from lalm_bench.datasets.benchmark import BenchmarkItem
from lalm_bench.errors import item_error
from lalm_bench.llm.calls import call_step
from lalm_bench.llm.interface import AudioPart, ChatModel, Message, Part, TextPart
from lalm_bench.predict import prompts
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.predict.state import ConditionRun, PredictState


def _utc() -> str:
    from lalm_bench.manifest import utc_now

    return utc_now()


def _server_of(model: ChatModel) -> str | None:
    from lalm_bench.llm.urls import redact_url

    return redact_url(getattr(model, "base_url", None))


async def ask_item(
    state: PredictState, run: ConditionRun, it: BenchmarkItem, *, cache_extra: dict[str, Any] | None = None
) -> PredictRecord:
    """The record of ``it`` under ``run``'s condition: failed (audio or request) or answered; fatal errors raise.
    ``cache_extra`` joins the response-cache key (a deliberate re-ask must not be served the cached reply)."""
    cfg, cond = state.cfg, run.condition
    seed = run.settings.seed  # --seed, or --seed + k for sample k of --samples (predict.samples)
    t0 = time.perf_counter()
    prev = run.latest.get(it.id)
    perm = state.orders(it)[run.order]
    prompt = state.template.render(it.question, [it.choices[j] for j in perm], it.category)
    partner = state.partners.get(it.id) if cond == "mismatched" else None
    base: dict[str, Any] = {
        "id": it.id,
        "attempt": prev.attempt + 1 if prev is not None else 1,
        "condition": cond,
        "permutation_index": run.order,
        "permutation": list(perm) if cfg.permute_choices and len(perm) >= prompts.MIN_CHOICES else None,
        "seed": seed,
        "prompt": prompt,
        "mismatched_with": partner.partner if partner else None,
    }
    parts: list[AudioPart] = []
    if sends_audio(cond):
        from lalm_bench.audio.conditions import build_condition_audio

        try:
            parts, sent = await asyncio.to_thread(
                build_condition_audio,
                cond,
                it.audio,
                root=cfg.root,
                seed=seed,
                item_id=it.id,
                partner=partner,
                partner_paths=state.by_id[partner.partner].audio if partner else None,
                noise_dbfs=cfg.noise_dbfs,
                max_seconds=cfg.max_audio_seconds,
                sample_rate=cfg.sample_rate,
            )
        except Exception as exc:  # whatever fails with one item's audio (MemoryError too) fails that item
            return PredictRecord(
                **base,
                status="failed",
                failed_step="audio",
                error=item_error(exc),
                seconds=round(time.perf_counter() - t0, 3),
                finished_utc=_utc(),
            )
        base["audio"] = sent
    content: tuple[Part, ...] = (*parts, TextPart(prompt))
    messages = [Message("user", content)]
    if cfg.system_prompt:
        messages.insert(0, Message.text("system", cfg.system_prompt))
    i = state.dispatcher.acquire()
    model = state.models[str(i)]  # keyed by the index of its --base-url
    try:
        res, reply = await call_step(
            model,
            messages,
            sampling=cfg.sampling.sampling(seed=seed),
            cache_key_extra={
                "job": "predict",
                "condition": cond,
                "item": it.id,
                "seed": seed,
                **(cache_extra or {}),
                **({"order": run.order} if run.order else {}),
                **({"sample": run.sample} if run.sample else {}),
            },
        )
    finally:
        state.dispatcher.release(i)
    return PredictRecord(
        **base,
        status="ok" if res is not None else "failed",
        failed_step=None if res is not None else "request",
        error=reply.error,
        model_output=res.text if res is not None else None,
        reply=reply,
        server=_server_of(model),
        seconds=round(time.perf_counter() - t0, 3),
        finished_utc=_utc(),
    )
