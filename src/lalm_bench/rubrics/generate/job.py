"""``rubrics generate``: clips → captions → new criteria → a weighted rubric per run, resumably.

Each run folder (``<output>/deter|stoch/<run-name>_<k>/``) holds ``run.json`` (manifest and the
settings that identify the run) and ``log.jsonl`` (one fsynced record per clip). Rerunning the
same command resumes after the last complete record; a clip recorded as failed stays failed (the
rubric after it was built without it); ``--overwrite`` redoes a run, and the response cache then
serves every call whose prompt is unchanged. The cache key of every call holds the prompt version,
the step, the run name and the run's seed: repeated deterministic runs each ask the server (they
exist to test its determinism), a rerun of a run is served from the cache, and stochastic runs
differ from one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, check_folder_writable
from lalm_bench.llm.interface import ChatModel, Sampling
from lalm_bench.llm.options import LLMOptions
from lalm_bench.rubrics.common.clips import Clip, ClipSet, load_baselines, load_clip_set, read_clip_audio
from lalm_bench.rubrics.common.records import RunRecord, RunSettings
from lalm_bench.rubrics.generate import prompts
from lalm_bench.rubrics.generate.config import MODE_DIRS, GenerateConfig
from lalm_bench.rubrics.generate.schedule import RunState, drive_all
from lalm_bench.rubrics.generate.steps import StepContext
from lalm_bench.runs import RunFolder, read_records
from lalm_bench.runs.engine import run_to_end
from lalm_bench.runs.folder import INFORMATIONAL, settings_diff

FORMAT = "lalm-bench/rubrics-generate/1"
ModelFactory = Callable[[str, LLMOptions], ChatModel]
OnRecord = Callable[[RunState, RunRecord], None]


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    """A chat model from the LLM registry (the provider SDK is imported only here)."""
    from lalm_bench.llm.options import make_chat_model

    return make_chat_model(spec, llm)


class GenerateResult(BaseModel):
    """Per-run and total counts; ``processed`` and the tallies cover only the clips of this call."""

    format: str = FORMAT
    prompt_version: str
    runs: list[dict[str, Any]]
    total: dict[str, int]


def _extends(old: dict[str, Any], new: dict[str, Any], diff: list[str]) -> bool:
    """A raised ``--limit`` extends a run (same clips, more of them)."""
    if len(diff) != 1 or not diff[0].startswith("limit:"):
        return False
    return new["limit"] is None or (old["limit"] is not None and new["limit"] >= old["limit"])


class GenerateJob:
    """One ``rubrics generate`` call: validated inputs, shared models and the run folders (locked)."""

    def __init__(self, cfg: GenerateConfig, output: OutputOptions, model_factory: ModelFactory | None = None):
        self.cfg, self.output = cfg, output
        self.factory = model_factory or default_model_factory
        self.clipset: ClipSet | None = None
        self.selection: list[Clip] = []
        self.baselines: dict[str, str] | None = None
        self.runs: list[RunState] = []
        self.settings: RunSettings | None = None
        self.models: dict[str, ChatModel] = {}
        self.model_info: dict[str, Any] = {}

    # ---- before any request ------------------------------------------------------------------
    def validate(self) -> None:
        cfg, sel = self.cfg, self.cfg.clips
        if cfg.mode not in MODE_DIRS:
            raise InputError(f"--mode {cfg.mode!r}: expected deterministic or stochastic")
        if cfg.runs < 1 or cfg.llm.concurrency < 1 or sel.start < 0 or cfg.rubric_lag < 0 or cfg.seed < 0:
            raise InputError("--runs and --concurrency must be >= 1; --start, --rubric-lag and --seed >= 0")
        if sel.limit is not None and sel.limit < 1:
            raise InputError("--limit must be >= 1")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", cfg.run_name):
            raise InputError(f"--run-name {cfg.run_name!r}: use letters, digits, '.', '_' or '-'")
        if cfg.audio_model is None and cfg.baseline_file is None:
            raise InputError("give --audio-model (captions the audio) or --baseline-file (captions made before)")
        if cfg.rubric_model is None and cfg.audio_model is None:
            raise InputError("--rubric-model is required with --baseline-file and no --audio-model")
        check_folder_writable(self.output.path, "-o/--output")

    def prepare(self) -> None:
        """Validate inputs, load clips, build models, lock and check every run folder. No requests."""
        from lalm_bench.io import sha256_file

        self.validate()
        cfg, sel = self.cfg, self.cfg.clips
        self.clipset = load_clip_set(sel.split, sel.csv, sel.audio_dir, sel.dataset_revision)
        end = None if sel.limit is None else sel.start + sel.limit
        self.selection = self.clipset.clips[sel.start : end]
        if not self.selection:
            raise InputError(f"no clips selected: {sel.split} has {len(self.clipset.clips)} clips, --start {sel.start}")
        if cfg.baseline_file is not None:
            self.baselines = load_baselines(cfg.baseline_file)
            if not any(c.file_name in self.baselines for c in self.selection):
                raise InputError(f"{cfg.baseline_file}: no file_name matches a selected clip of the {sel.split} split")
        self.settings = RunSettings(
            split=sel.split,
            start=sel.start,
            limit=sel.limit,
            clips_csv_sha256=sha256_file(self.clipset.csv_path),
            dataset_revision=self.clipset.revision,
            audio_model=None if cfg.baseline_file is not None else cfg.audio_model,
            rubric_model=cfg.rubric_model or cfg.audio_model or "",
            baseline_file_sha256=sha256_file(cfg.baseline_file) if cfg.baseline_file else None,
            rubric_with_audio=cfg.rubric_with_audio,
            rubric_lag=cfg.rubric_lag,
            mode=cfg.mode,
            temperature=0.0 if cfg.mode == "deterministic" else cfg.sampling.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            seed=cfg.seed,
            prompt_version=prompts.PROMPT_VERSION,
        )
        for spec in dict.fromkeys(s for s in (self.settings.audio_model, self.settings.rubric_model) if s):
            self.models[spec] = model = self.factory(spec, cfg.llm)
            describe = getattr(model, "describe", None)
            self.model_info[spec] = describe() if callable(describe) else {"name": spec}
        mode_dir = Path(self.output.path) / MODE_DIRS[cfg.mode]
        for k in range(cfg.runs):
            self.runs.append(self._open_run(k, mode_dir))

    def _open_run(self, k: int, mode_dir: Path) -> RunState:
        cfg = self.cfg
        assert self.settings is not None
        name = f"{cfg.run_name}_{k}"
        legacy = None
        if cfg.legacy_results:
            legacy = mode_dir / (f"results_{k}.json" if cfg.run_name == "run" else f"results_{name}.json")
        folder = RunFolder(mode_dir / name, extra=[legacy] if legacy else []).acquire()
        try:
            settings = self.settings.model_dump(mode="json")
            resume = folder.check(settings, overwrite=self.output.overwrite, compatible=_extends, kind="rubric run")
            records = (
                read_records(folder.log_path, RunRecord, key=lambda r: r.position, what="rubric record")
                if resume
                else []
            )
            for i, r in enumerate(records):
                if i >= len(self.selection) or r.position != i or r.clip != self.selection[i].file_name:
                    raise InputError(
                        f"{folder.log_path}: record {i + 1} ({r.clip!r}) does not match the selected clips"
                    )
        except BaseException:
            folder.release()
            raise
        seed = cfg.seed if cfg.mode == "deterministic" else cfg.seed + k
        sampling = Sampling(
            temperature=self.settings.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            seed=seed,
        )
        return RunState(k, name, folder, seed, sampling, records, legacy, resumed=len(records))

    # ---- running -------------------------------------------------------------------------------
    def context(self, limit: asyncio.Semaphore) -> StepContext:
        assert self.settings is not None and self.clipset is not None
        return StepContext(
            split=self.cfg.clips.split,
            audio_model=self.models.get(self.settings.audio_model or ""),
            rubric_model=self.models[self.settings.rubric_model],
            read_audio=functools.partial(read_clip_audio, self.clipset),
            baselines=self.baselines,
            baseline_file=self.cfg.baseline_file,
            rubric_with_audio=self.cfg.rubric_with_audio,
            rubric_lag=self.cfg.rubric_lag,
            limit=limit,
        )

    async def run_async(self, on_record: OnRecord | None = None) -> None:
        """Every run to its end (or until a fatal error, which is raised after cleanup)."""
        from lalm_bench.runs import RunLog

        cfg = self.cfg
        for run in self.runs:
            run.version_changed = asyncio.Condition()
            run.log = RunLog(run.folder.log_path)
            if not run.folder.manifest_path.exists() or run.resumed == 0 or self._settings_changed(run):
                run.folder.write_manifest(self._manifest(run))
        window = max(cfg.llm.concurrency, cfg.rubric_lag + 1)
        try:
            ctx = self.context(asyncio.Semaphore(cfg.llm.concurrency))
            await drive_all(ctx, self.runs, self.selection, window, on_record or (lambda r, rec: None))
        finally:
            for run in self.runs:
                if run.log is not None:
                    run.log.close()
            self._refresh_manifests()
            for m in self.models.values():  # their HTTP clients belong to this event loop
                with contextlib.suppress(Exception):
                    await m.aclose()

    def _refresh_manifests(self) -> None:
        """Providers learn during a run (a structured-output mode the server rejected): record what was used."""
        from lalm_bench.llm import describe_model

        info = {spec: describe_model(m) for spec, m in self.models.items()}
        if info == self.model_info:
            return
        self.model_info = info
        for run in self.runs:
            if run.folder.manifest_path.exists():
                run.folder.write_manifest(self._manifest(run))

    def close(self) -> None:
        """Release every run folder and close the models (idempotent)."""
        for run in self.runs:
            run.folder.release()
        for m in self.models.values():
            with contextlib.suppress(Exception):
                asyncio.run(m.aclose())

    def _settings_changed(self, run: RunState) -> bool:
        old = run.folder.read_settings()
        assert self.settings is not None
        return old is None or bool(settings_diff(old, self.settings.model_dump(mode="json"), INFORMATIONAL))

    def _manifest(self, run: RunState) -> dict[str, Any]:
        from lalm_bench.manifest import build_manifest

        cfg, clipset, settings = self.cfg, self.clipset, self.settings
        assert settings is not None and clipset is not None
        inputs: list[str | Path] = [clipset.csv_path, *([cfg.baseline_file] if cfg.baseline_file else [])]
        return build_manifest(
            "rubrics generate",
            parameters={"llm": cfg.llm.public(), "legacy_results": cfg.legacy_results},
            inputs=inputs,
            model={
                "audio_model": settings.audio_model,
                "rubric_model": settings.rubric_model,
                "base_url": next((i.get("base_url") for i in self.model_info.values() if i.get("base_url")), None),
                "providers": self.model_info,
            },
            settings=settings.model_dump(mode="json"),
            prompt_version=prompts.PROMPT_VERSION,
            run={"name": run.name, "index": run.index, "seed": run.seed, "sampling": vars(run.sampling)},
            dataset=clipset.describe(cfg.clips.start, cfg.clips.limit, len(self.selection)),
            log=run.folder.log_path.name,
        )

    # ---- results -------------------------------------------------------------------------------
    def result(self) -> GenerateResult:
        rows: list[dict[str, Any]] = []
        for run in self.runs:
            new = run.records[run.resumed :]
            replies = [s for r in new for s in r.replies()]
            rows.append(
                {
                    "run": run.name,
                    "folder": str(run.folder.folder),
                    "seed": run.seed,
                    "clips": len(self.selection),
                    "done": len(run.records),
                    "resumed_from": run.resumed,
                    "processed": len(new),
                    "ok": sum(r.status == "ok" for r in new),
                    "failed": sum(r.status == "failed" for r in new),
                    "failed_total": sum(r.status == "failed" for r in run.records),
                    "calls": len(replies),
                    "cache_hits": sum(s.cached for s in replies),
                    "retries": sum(max(0, s.attempts - 1) for s in replies if not s.cached),
                    "tokens": sum(r.tokens for r in new),
                    "rubric_size": len(run.rubric),
                    "rubric_weight": sum(i.weight for i in run.rubric),
                }
            )
        keys = ["processed", "ok", "failed", "calls", "cache_hits", "retries", "tokens"]
        total = {k: sum(int(r[k]) for r in rows) for k in keys}
        return GenerateResult(prompt_version=prompts.PROMPT_VERSION, runs=rows, total=total)


def run_generate(
    cfg: GenerateConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    on_record: Callable[[GenerateJob], OnRecord] | None = None,
) -> GenerateResult:
    """Check, lock, run every run to its end (resuming), and return the counts.

    ``on_record(job)`` may return a callback called after each clip (progress bars)."""
    job = GenerateJob(cfg, output, model_factory)
    try:
        job.prepare()
        callback = on_record(job) if on_record is not None else None
        run_to_end(lambda: job.run_async(callback), "clip")
    finally:
        job.close()
    return job.result()
