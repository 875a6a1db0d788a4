"""Scheduling the runs of ``rubrics generate``: honest concurrency whose results never depend on timing.

Step 3 (merge) is sequential in clip order within a run. Steps 1 and 2 of upcoming clips run
concurrently (up to ``concurrency`` requests in flight, a window of clips ahead per run), but step
2 of the clip at position ``p`` (0-based) sees rubric version ``max(0, p - rubric_lag)``, the rubric
with the first ``p - rubric_lag`` clips merged - a fixed, recorded snapshot (``rubric_version_seen``).
``rubric_lag = 0`` (default) is the original recipe: every extractor call sees the current rubric,
and only step 1 (the audio model, the expensive call) overlaps across clips. ``rubric_lag = L > 0``
lets step 2 of up to ``L + 1`` clips overlap, at the price of extractor calls that may re-propose
criteria merged from the last ``L`` clips (the merge deduplicates them, adding their weights).
Independent runs proceed in parallel; the first fatal error stops them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.llm.interface import Sampling
from lalm_bench.rubrics.common.clips import Clip
from lalm_bench.rubrics.common.records import RubricItem, RunRecord
from lalm_bench.rubrics.generate.steps import Prepared, RunView, StepContext, merge_clip, prepare_clip
from lalm_bench.runs import RunSlot


@dataclass(kw_only=True)
class RunState(RunSlot[RunRecord]):
    """One run of the job: its folder, records so far and rubric history (``history[v]``: after v clips)."""

    index: int
    name: str
    seed: int
    sampling: Sampling
    records: list[RunRecord]
    legacy_path: Path | None = None
    history: list[list[RubricItem]] = field(default_factory=list)
    version_changed: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        self.history = [[]] + [list(r.final_criteria) for r in self.records]

    @property
    def rubric(self) -> list[RubricItem]:
        return self.history[-1]

    async def wait_version(self, v: int) -> list[RubricItem]:
        assert self.version_changed is not None
        async with self.version_changed:
            await self.version_changed.wait_for(lambda: len(self.history) > v)
        return self.history[v]

    def view(self) -> RunView:
        return RunView(self.name, self.seed, self.sampling, self.wait_version, lambda: self.rubric)

    def keep(self, record: RunRecord) -> None:
        """A record now in the log: the run's records, the legacy results file, the next rubric version."""
        self.records.append(record)
        if self.legacy_path is not None:
            from lalm_bench.io import write_json

            write_json(self.legacy_path, [r.model_dump(mode="json") for r in self.records])
        self.history.append(list(record.final_criteria))

    async def announce(self) -> None:
        """Wake the extractor calls waiting for the rubric version just kept."""
        assert self.version_changed is not None
        async with self.version_changed:
            self.version_changed.notify_all()


async def drive_run(
    ctx: StepContext,
    run: RunState,
    selection: Sequence[Clip],
    window: int,
    record: Callable[[RunState, RunRecord], None],
    fatal: asyncio.Future[None],
) -> None:
    """Process the run's remaining clips in order, preparing up to ``window`` clips ahead; ``record(run,
    record)`` logs and keeps each record (:meth:`RunState.keep`)."""

    async def guard(coro: Awaitable[Prepared]) -> Prepared:
        try:
            return await coro
        except Exception as exc:  # report a fatal error at once, so every run stops
            if not fatal.done():
                fatal.set_exception(exc)
            raise

    todo = list(range(len(run.records), len(selection)))
    ahead: dict[int, asyncio.Task[Prepared]] = {}
    nxt = 0
    view = run.view()
    try:
        for pos in todo:
            while nxt < len(todo) and len(ahead) < window:
                p = todo[nxt]
                ahead[p] = asyncio.ensure_future(guard(prepare_clip(ctx, view, p, selection[p])))
                nxt += 1
            prep = await ahead.pop(pos)
            rec = await merge_clip(ctx, view, pos, prep)
            record(run, rec)
            await run.announce()
    finally:
        for t in ahead.values():
            t.cancel()
        await asyncio.gather(*ahead.values(), return_exceptions=True)


async def drive_all(
    ctx: StepContext,
    runs: Sequence[RunState],
    selection: Sequence[Clip],
    window: int,
    record: Callable[[RunState, RunRecord], None],
) -> None:
    """Every run to its end, in parallel; the first fatal error cancels them all and is raised."""
    fatal: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    drivers = [asyncio.ensure_future(drive_run(ctx, r, selection, window, record, fatal)) for r in runs]
    try:
        failure: BaseException | None = None
        pending: set[asyncio.Future[Any]] = {*drivers, fatal}
        while failure is None and not all(d.done() for d in drivers):
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failure = next((t.exception() for t in done if not t.cancelled() and t.exception()), None)
        for t in drivers:
            t.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        if failure is not None:
            raise failure
    finally:
        if not fatal.done():
            fatal.cancel()
        elif not fatal.cancelled():
            fatal.exception()  # mark retrieved
