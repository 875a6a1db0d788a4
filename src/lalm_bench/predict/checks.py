"""Checks of the server beyond the counts: did each item's audio arrive (:mod:`lalm_bench.predict.arrival`),
and is the server deterministic at temperature 0?

The determinism check re-asks a few items of this call's fresh answers (not served from the response
cache) under one condition (``audio`` when run), once more, with a response-cache key of their own, and
compares the answers byte for byte. At temperature 0 they should be identical; a server that batches
requests (vLLM without ``VLLM_BATCH_INVARIANT=1``) may answer otherwise, and then every difference
between conditions carries run-to-run noise too. ``--determinism-check K`` re-asks K items; by default
:data:`DEFAULT_RECHECK` items, once the call has at least :data:`AUTO_MIN_FRESH` fresh answers under that
condition (so the check costs under 10% of a call's requests, and nothing on a resume that asked
nothing). The re-asks are not logged (the run's records stay as they were). They start in the run's tail
(:class:`TailRecheck`): once every item is dispatched, in the slots left free while the last items are in
flight, as soon as which items are re-asked is settled; so a run ends when its last item does, not one round
trip later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from lalm_bench.predict.arrival import arrival_summary, encoder_of, item_arrivals
from lalm_bench.predict.ask import ask_item
from lalm_bench.predict.config import AUDIO_CONDITIONS
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.predict.state import ConditionRun, PredictState

if TYPE_CHECKING:
    from lalm_bench.audio.arrival import Arrival
    from lalm_bench.datasets.benchmark import BenchmarkItem

DEFAULT_RECHECK = 3
AUTO_MIN_FRESH = 30


def _not_checked(reason: str) -> dict[str, Any]:
    return {"checked": False, "reason": reason, "deterministic": None}


def _by_preference(state: PredictState) -> list[ConditionRun]:
    """The runs in the order the check prefers them: the first with a fresh answer is re-asked."""
    return sorted(
        state.runs, key=lambda r: (r.sample, r.order, r.condition != "audio", r.condition not in AUDIO_CONDITIONS)
    )


def _fresh(state: PredictState, r: PredictRecord) -> bool:
    return r.status == "ok" and r.reply is not None and not r.reply.cached and r.id in state.by_id


def _reask(state: PredictState, run: ConditionRun, item_id: str) -> asyncio.Future[PredictRecord]:
    return asyncio.ensure_future(ask_item(state, run, state.by_id[item_id], cache_extra={"determinism_check": 1}))


class TailRecheck:
    """The determinism re-asks started in the run's tail, in pool slots left with nothing to dispatch.

    The pool reports every record (:meth:`answered`) and every slot whose worker found nothing left to
    dispatch (:meth:`slot_free`). Once the items the check re-asks are settled, i.e. the same that
    :func:`recheck_determinism` chooses at the end (the first K fresh answers in benchmark order of the first
    run, by preference, with a fresh answer; every item before them and every earlier run answered, and, by
    default, at least :data:`AUTO_MIN_FRESH` fresh answers in that run), each is re-asked in a free slot while
    the last items are in flight; :func:`recheck_determinism` then waits for those instead of asking again.
    """

    def __init__(self, state: PredictState, plan: Iterable[tuple[ConditionRun, BenchmarkItem]]) -> None:
        cfg = state.cfg
        self.state = state
        self.k = DEFAULT_RECHECK if cfg.determinism_check is None else cfg.determinism_check
        self.runs = _by_preference(state)
        self._index = {id(run): i for i, run in enumerate(self.runs)}
        self.pending: list[set[str]] = [set() for _ in self.runs]  # items this call still has to answer, per run
        self.fresh: list[set[str]] = [set() for _ in self.runs]  # items answered fresh in this call, per run
        self.active = self.k > 0 and cfg.sampling.temperature == 0
        if self.active:
            for run, it in plan:
                self.pending[self._index[id(run)]].add(it.id)
        self.free = 0  # slots with nothing left to dispatch, less the re-asks running in them
        self.started: dict[tuple[int, str], asyncio.Future[PredictRecord]] = {}  # (id(run), item id) -> re-ask

    def answered(self, run: ConditionRun, record: PredictRecord) -> None:
        """``record`` of ``run`` is committed."""
        if not self.active:
            return
        i = self._index[id(run)]
        self.pending[i].discard(record.id)
        if _fresh(self.state, record):
            self.fresh[i].add(record.id)
        if self.free > 0:
            self._start()

    def slot_free(self) -> None:
        """A worker of the pool found nothing left to dispatch."""
        self.free += 1
        self._start()

    def _settled(self) -> tuple[ConditionRun, list[str]] | None:
        """The run re-asked and the items of it known to be re-asked, or ``None`` while that is open."""
        for i in range(len(self.runs)):
            if self.fresh[i]:
                break
            if self.pending[i]:  # its first fresh answer may still come
                return None
        else:
            return None
        fresh, pending = self.fresh[i], self.pending[i]
        if self.state.cfg.determinism_check is None and len(fresh) < AUTO_MIN_FRESH:
            return None  # not (yet) enough fresh answers for the default check
        ids: list[str] = []
        for it in self.state.selection:
            if it.id in pending:  # it may still come fresh and take a place before the items after it
                break
            if it.id in fresh:
                ids.append(it.id)
                if len(ids) == self.k:
                    break
        return self.runs[i], ids

    def _start(self) -> None:
        if not self.active or self.free <= 0:
            return
        settled = self._settled()
        if settled is None:
            return
        run, ids = settled
        for item_id in ids:
            if self.free <= 0:
                return
            key = (id(run), item_id)
            if key not in self.started:
                self.free -= 1
                self.started[key] = task = _reask(self.state, run, item_id)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[PredictRecord]) -> None:
        self.free += 1
        self._start()

    async def finish(self) -> None:
        """Every item dispatched and answered: the check, with the re-asks the tail started."""
        self.active = False
        await recheck_determinism(self.state, self.started)

    async def cancel(self) -> None:
        """The run stopped on a fatal error: the re-asks started are cancelled."""
        self.active = False
        for task in self.started.values():
            task.cancel()
        await asyncio.gather(*self.started.values(), return_exceptions=True)


async def recheck_determinism(
    state: PredictState, started: dict[tuple[int, str], asyncio.Future[PredictRecord]] | None = None
) -> None:
    """Re-ask up to ``--determinism-check`` items once (see the module docstring); the outcome goes to
    ``state.determinism``. ``started``: re-asks already under way (:class:`TailRecheck`), keyed by
    ``(id(run), item id)``; those of the items chosen are awaited instead of asked again."""
    started = dict(started or {})
    try:
        await _recheck(state, started)
    finally:
        for task in started.values():  # none: the tail starts only re-asks of the items chosen here
            task.cancel()
        await asyncio.gather(*started.values(), return_exceptions=True)


async def _recheck(state: PredictState, started: dict[tuple[int, str], asyncio.Future[PredictRecord]]) -> None:
    cfg = state.cfg
    k = DEFAULT_RECHECK if cfg.determinism_check is None else cfg.determinism_check
    if k <= 0:
        state.determinism = _not_checked("--determinism-check 0")
        return
    if cfg.sampling.temperature != 0:
        state.determinism = _not_checked(f"temperature {cfg.sampling.temperature:g} (the check is for temperature 0)")
        return
    order = {it.id: k for k, it in enumerate(state.selection)}
    for run in _by_preference(state):
        fresh = [r for r in run.new if _fresh(state, r)]
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
    asks = [started.pop((id(run), r.id)) if (id(run), r.id) in started else _reask(state, run, r.id) for r in chosen]
    again = await asyncio.gather(*asks)
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
