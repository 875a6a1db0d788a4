"""One ``predict`` call: inputs checked, models built, run folders locked, every pending item asked."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.datasets.benchmark import Benchmark, BenchmarkItem, load_benchmark
from lalm_bench.errors import InputError, item_error
from lalm_bench.io import OutputOptions, sha256_file
from lalm_bench.llm.calls import call_step
from lalm_bench.llm.interface import AudioPart, ChatModel, Message, Part, TextPart
from lalm_bench.llm.options import LLMOptions
from lalm_bench.predict import prompts
from lalm_bench.predict.config import AUDIO_CONDITIONS, PredictConfig
from lalm_bench.predict.folders import ConditionRun, open_run, run_settings
from lalm_bench.predict.outputs import PredictResult, build_result, run_manifest
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.runs import RunLog, run_pool

if TYPE_CHECKING:
    from lalm_bench.audio.conditions import MismatchPartner

ModelFactory = Callable[[str, LLMOptions], ChatModel]
OnRecord = Callable[[PredictRecord], None]


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    """A chat model from the LLM registry for the (single) server in ``llm`` (the SDK is imported here)."""
    from lalm_bench.llm.options import make_chat_model

    return make_chat_model(spec, llm)


class Dispatcher:
    """Sends each request to the server with the fewest requests in flight (ties: round robin)."""

    def __init__(self, n: int) -> None:
        self.load = [0] * n
        self._next = 0

    def acquire(self) -> int:
        n = len(self.load)
        order = [(self._next + k) % n for k in range(n)]
        best = min(order, key=lambda i: self.load[i])
        self.load[best] += 1
        self._next = (best + 1) % n
        return best

    def release(self, i: int) -> None:
        self.load[i] -= 1


def _takes_base_url(spec: str) -> bool:
    from lalm_bench.llm.registry import provider_factory

    try:
        params = inspect.signature(provider_factory(spec)).parameters
    except (TypeError, ValueError):  # pragma: no cover - factories without signatures
        return True
    return "base_url" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _utc() -> str:
    from lalm_bench.manifest import utc_now

    return utc_now()


class PredictJob:
    """One ``predict`` call: checked inputs, the models, and one locked run folder per condition."""

    def __init__(
        self,
        config: PredictConfig,
        output: OutputOptions,
        model_factory: ModelFactory | None = None,
        *,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.cfg, self.output = config, output
        self.factory = model_factory or default_model_factory
        self.warn = warn or (lambda msg: print(f"warning: {msg}", file=sys.stderr))
        self.benchmark: Benchmark | None = None
        self.selection: list[BenchmarkItem] = []
        self.by_id: dict[str, BenchmarkItem] = {}
        self.template = prompts.default_template()
        self.partners: dict[str, MismatchPartner] = {}
        self.models: list[ChatModel] = []
        self.model_info: list[dict[str, Any]] = []
        self.runs: list[ConditionRun] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.preflight: dict[str, Any] = {}
        self.started = time.perf_counter()

    # ---- before any request ------------------------------------------------------------------
    def prepare(self) -> None:
        """Check every input and output, build the models, lock and check every run folder. No requests."""
        cfg = self.cfg
        cfg.validate()
        self.template = prompts.load_template(cfg.prompt_template)
        self.benchmark = load_benchmark(cfg.benchmark, cfg.columns, audio_root=cfg.root, need_audio=cfg.sends_audio)
        items = self.benchmark.items
        self.by_id = {it.id: it for it in items}
        end = None if cfg.limit is None else cfg.start + cfg.limit
        self.selection = items[cfg.start : end]
        if not self.selection:
            raise InputError(f"{cfg.benchmark}: no items selected (it has {len(items)}; --start {cfg.start})")
        open_items = [it for it in self.selection if len(it.choices) < prompts.MIN_CHOICES]
        if open_items and self.template.without_choices is None:
            raise InputError(
                f"--prompt-template {cfg.prompt_template}: {len(open_items)} selected item(s) have fewer than "
                f"{prompts.MIN_CHOICES} choices (e.g. {open_items[0].id!r}) but the template has no "
                f"'{prompts.SEPARATOR}' part"
            )
        if "mismatched" in cfg.conditions:
            from lalm_bench.audio.conditions import content_clusters, mismatch_partners

            keys = [json.dumps([it.category, len(it.audio)]) for it in items]  # same category, same file count
            content = content_clusters([[self._audio_path(name) for name in it.audio] for it in items])
            self.partners = mismatch_partners([it.id for it in items], keys, cfg.seed, content)
        self._check_servers()
        benchmark_sha256 = sha256_file(cfg.benchmark)
        settings = {c: run_settings(self, c, benchmark_sha256) for c in cfg.conditions}
        for url in cfg.llm.base_urls or (None,):
            llm = dataclasses.replace(cfg.llm, base_urls=(url,) if url else ())
            model = self.factory(cfg.model, llm)
            self.models.append(model)
            describe = getattr(model, "describe", None)
            self.model_info.append(describe() if callable(describe) else {"name": model.name})
        for c in cfg.conditions:
            self.runs.append(open_run(self, c, settings[c]))
        self._preflight_audio()

    def _audio_path(self, name: str) -> Path | None:
        """Where an item's audio file is under the root, or ``None`` when it is refused (the item fails later)."""
        from lalm_bench.audio.files import resolve_under

        try:
            return resolve_under(self.cfg.root, name)
        except InputError:
            return None

    def _check_servers(self) -> None:
        if self.cfg.llm.base_urls and not _takes_base_url(self.cfg.model):
            raise InputError(f"--base-url does not apply to {self.cfg.model} (it runs without a server)")

    def _preflight_audio(self) -> None:
        """Every audio file the items still to ask need, found under the root: no decoding, just the paths."""
        from lalm_bench.audio.files import regular_file_problem, resolve_under

        cfg = self.cfg
        problems: dict[str, str] = {}
        needs: dict[str, tuple[str, ...]] = {}
        for run, it in self.pending():
            if run.condition == "mismatched":
                needs[f"{it.id} (mismatched partner)"] = self.by_id[self.partners[it.id].partner].audio
            elif run.condition in AUDIO_CONDITIONS:
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
        self.preflight = {
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
            self.warnings.append(msg)
            self.warn(msg)

    # ---- running -------------------------------------------------------------------------------
    def pending(self) -> list[tuple[ConditionRun, BenchmarkItem]]:
        """The (condition, item) pairs still to ask, condition by condition."""
        out = []
        for run in self.runs:
            for it in self.selection:
                rec = run.latest.get(it.id)
                if rec is None or (self.cfg.retry_failed and rec.status == "failed"):
                    out.append((run, it))
        return out

    async def _work(self, task: tuple[ConditionRun, BenchmarkItem], dispatcher: Dispatcher) -> PredictRecord:
        run, it = task
        cfg, cond = self.cfg, task[0].condition
        t0 = time.perf_counter()
        prev = run.latest.get(it.id)
        attempt = prev.attempt + 1 if prev is not None else 1
        prompt = self.template.render(it.question, it.choices, it.category)
        partner = self.partners.get(it.id) if cond == "mismatched" else None
        base: dict[str, Any] = {
            "id": it.id,
            "attempt": attempt,
            "condition": cond,
            "seed": cfg.seed,
            "prompt": prompt,
            "mismatched_with": partner.partner if partner else None,
        }
        parts: list[AudioPart] = []
        if cond in AUDIO_CONDITIONS:
            from lalm_bench.audio.conditions import build_condition_audio

            try:
                parts, sent = await asyncio.to_thread(
                    build_condition_audio,
                    cond,
                    it.audio,
                    root=cfg.root,
                    seed=cfg.seed,
                    item_id=it.id,
                    partner=partner,
                    partner_paths=self.by_id[partner.partner].audio if partner else None,
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
        i = dispatcher.acquire()
        model = self.models[i]
        try:
            res, reply = await call_step(
                model,
                messages,
                sampling=cfg.sampling.sampling(seed=cfg.seed),
                cache_key_extra={"job": "predict", "condition": cond, "item": it.id, "seed": cfg.seed},
            )
        finally:
            dispatcher.release(i)
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

    async def run_async(self, on_record: OnRecord | None = None) -> None:
        """Every pending item of every condition (a fatal error is raised once the logs are closed)."""
        for run in self.runs:
            run.log = RunLog(run.folder.log_path)
            if not run.resumed or run.folder.read_settings() != run.settings.model_dump(mode="json"):
                run.folder.write_manifest(run_manifest(self, run))
        dispatcher = Dispatcher(len(self.models))

        def done(task: tuple[ConditionRun, BenchmarkItem], record: PredictRecord) -> None:
            run = task[0]
            assert run.log is not None
            run.log.append(record)
            run.folder.record_written()
            run.latest[record.id] = record
            run.new.append(record)
            if on_record is not None:
                on_record(record)

        try:
            await run_pool(
                self.pending(),
                lambda t: self._work(t, dispatcher),
                done,
                concurrency=self.cfg.llm.concurrency * len(self.models),
            )
        finally:
            for run in self.runs:
                if run.log is not None:
                    run.log.close()
            for m in self.models:  # their HTTP clients belong to this event loop
                with contextlib.suppress(Exception):
                    await m.aclose()

    def close(self) -> None:
        """Release every run folder and close the models (idempotent)."""
        for run in self.runs:
            run.folder.release()
        for m in self.models:
            with contextlib.suppress(Exception):
                asyncio.run(m.aclose())

    def result(self) -> PredictResult:
        """The counts, canary, manifests and tables of every condition, from its whole log."""
        return build_result(self)


def _server_of(model: ChatModel) -> str | None:
    from lalm_bench.llm.urls import redact_url

    return redact_url(getattr(model, "base_url", None))
