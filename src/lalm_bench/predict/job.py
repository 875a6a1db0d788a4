"""``predict`` as an engine job: its checks, one model per server, one run folder per condition, the
(condition, item) pairs still to ask and the ask of one (the lifecycle is :class:`lalm_bench.runs.RunEngine`'s)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lalm_bench.audio.sent import sends_audio
from lalm_bench.datasets.benchmark import BenchmarkItem, load_benchmark
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, sha256_file
from lalm_bench.llm.options import LLMOptions
from lalm_bench.predict import prompts
from lalm_bench.predict.ask import ask_item
from lalm_bench.predict.config import PredictConfig
from lalm_bench.predict.folders import open_run, run_settings
from lalm_bench.predict.outputs import PredictResult, build_result, run_manifest
from lalm_bench.predict.samples import deterministic_warning, sample_seed
from lalm_bench.predict.schema import PredictRecord, RunSettings
from lalm_bench.predict.state import ConditionRun, PredictState
from lalm_bench.runs import Dispatcher, LLMJob, Models, run_pool
from lalm_bench.runs.engine import Lock

Task = tuple[ConditionRun, BenchmarkItem]


def _takes_base_url(spec: str) -> bool:
    from lalm_bench.llm.registry import provider_factory

    try:
        params = inspect.signature(provider_factory(spec)).parameters
    except (TypeError, ValueError):  # pragma: no cover - factories without signatures
        return True
    return "base_url" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class _Dispatching(Iterator[Task]):
    """The plan's tasks; ``on_idle()`` each time a pool worker asks for one after the last (its slot is free)."""

    def __init__(self, tasks: list[Task], on_idle: Callable[[], None]) -> None:
        self._tasks, self._on_idle = iter(tasks), on_idle

    def __next__(self) -> Task:
        try:
            return next(self._tasks)
        except StopIteration:
            self._on_idle()
            raise


class PredictJob(LLMJob[Task, PredictRecord, ConditionRun, PredictResult]):
    """One ``predict`` call: checked inputs, one model per server, one locked run folder per condition."""

    unit = "item"
    replies_in_log = True  # one request per record, logged when it returns

    def __init__(
        self, config: PredictConfig, output: OutputOptions, *, warn: Callable[[str], None] | None = None
    ) -> None:
        self.state = PredictState(config, output)
        self.warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
        self._settings: dict[str, Any] = {}

    # ---- before any request ------------------------------------------------------------------
    def check(self) -> dict[str, tuple[str, LLMOptions]]:
        """Check every input, select the items, pair the mismatched ones; the model of each server."""
        st, cfg = self.state, self.state.cfg
        cfg.validate()
        st.template = prompts.load_template(cfg.prompt_template)
        st.benchmark = load_benchmark(cfg.benchmark, cfg.columns, audio_root=cfg.root, need_audio=cfg.sends_audio)
        self._select(st.benchmark.items)
        if "mismatched" in cfg.conditions:
            from lalm_bench.audio.mismatch import content_clusters, mismatch_partners

            items = st.benchmark.items
            keys = [json.dumps([it.category, len(it.audio)]) for it in items]  # same category, same file count
            content = content_clusters([[self._audio_path(name) for name in it.audio] for it in items])
            st.partners = mismatch_partners([it.id for it in items], keys, cfg.seed, content)
        if cfg.llm.base_urls and not _takes_base_url(cfg.model):
            raise InputError(f"--base-url does not apply to {cfg.model} (it runs without a server)")
        benchmark_sha256 = sha256_file(cfg.benchmark)
        self._settings = {c: run_settings(st, c, benchmark_sha256) for c in cfg.conditions}
        servers = cfg.llm.base_urls or (None,)
        return {
            str(i): (cfg.model, dataclasses.replace(cfg.llm, base_urls=(url,) if url else ()))
            for i, url in enumerate(servers)
        }

    def _audio_path(self, name: str) -> Path | None:
        """Where an item's audio file is under the root, or ``None`` when it is refused (the item fails later)."""
        from lalm_bench.audio.paths import resolve_under

        try:
            return resolve_under(self.state.cfg.root, name)
        except InputError:
            return None

    def _select(self, items: list[BenchmarkItem]) -> None:
        st, cfg = self.state, self.state.cfg
        st.by_id = {it.id: it for it in items}
        end = None if cfg.limit is None else cfg.start + cfg.limit
        st.selection = items[cfg.start : end]
        if not st.selection:
            raise InputError(f"{cfg.benchmark}: no items selected (it has {len(items)}; --start {cfg.start})")
        open_items = [it for it in st.selection if len(it.choices) < prompts.MIN_CHOICES]
        if open_items and st.template.without_choices is None:
            raise InputError(
                f"--prompt-template {cfg.prompt_template}: {len(open_items)} selected item(s) have fewer than "
                f"{prompts.MIN_CHOICES} choices (e.g. {open_items[0].id!r}) but the template has no "
                f"'{prompts.SEPARATOR}' part"
            )

    def open_runs(self, models: Models, lock: Lock) -> list[ConditionRun]:
        st = self.state
        st.models, st.dispatcher = models, Dispatcher(len(models))

        def settings(c: str, order: int, sample: int) -> RunSettings:
            update: dict[str, Any] = {"choice_order": order or None}
            if sample:
                update["seed"] = sample_seed(st.cfg.seed, sample)
            return self._settings[c].model_copy(update=update)

        st.runs = [
            open_run(st, c, settings(c, order, sample), lock, order, sample)
            for c in st.cfg.conditions
            for sample in range(st.cfg.samples)
            for order in range(st.cfg.permute_choices + 1)
        ]
        msg = deterministic_warning(st.cfg.samples, st.cfg.sampling.temperature)
        if msg is not None:
            st.warnings.append(msg)
            self.warn(msg)
        return st.runs

    def ready(self) -> None:
        """Every audio file the items still to ask need, found under the root: no decoding, just the paths."""
        from lalm_bench.audio.paths import regular_file_problem, resolve_under

        cfg = self.state.cfg
        problems: dict[str, str] = {}
        needs: dict[str, tuple[str, ...]] = {}
        for run, it in self.plan():
            if run.condition == "mismatched":
                needs[f"{it.id} (mismatched partner)"] = self.state.by_id[self.state.partners[it.id].partner].audio
            elif sends_audio(run.condition):
                needs[it.id] = it.audio
        if not needs:
            return
        for who, names in needs.items():
            if not names:
                problems[who] = "no audio file listed"
                continue
            for name in names:
                try:
                    path = resolve_under(cfg.root, name)
                except InputError as exc:
                    problems[who] = str(exc)
                    break
                problem = regular_file_problem(path)
                if problem is not None:
                    problems[who] = f"audio file {name!r} under {cfg.root}: {problem}"
                    break
        self.state.preflight = {
            "checked": len(needs),
            "problems": len(problems),
            "examples": dict(list(problems.items())[:5]),
        }
        if problems and len(problems) == len(needs):
            who, why = next(iter(problems.items()))
            raise InputError(
                f"none of the {len(needs)} items to ask has its audio under --audio-root {cfg.root} "
                f"(e.g. item {who}: {why})"
            )
        if problems:
            who, why = next(iter(problems.items()))
            msg = (
                f"{len(problems)} of {len(needs)} items to ask lack audio (e.g. item {who}: {why}); they will be "
                "recorded as failed"
            )
            self.state.warnings.append(msg)
            self.warn(msg)

    # ---- running -------------------------------------------------------------------------------
    def plan(self) -> list[Task]:
        """The (condition, item) pairs still to ask, condition by condition."""
        out = []
        for run in self.state.runs:
            for it in self.state.selection:
                if not self.state.asks(run, it):
                    continue
                rec = run.latest.get(it.id)
                if rec is None or (self.state.cfg.retry_failed and rec.status == "failed"):
                    out.append((run, it))
        return out

    async def step(self, task: Task) -> PredictRecord:
        return await ask_item(self.state, *task)

    async def drive(self, record: Callable[[ConditionRun, PredictRecord], None]) -> None:
        """The engine's pool over the plan; the determinism re-asks start in its tail (:class:`TailRecheck`)."""
        from lalm_bench.predict.checks import TailRecheck

        plan = self.plan()
        tail = TailRecheck(self.state, plan)

        def on_result(task: Task, rec: PredictRecord) -> None:
            record(task[0], rec)
            tail.answered(task[0], rec)

        try:
            await run_pool(_Dispatching(plan, tail.slot_free), self.step, on_result, concurrency=self.concurrency())
        except BaseException:
            await tail.cancel()
            raise
        await tail.finish()

    def run_of(self, task: Task) -> ConditionRun:
        return task[0]

    def concurrency(self) -> int:
        return self.state.cfg.llm.concurrency * len(self.state.models)

    def manifest(self, run: ConditionRun) -> dict[str, Any]:
        return run_manifest(self.state, run)

    def commit(self, run: ConditionRun, record: PredictRecord) -> None:
        run.latest[record.id] = record
        run.new.append(record)

    def result(self) -> PredictResult:
        """The counts, canary, manifests and tables of every condition, from its whole log."""
        return build_result(self.state)
