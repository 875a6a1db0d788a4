"""Checks of the server beyond the counts: did each item's audio arrive (:mod:`lalm_bench.predict.arrival`),
and is the server deterministic at temperature 0?

The determinism check re-asks a few items of this call's fresh answers (not served from the response
cache) under one condition (``audio`` when run), once more, with a response-cache key of their own, and
compares the answers byte for byte. At temperature 0 they should be identical; a server that batches
requests (vLLM without ``VLLM_BATCH_INVARIANT=1``) may answer otherwise, and then every difference
between conditions carries run-to-run noise too. ``--determinism-check K`` re-asks K items; by default
:data:`DEFAULT_RECHECK` items, once the call has at least :data:`AUTO_MIN_FRESH` fresh answers under that
condition (so the check costs under 10% of a call's requests, and nothing on a resume that asked
nothing). The re-asks are not logged (the run's records stay as they were).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lalm_bench.predict.arrival import arrival_summary, encoder_of, item_arrivals
from lalm_bench.predict.ask import ask_item
from lalm_bench.predict.config import AUDIO_CONDITIONS
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.predict.state import PredictState

if TYPE_CHECKING:
    from lalm_bench.audio.arrival import Arrival

DEFAULT_RECHECK = 3
AUTO_MIN_FRESH = 30


def _not_checked(reason: str) -> dict[str, Any]:
    return {"checked": False, "reason": reason, "deterministic": None}


async def recheck_determinism(state: PredictState) -> None:
    """Re-ask up to ``--determinism-check`` items once (see the module docstring); the outcome goes to
    ``state.determinism``."""
    cfg = state.cfg
    k = DEFAULT_RECHECK if cfg.determinism_check is None else cfg.determinism_check
    if k <= 0:
        state.determinism = _not_checked("--determinism-check 0")
        return
    if cfg.sampling.temperature != 0:
        state.determinism = _not_checked(f"temperature {cfg.sampling.temperature:g} (the check is for temperature 0)")
        return
    runs = sorted(
        state.runs, key=lambda r: (r.sample, r.order, r.condition != "audio", r.condition not in AUDIO_CONDITIONS)
    )
    order = {it.id: k for k, it in enumerate(state.selection)}
    for run in runs:
        fresh = [
            r
            for r in run.new
            if r.status == "ok" and r.reply is not None and not r.reply.cached and r.id in state.by_id
        ]
        if fresh:
            break
    else:
        state.determinism = _not_checked("no fresh answer in this call (all resumed or cached)")
        return
    if cfg.determinism_check is None and len(fresh) < AUTO_MIN_FRESH:
        state.determinism = _not_checked(
            f"{len(fresh)} fresh answers under {run.condition}, fewer than {AUTO_MIN_FRESH} "
            f"(--determinism-check K re-asks K items anyway)"
        )
        return
    chosen = sorted(fresh, key=lambda r: order.get(r.id, len(order)))[:k]
    again = await asyncio.gather(
        *(ask_item(state, run, state.by_id[r.id], cache_extra={"determinism_check": 1}) for r in chosen)
    )
    pairs = [(a, b) for a, b in zip(chosen, again, strict=True) if b.status == "ok"]
    differ = [a.id for a, b in pairs if a.model_output != b.model_output]
    cached = sum(b.reply is not None and b.reply.cached for _, b in pairs)
    state.determinism = {
        "checked": bool(pairs),
        "reason": None if pairs else "every re-ask failed",
        "condition": run.condition,
        "temperature": cfg.sampling.temperature,
        "asked": len(chosen),
        "compared": len(pairs),
        "differ": len(differ),
        "differing_items": differ,
        "replayed_from_cache": cached,
        "deterministic": (not differ) if pairs else None,
    }


def determinism_lines(check: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """``(warnings, notes)`` of the determinism check."""
    if not check:
        return [], []
    if not check.get("checked"):
        return [], [f"temperature-0 determinism not checked: {check.get('reason')}"]
    n, k, cond = check["compared"], check["differ"], check["condition"]
    if k:
        return [
            f"the server is not deterministic at temperature 0: {k} of {n} items asked again under {cond} answered "
            f"otherwise (e.g. {', '.join(check['differing_items'][:3])}); differences between conditions carry "
            "run-to-run noise (vLLM: VLLM_BATCH_INVARIANT=1; or repeat runs and compare with their spread)"
        ], []
    replayed = check["replayed_from_cache"]
    cached = f" ({replayed} replayed from the response cache)" if replayed else ""
    return [], [f"temperature 0: {n} item(s) asked again under {cond} gave byte-identical answers{cached}"]


def add_to_canary(
    state: PredictState, canary: dict[str, Any], records: Mapping[str, Mapping[str, PredictRecord]]
) -> dict[str, dict[str, Arrival]]:
    """Add the per-item arrival account and the determinism check to ``canary`` (its ``arrival`` and
    ``determinism`` fields, warnings, notes); return the per-item flags for the tables."""
    encoder = encoder_of(state.cfg)
    arrivals = item_arrivals(records, encoder)
    summary = arrival_summary(arrivals, encoder, has_none="none" in records)
    canary["arrival"] = summary
    canary["warnings"] += summary["warnings"]
    canary["notes"] += summary["notes"]
    canary["determinism"] = dict(state.determinism) or _not_checked("not run")
    warnings, notes = determinism_lines(state.determinism)
    canary["warnings"] += warnings
    canary["notes"] += notes
    return arrivals
