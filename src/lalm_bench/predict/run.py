"""``predict``: an audio-language model over a benchmark under audio conditions, resumably.

Each condition is its own run, in ``<output stem>.runs/<condition>/``: ``run.json`` (manifest and the
settings that identify the run) and ``log.jsonl`` (one fsynced :class:`PredictRecord` per item). Rerunning
the same command resumes every condition after its logged items; ``--retry-failed`` asks again for the
items whose latest record failed; ``--overwrite`` redoes the runs (the response cache then serves every
request that is unchanged). The Parquet file of a condition is rebuilt from its log at the end of every
call, so it always holds every selected item: failed ones with ``model_output`` null and ``error`` set.

Requests go to one chat model per ``--base-url`` (one for in-process providers); each item goes to the
server with the fewest requests in flight, at most ``--concurrency`` per server. The response-cache key
of a request holds the audio's SHA-256, the condition, the item and the seed, so no two conditions or
items share a cached reply. No multimodal ``uuid`` is sent: a server's media cache keys on the audio bytes.
"""

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

from pydantic import BaseModel, PrivateAttr

from lalm_bench.datasets.benchmark import Benchmark, BenchmarkItem, load_benchmark
from lalm_bench.errors import InputError, LalmBenchError, OutputExistsError, first_line
from lalm_bench.io import OutputOptions, sha256_file
from lalm_bench.llm.base import AudioPart, ChatModel, Message, Part, TextPart
from lalm_bench.llm.options import LLMOptions
from lalm_bench.llm.steps import call_step, is_fatal
from lalm_bench.predict import prompts
from lalm_bench.predict.config import (
    AUDIO_CONDITIONS,
    PredictConfig,
    condition_files,
    runs_folder,
)
from lalm_bench.predict.schema import TRANSPORT_OPTIONS, PredictRecord, RunSettings
from lalm_bench.runs import RunFolder, RunLog, read_records, run_pool
from lalm_bench.runs.folder import INFORMATIONAL, settings_diff

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.predict.controls import MismatchPartner

FORMAT = "lalm-bench/predict/1"
ModelFactory = Callable[[str, LLMOptions], ChatModel]
OnRecord = Callable[[PredictRecord], None]
#: Columns ``predict`` adds to the benchmark's (a benchmark column of the same name is kept as ``benchmark_<name>``).
OUTPUT_COLUMNS = (
    "model_output",
    "condition",
    "seed",
    "audio_sha256",
    "audio_seconds",
    "audio_original_seconds",
    "audio_truncated",
    "audio_parts",
    "mismatched_with",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "cached",
    "attempt",
    "error",
    "audio_sent",
)
MISMATCH_KEY = "category|number of audio files"
UUID_NOTE = (
    "no multimodal uuid is sent; vLLM then keys its media cache on the audio bytes, so different audio never "
    "shares a cache entry"
)


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    """A chat model from the LLM registry for the (single) server in ``llm`` (the SDK is imported here)."""
    from lalm_bench.llm.options import make_chat_model

    return make_chat_model(spec, llm)


class ConditionSummary(BaseModel):
    """Counts of one condition; ``processed``/``new_ok``/``new_failed``/``cache_hits`` cover this call only."""

    condition: str
    parquet: str
    manifest: str
    folder: str
    items: int
    ok: int
    failed: int
    resumed_from: int
    processed: int
    new_ok: int
    new_failed: int
    retried: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int


class PredictResult(BaseModel):
    """What a ``predict`` call produced: counts per condition, the serving canary, the manifests; the tables
    to write are in :meth:`frames`."""

    format: str = FORMAT
    model: str
    conditions: list[ConditionSummary]
    canary: dict[str, Any]
    manifests: dict[str, dict[str, Any]]
    warnings: list[str]
    _frames: dict[str, Any] = PrivateAttr(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """``{condition: table}``: the benchmark's columns and :data:`OUTPUT_COLUMNS`, one row per selected item."""
        return dict(self._frames)

    @property
    def processed(self) -> int:
        return sum(c.processed for c in self.conditions)

    @property
    def processed_ok(self) -> int:
        return sum(c.new_ok for c in self.conditions)


@dataclasses.dataclass
class ConditionRun:
    condition: str
    folder: RunFolder
    settings: RunSettings
    parquet: Path
    manifest: Path
    latest: dict[str, PredictRecord]  # item id -> its latest record (the whole log)
    resumed: bool
    resumed_from: int = 0
    new: list[PredictRecord] = dataclasses.field(default_factory=list)
    log: RunLog[PredictRecord] | None = None


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
            from lalm_bench.predict.controls import mismatch_partners

            keys = [json.dumps([it.category, len(it.audio)]) for it in items]  # same category, same file count
            self.partners = mismatch_partners([it.id for it in items], keys, cfg.seed)
        self._check_servers()
        benchmark_sha256 = sha256_file(cfg.benchmark)
        settings = {c: self._settings(c, benchmark_sha256) for c in cfg.conditions}
        for url in cfg.llm.base_urls or (None,):
            llm = dataclasses.replace(cfg.llm, base_urls=(url,) if url else ())
            model = self.factory(cfg.model, llm)
            self.models.append(model)
            describe = getattr(model, "describe", None)
            self.model_info.append(describe() if callable(describe) else {"name": model.name})
        for c in cfg.conditions:
            self.runs.append(self._open_run(c, settings[c]))
        self._preflight_audio()

    def _check_servers(self) -> None:
        if self.cfg.llm.base_urls and not _takes_base_url(self.cfg.model):
            raise InputError(f"--base-url does not apply to {self.cfg.model} (it runs without a server)")

    def _preflight_audio(self) -> None:
        """Every audio file the items still to ask need, found under the root: no decoding, just the paths."""
        from lalm_bench.datasets.audio import resolve_under

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
                if not path.is_file():
                    problems[who] = f"audio file {name!r} not found under {cfg.root}"
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

    def _settings(self, condition: str, benchmark_sha256: str) -> RunSettings:
        cfg = self.cfg
        assert self.benchmark is not None
        from lalm_bench.llm.util import redact_url

        sends = condition in AUDIO_CONDITIONS
        return RunSettings(
            condition=condition,
            model=cfg.model,
            benchmark_sha256=benchmark_sha256,
            columns=self.benchmark.columns,
            prompt_name=self.template.name if cfg.prompt_template is None else "file",
            prompt_version=self.template.version,
            prompt_sha256=self.template.sha256,
            system_prompt=cfg.system_prompt,
            seed=cfg.seed,
            temperature=cfg.sampling.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            provider_options={k: v for k, v in cfg.llm.provider_options.items() if k not in TRANSPORT_OPTIONS},
            max_audio_seconds=cfg.max_audio_seconds if sends else None,
            sample_rate=cfg.sample_rate if sends else None,
            noise_dbfs=cfg.noise_dbfs if condition == "noise" else None,
            mismatch_key=MISMATCH_KEY if condition == "mismatched" else None,
            base_urls=[redact_url(u) for u in cfg.llm.base_urls],
        )

    def _open_run(self, condition: str, settings: RunSettings) -> ConditionRun:
        parquet, manifest = condition_files(self.output.path, condition)
        folder = RunFolder(runs_folder(self.output.path) / condition).acquire()
        try:
            wanted = settings.model_dump(mode="json")
            old = folder.read_settings()
            diff = settings_diff(old, wanted, INFORMATIONAL) if old is not None else []
            if diff and not self.output.overwrite:
                raise OutputExistsError(
                    f"{folder.folder}: its run was made with other settings ({'; '.join(diff)}); pass "
                    "--overwrite to redo it, or write elsewhere with another --output"
                )
            resume = folder.check(wanted, overwrite=self.output.overwrite, kind="predict run")
            records = (
                read_records(folder.log_path, PredictRecord, key=lambda r: r.key, what="predict record")
                if resume
                else []
            )
            latest: dict[str, PredictRecord] = {}
            for r in records:
                if r.id not in self.by_id or r.condition != condition:
                    raise InputError(
                        f"{folder.log_path}: holds item {r.id!r} ({r.condition}), which is not in {self.cfg.benchmark} "
                        f"under {condition}; pass --overwrite to redo the run"
                    )
                if r.id not in latest or r.attempt > latest[r.id].attempt:
                    latest[r.id] = r
            if not resume and not self.output.overwrite:
                existing = [str(p) for p in (parquet, manifest) if p.exists()]
                if existing:
                    raise OutputExistsError(
                        f"output exists: {', '.join(existing)} and {folder.folder} holds no run that made it "
                        "(pass --overwrite to replace it)"
                    )
        except BaseException:
            folder.release()
            raise
        run = ConditionRun(condition, folder, settings, parquet, manifest, latest, resume)
        run.resumed_from = sum(it.id in latest for it in self.selection)
        return run

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
            from lalm_bench.predict.controls import build_condition_audio

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
            except InputError as exc:
                return PredictRecord(
                    **base,
                    status="failed",
                    failed_step="audio",
                    error=first_line(exc),
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
                run.folder.write_manifest(self._run_manifest(run))
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

    # ---- manifests and tables ----------------------------------------------------------------
    def _common_manifest(self) -> dict[str, Any]:
        import numpy as np
        import soundfile

        cfg = self.cfg
        assert self.benchmark is not None
        return {
            "model": {"spec": cfg.model, "servers": self.model_info},
            "prompt": self.template.describe(),
            "system_prompt": cfg.system_prompt,
            "sampling": {**dataclasses.asdict(cfg.sampling), "seed": cfg.seed},
            "seeds": {
                "seed": cfg.seed,
                "request": "sent as the request's seed",
                "noise": "PCG64 seeded by SHA-256 of JSON ['lalm-bench', 'noise/v1', seed, item id, file index]",
                "mismatch": "one seeded random cycle per group (category and number of audio files)",
            },
            "noise": {
                "level": "rms-matched per channel to the real clip as sent"
                if cfg.noise_dbfs is None
                else f"{cfg.noise_dbfs} dBFS RMS (full scale 1.0)",
                "dbfs": cfg.noise_dbfs,
                "kind": "white Gaussian, same frames, sample rate and channels as the real clip as sent",
            },
            "audio": {
                "root": str(cfg.root),
                "sent_as": "16-bit PCM WAV, base64 input_audio part(s) before the prompt text",
                "sample_rate": cfg.sample_rate,
                "max_seconds": cfg.max_audio_seconds,
                "multimodal_uuid": None,
                "uuid_note": UUID_NOTE,
                "preflight": self.preflight,
            },
            "columns": self.benchmark.columns,
            "selection": {"start": cfg.start, "limit": cfg.limit, "items": len(self.selection)},
            "libraries": {
                "numpy": np.__version__,
                "soundfile": soundfile.__version__,
                "libsndfile": getattr(soundfile, "__libsndfile_version__", None),
            },
        }

    def _inputs(self) -> list[str | Path]:
        template = [self.cfg.prompt_template] if self.cfg.prompt_template is not None else []
        return [self.cfg.benchmark, *template]

    def _run_manifest(self, run: ConditionRun) -> dict[str, Any]:
        from lalm_bench.manifest import build_manifest

        return build_manifest(
            "predict",
            self.cfg.parameters(),
            inputs=self._inputs(),
            condition=run.condition,
            settings=run.settings.model_dump(mode="json"),
            **self._common_manifest(),
            log=run.folder.log_path.name,
        )

    def _other_conditions(self) -> dict[str, dict[str, PredictRecord]]:
        """Records of the other conditions of this output stem made with the same model and prompts (for the
        canary); read without the lock, torn lines ignored."""
        out: dict[str, dict[str, PredictRecord]] = {}
        root = runs_folder(self.output.path)
        if not self.runs or not root.is_dir():
            return out
        ours = self.runs[0].settings.shared()
        mine = {r.condition for r in self.runs}
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in mine):
            try:
                settings = RunSettings.model_validate(json.loads((folder / "run.json").read_text("utf-8"))["settings"])
                if settings.shared() != ours or settings.condition != folder.name:
                    continue
                records = read_records(folder / "log.jsonl", PredictRecord, repair=False)
            except (OSError, ValueError, KeyError, TypeError, LalmBenchError):
                continue
            latest: dict[str, PredictRecord] = {}
            for r in records:
                if r.id not in latest or r.attempt > latest[r.id].attempt:
                    latest[r.id] = r
            out[settings.condition] = {it.id: latest[it.id] for it in self.selection if it.id in latest}
        return out

    def result(self) -> PredictResult:
        from lalm_bench.manifest import build_manifest
        from lalm_bench.predict.canary import serving_canary

        for run in self.runs:
            missing = [it.id for it in self.selection if it.id not in run.latest]
            if missing:  # only after a fatal stop, which raises before this
                raise LalmBenchError(f"{run.condition}: {len(missing)} items have no record; rerun to resume")
        by_condition = {r.condition: {it.id: r.latest[it.id] for it in self.selection} for r in self.runs}
        canary = serving_canary({**self._other_conditions(), **by_condition})
        canary["compared_from_earlier_calls"] = sorted(set(canary["conditions"]) - set(by_condition))
        common = self._common_manifest()
        summaries, manifests, frames = [], {}, {}
        renamed = self._renamed()
        if renamed:
            names = ", ".join(f"{a} -> {b}" for a, b in renamed.items())
            self.warnings.append(f"benchmark columns named like output columns were renamed: {names}")
        for run in self.runs:
            latest = [run.latest[it.id] for it in self.selection]
            new = run.new
            replies = [r.reply for r in new if r.reply is not None]
            summary = ConditionSummary(
                condition=run.condition,
                parquet=str(run.parquet),
                manifest=str(run.manifest),
                folder=str(run.folder.folder),
                items=len(latest),
                ok=sum(r.status == "ok" for r in latest),
                failed=sum(r.status == "failed" for r in latest),
                resumed_from=run.resumed_from,
                processed=len(new),
                new_ok=sum(r.status == "ok" for r in new),
                new_failed=sum(r.status == "failed" for r in new),
                retried=sum(r.attempt > 1 for r in new),
                cache_hits=sum(s.cached for s in replies),
                prompt_tokens=sum(s.prompt_tokens for s in replies if not s.cached),
                completion_tokens=sum(s.completion_tokens for s in replies if not s.cached),
            )
            summaries.append(summary)
            frames[run.condition], encoded = self._frame(latest, renamed)
            counts = summary.model_dump(exclude={"condition", "parquet", "manifest", "folder"})
            counts["failed_audio"] = sum(r.failed_step == "audio" for r in latest)
            counts["failed_request"] = sum(r.failed_step == "request" for r in latest)
            manifests[run.condition] = build_manifest(
                "predict",
                self.cfg.parameters(),
                inputs=self._inputs(),
                condition=run.condition,
                output=str(run.parquet),
                settings=run.settings.model_dump(mode="json"),
                **common,
                renamed_columns=renamed,
                json_encoded_columns=encoded,
                counts=counts,
                canary=canary,
                run_folder=str(run.folder.folder),
                wall_seconds=round(time.perf_counter() - self.started, 3),
            )
        result = PredictResult(
            model=self.cfg.model,
            conditions=summaries,
            canary=canary,
            manifests=manifests,
            warnings=list(self.warnings),
        )
        result._frames = frames
        return result

    def _renamed(self) -> dict[str, str]:
        assert self.benchmark is not None
        taken = set(map(str, self.benchmark.frame.columns))
        out = {}
        for c in OUTPUT_COLUMNS:
            if c in taken:
                new = f"benchmark_{c}"
                while new in taken:
                    new = f"benchmark_{new}"
                out[c] = new
        return out

    def _frame(self, records: list[PredictRecord], renamed: dict[str, str]) -> tuple[pd.DataFrame, list[str]]:
        """The output table and the benchmark columns that had to become JSON text (mixed types Parquet
        cannot hold, e.g. a string in one row and a list in another)."""
        import pandas as pd

        assert self.benchmark is not None
        rows = [it.row for it in self.selection]
        frame = self.benchmark.frame.iloc[rows].reset_index(drop=True).rename(columns=renamed)
        if self.benchmark.columns["category"] is None and "category" not in frame.columns:
            frame["category"] = pd.Series([None] * len(frame), dtype=object)  # what `similarity` reads
        cols: dict[str, list[Any]] = {c: [] for c in OUTPUT_COLUMNS}
        for r in records:
            reply = r.reply
            answered = r.status == "ok" and reply is not None
            cols["model_output"].append(r.model_output if r.status == "ok" else None)
            cols["condition"].append(r.condition)
            cols["seed"].append(r.seed)
            cols["audio_sha256"].append(",".join(a.sha256 for a in r.audio) or None)
            cols["audio_seconds"].append(r.audio_seconds)
            cols["audio_original_seconds"].append(
                None if r.failed_step == "audio" else float(sum(a.original_seconds for a in r.audio))
            )
            cols["audio_truncated"].append(None if r.failed_step == "audio" else any(a.truncated for a in r.audio))
            cols["audio_parts"].append(None if r.failed_step == "audio" else len(r.audio))
            cols["mismatched_with"].append(r.mismatched_with)
            cols["finish_reason"].append(reply.finish_reason if answered and reply else None)
            cols["prompt_tokens"].append(reply.prompt_tokens if answered and reply else None)
            cols["completion_tokens"].append(reply.completion_tokens if answered and reply else None)
            cols["latency_s"].append(reply.seconds if reply is not None else None)
            cols["cached"].append(reply.cached if reply is not None else None)
            cols["attempt"].append(r.attempt)
            cols["error"].append(r.error)
            cols["audio_sent"].append(json.dumps([a.model_dump(mode="json") for a in r.audio]))
        dtypes = {
            "prompt_tokens": "Int64",
            "completion_tokens": "Int64",
            "audio_parts": "Int64",
            "seed": "int64",
            "attempt": "int64",
            "audio_seconds": "float64",
            "audio_original_seconds": "float64",
            "latency_s": "float64",
            "audio_truncated": "boolean",
            "cached": "boolean",
        }
        encoded = _parquet_ready(frame)
        for c in OUTPUT_COLUMNS:
            frame[c] = pd.Series(cols[c], dtype=dtypes.get(c, object))
        return frame, encoded


def _parquet_ready(frame: pd.DataFrame) -> list[str]:
    """Turn (in place) the columns pyarrow cannot convert into JSON text; return their names."""
    import pyarrow as pa

    from lalm_bench.io import dumps_strict

    encoded = []
    for col in frame.columns:
        try:
            pa.Table.from_pandas(frame[[col]], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame[col] = [None if _is_missing(v) else dumps_strict(v, indent=None) for v in frame[col].tolist()]
            encoded.append(str(col))
    return encoded


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _server_of(model: ChatModel) -> str | None:
    from lalm_bench.llm.util import redact_url

    return redact_url(getattr(model, "base_url", None))


def run_predict(
    config: PredictConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    progress: bool = False,
    on_record: OnRecord | None = None,
) -> PredictResult:
    """Check, lock, run every condition to its end (resuming), and return the tables and counts (nothing
    is written but the run folders). ``progress``: a bar on stderr; ``on_record``: called after each item."""
    from lalm_bench.progress import progress_bar

    job = PredictJob(config, output, model_factory)
    try:
        job.prepare()
        desc = "predict " + ",".join(config.conditions)
        with progress_bar(progress, desc, len(job.pending()), "items") as advance:

            def record_done(record: PredictRecord) -> None:
                advance(1)
                if on_record is not None:
                    on_record(record)

            try:
                asyncio.run(job.run_async(record_done))
            except LalmBenchError as exc:
                if is_fatal(exc):
                    raise LalmBenchError(
                        f"{first_line(exc)} (the logs keep every finished item; rerun to resume)"
                    ) from exc
                raise
        return job.result()
    finally:
        job.close()
