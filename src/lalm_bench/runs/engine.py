"""The run engine: the lifecycle every LLM job (predict, rubrics generate, rubrics judge) shares, written once.

A job is an :class:`LLMJob`: it supplies its checks, the models it needs, its run folders, its plan
and its per-item step. :class:`RunEngine` does the rest, in this order:

1. ``job.check()``: every input and output checked, the work planned; no model, no lock, no request;
2. the models built by one :data:`~lalm_bench.llm.options.ModelFactory` and described for the manifests;
3. ``job.open_runs(models, lock)``: every run folder locked, its settings checked, its log read back;
   then ``job.ready()`` (checks that need the records read back);
4. :meth:`RunEngine.run`: each folder's log opened and its manifest written when the run is new or
   its settings changed; ``job.drive`` (by default :func:`run_pool` over ``job.plan()`` with
   ``job.step``); each record appended to its log (written at once, fsynced in groups: see
   :class:`~lalm_bench.runs.log.RunLog`), kept by ``job.commit`` and passed to ``on_record(record)``; the
   models' response caches commit their writes in groups meanwhile (the logs hold every result); then
   the logs closed, the manifests rewritten if a model learned something during the run (a
   structured-output fallback), the models closed in their event loop;
5. ``job.result()`` from the whole logs; on leaving the engine every folder is released and every
   model closed, whatever happened.

A fatal LLM error (bad key, unreachable server) stops every task and becomes one line saying that
rerunning resumes (:func:`run_to_end`).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from lalm_bench.errors import LalmBenchError, first_line
from lalm_bench.llm import describe_model
from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.calls import is_fatal
from lalm_bench.llm.interface import ChatModel
from lalm_bench.llm.options import LLMOptions, ModelFactory, default_model_factory
from lalm_bench.runs.folder import RunFolder
from lalm_bench.runs.log import RunLog
from lalm_bench.runs.pool import run_pool

T = TypeVar("T")  # one task of a job's plan
R = TypeVar("R", bound=BaseModel)  # the record a task leaves in its run's log
S = TypeVar("S", bound="RunSlot[Any]")  # the job's run (a run folder and what the job keeps of it)
Res = TypeVar("Res")  # what the job returns

OnRecord = Callable[[Any], None]
Lock = Callable[[RunFolder], RunFolder]


class _NoWaitExecutor(ThreadPoolExecutor):
    """The loop's default executor (``asyncio.to_thread``) that never waits for its threads at shutdown.

    ``asyncio.run`` waits for every worker thread before it returns: after Ctrl-C, one worker blocked
    in I/O (a hung mount, a slow device) would keep the command from ever exiting. Work still running
    is abandoned instead (its task is already cancelled; nothing of it is written)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


async def _with_no_wait_executor(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.get_running_loop().set_default_executor(_NoWaitExecutor(thread_name_prefix="lalm-bench-worker"))
    await main()


def run_to_end(main: Callable[[], Coroutine[Any, Any, None]], unit: str) -> None:
    """``asyncio.run(main())``; a fatal LLM error (bad key, unreachable server, unknown model) becomes one
    line saying that the logs keep every finished ``unit`` and that rerunning resumes. Worker threads
    (``asyncio.to_thread``) are not waited for when the loop ends (see :class:`_NoWaitExecutor`)."""
    try:
        asyncio.run(_with_no_wait_executor(main))
    except LalmBenchError as exc:
        if is_fatal(exc):
            raise LalmBenchError(f"{first_line(exc)} (the logs keep every finished {unit}; rerun to resume)") from exc
        raise


@dataclass(kw_only=True)
class RunSlot(Generic[R]):
    """One locked run folder: the settings that identify its run (``run.json``), the records read back, its log."""

    folder: RunFolder
    identity: dict[str, Any]
    resumed: int = 0  # records read back from the log
    log: RunLog[R] | None = None

    def settings_changed(self) -> bool:
        """Whether ``run.json`` is missing or holds other settings (a resumed run with a raised ``--limit``)."""
        return self.folder.read_settings() != self.identity

    def append(self, record: R) -> None:
        """The record in the log (readable at once, fsynced within half a second); a run being replaced by
        ``--overwrite`` can go now (the first record is fsynced before it returns)."""
        assert self.log is not None
        self.log.append(record)
        self.folder.record_written()


@dataclass
class Models:
    """A job's chat models by key (a spec, a server), and what the manifests record of each."""

    by_key: dict[str, ChatModel] = field(default_factory=dict)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> ChatModel:
        return self.by_key[key]

    def __len__(self) -> int:
        return len(self.by_key)

    def get(self, key: str) -> ChatModel | None:
        return self.by_key.get(key)

    def add(self, key: str, model: ChatModel) -> None:
        self.by_key[key] = model
        self.info[key] = describe_model(model)

    def describe_again(self) -> bool:
        """Describe every model again (providers learn during a run); whether anything changed."""
        info = {k: describe_model(m) for k, m in self.by_key.items()}
        changed, self.info = info != self.info, info
        return changed

    async def aclose(self) -> None:
        """Close every model in the running event loop (their HTTP clients belong to it)."""
        for m in self.by_key.values():
            with contextlib.suppress(Exception):
                await m.aclose()

    def close(self) -> None:
        for m in self.by_key.values():
            with contextlib.suppress(Exception):
                asyncio.run(m.aclose())


class LLMJob(ABC, Generic[T, R, S, Res]):
    """What a job gives the engine. ``T``: a task of its plan; ``R``: the record a task leaves;
    ``S``: its run (:class:`RunSlot` and what the job keeps of it); ``Res``: what it returns."""

    #: What a record stands for, in messages ("the logs keep every finished clip").
    unit: ClassVar[str] = "item"
    #: True when every reply is logged as soon as it arrives (one call per record, no ordering): the response
    #: cache may then commit in groups, since a kill -9 loses only rows the logs hold. Jobs that log in order
    #: or build one record from several calls (generate) resume from the cache and need each reply committed.
    replies_in_log: ClassVar[bool] = False

    @abstractmethod
    def check(self) -> dict[str, tuple[str, LLMOptions]]:
        """Check every input and output and plan the work (no model, no lock, no request); return the
        models to build, ``{key: (spec, options)}``."""

    @abstractmethod
    def open_runs(self, models: Models, lock: Lock) -> list[S]:
        """Keep ``models``; lock every run folder with ``lock`` (the engine releases it), check its settings
        and read its log back. No request."""

    def ready(self) -> None:
        """Last checks once every run is open (none by default)."""

    @abstractmethod
    def manifest(self, run: S) -> dict[str, Any]:
        """The manifest of ``run`` (its ``run.json``)."""

    @abstractmethod
    def commit(self, run: S, record: R) -> None:
        """Keep ``record`` (already in ``run``'s log) in the job's state."""

    @abstractmethod
    def result(self) -> Res:
        """What the job returns, from the whole logs."""

    # ---- the per-item work: a pool over the plan unless the job drives its runs itself -----------
    def plan(self) -> Iterable[T]:
        """The tasks still to do."""
        raise NotImplementedError

    async def step(self, task: T) -> R:
        """One task: its record (failures of the task are records; an exception is fatal)."""
        raise NotImplementedError

    def run_of(self, task: T) -> S:
        """The run whose log gets the record of ``task``."""
        raise NotImplementedError

    def concurrency(self) -> int:
        """Tasks in flight at once."""
        raise NotImplementedError

    def start(self) -> None:
        """Called in the event loop before the first task (semaphores and such belong to it)."""

    async def drive(self, record: Callable[[S, R], None]) -> None:
        """Every task to its end, ``record(run, record)`` after each; the first exception stops them all."""
        await run_pool(self.plan(), self.step, lambda t, r: record(self.run_of(t), r), concurrency=self.concurrency())


class RunEngine(Generic[R, S]):
    """Drives one :class:`LLMJob`: ``with RunEngine(job, factory) as engine: engine.prepare();
    engine.run_to_end(on_record); job.result()``."""

    def __init__(self, job: LLMJob[Any, R, S, Any], model_factory: ModelFactory | None = None) -> None:
        self.job = job
        self.factory = model_factory or default_model_factory
        self.models = Models()
        self.held: list[RunFolder] = []
        self.runs: list[S] = []

    def __enter__(self) -> RunEngine[R, S]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- before any request ------------------------------------------------------------------
    def prepare(self) -> None:
        """Check, build the models, lock and check every run folder. No request."""
        for key, (spec, llm) in self.job.check().items():
            self.models.add(key, self.factory(spec, llm))
        self.runs = list(self.job.open_runs(self.models, self._lock))
        self.job.ready()

    def _lock(self, folder: RunFolder) -> RunFolder:
        folder.acquire()
        self.held.append(folder)
        return folder

    # ---- running -------------------------------------------------------------------------------
    def run_to_end(self, on_record: OnRecord | None = None) -> None:
        """:meth:`run` in its own event loop; a fatal error becomes one line saying rerunning resumes."""
        run_to_end(lambda: self.run(on_record), self.job.unit)

    async def run(self, on_record: OnRecord | None = None) -> None:
        """Every task of the job (a fatal error is raised once the logs and models are closed)."""

        def record(run: S, rec: R) -> None:
            run.append(rec)
            self.job.commit(run, rec)
            if on_record is not None:
                on_record(rec)

        caches = self._response_caches()
        try:
            for run in self.runs:
                run.log = RunLog(run.folder.log_path)
                if not run.resumed or run.settings_changed():
                    run.folder.write_manifest(self.job.manifest(run))
            if self.job.replies_in_log:  # every reply is in a run log: the cache need not commit each alone
                for cache in caches:
                    cache.group_writes()
            self.job.start()
            await self.job.drive(record)
        finally:
            for cache in caches:
                cache.write_now()
            for run in self.runs:
                if run.log is not None:
                    run.log.close()
            with contextlib.suppress(OSError):  # a full disk stopped the run: its error is the one to show
                self._refresh_manifests()
            await self.models.aclose()

    def _response_caches(self) -> list[ResponseCache]:
        caches: list[ResponseCache] = []
        for model in self.models.by_key.values():
            cache = getattr(model, "cache", None)
            if isinstance(cache, ResponseCache) and all(cache is not c for c in caches):
                caches.append(cache)
        return caches

    def _refresh_manifests(self) -> None:
        """Providers learn during a run (a structured-output mode the server rejected): record what was used."""
        if not self.models.describe_again():
            return
        for run in self.runs:
            if run.folder.manifest_path.exists():
                run.folder.write_manifest(self.job.manifest(run))

    def close(self) -> None:
        """Release every run folder and close the models (idempotent)."""
        for folder in self.held:
            folder.release()
        self.models.close()


def run_job(
    job: LLMJob[Any, Any, Any, Res],
    model_factory: ModelFactory | None = None,
    on_start: Callable[[], OnRecord | None] | None = None,
) -> Res:
    """Prepare ``job``, run it to its end and return ``job.result()``; ``on_start()``, called once every
    check has passed and before the first request, may return the ``on_record`` callback (progress bars)."""
    with RunEngine(job, model_factory) as engine:
        engine.prepare()
        engine.run_to_end(on_start() if on_start is not None else None)
        return job.result()
