"""``rubrics generate`` as an engine job: its checks, the audio and rubric models, one run folder per run,
the clips merged in order (the lifecycle is :class:`lalm_bench.runs.RunEngine`'s)."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, check_folder_writable, sha256_file
from lalm_bench.llm.calls import structured_counts
from lalm_bench.llm.interface import Sampling
from lalm_bench.llm.options import LLMOptions
from lalm_bench.rubrics.common.clips import Clip, ClipSet, load_baselines, load_clip_set, read_clip_audio
from lalm_bench.rubrics.common.records import RunRecord, RunSettings
from lalm_bench.rubrics.generate import prompts
from lalm_bench.rubrics.generate.config import MODE_DIRS, GenerateConfig
from lalm_bench.rubrics.generate.schedule import RunState, drive_all
from lalm_bench.rubrics.generate.steps import StepContext
from lalm_bench.runs import LLMJob, Models, RunFolder, read_records
from lalm_bench.runs.engine import Lock

FORMAT = "lalm-bench/rubrics-generate/1"


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


class GenerateJob(LLMJob[Clip, RunRecord, RunState, GenerateResult]):
    """One ``rubrics generate`` call: validated inputs, shared models and the run folders (locked)."""

    unit = "clip"

    def __init__(self, cfg: GenerateConfig, output: OutputOptions) -> None:
        self.cfg, self.output = cfg, output
        self.clipset: ClipSet | None = None
        self.selection: list[Clip] = []
        self.baselines: dict[str, str] | None = None
        self.runs: list[RunState] = []
        self.settings: RunSettings | None = None
        self.models = Models()

    @property
    def model_info(self) -> dict[str, dict[str, Any]]:
        return self.models.info

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

    def check(self) -> dict[str, tuple[str, LLMOptions]]:
        """Validate inputs, load clips and baselines; the audio and rubric models."""
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
        specs = (self.settings.audio_model, self.settings.rubric_model)
        return {spec: (spec, cfg.llm) for spec in dict.fromkeys(s for s in specs if s)}

    def open_runs(self, models: Models, lock: Lock) -> list[RunState]:
        """Lock and check every run folder, read its records back."""
        self.models = models
        mode_dir = Path(self.output.path) / MODE_DIRS[self.cfg.mode]
        self.runs = [self._open_run(k, mode_dir, lock) for k in range(self.cfg.runs)]
        return self.runs

    def _open_run(self, k: int, mode_dir: Path, lock: Lock) -> RunState:
        cfg = self.cfg
        assert self.settings is not None
        name = f"{cfg.run_name}_{k}"
        legacy = None
        if cfg.legacy_results:
            legacy = mode_dir / (f"results_{k}.json" if cfg.run_name == "run" else f"results_{name}.json")
        folder = lock(RunFolder(mode_dir / name, extra=[legacy] if legacy else []))
        settings = self.settings.model_dump(mode="json")
        resume = folder.check(settings, overwrite=self.output.overwrite, compatible=_extends, kind="rubric run")
        records = (
            read_records(folder.log_path, RunRecord, key=lambda r: r.position, what="rubric record") if resume else []
        )
        for i, r in enumerate(records):
            if i >= len(self.selection) or r.position != i or r.clip != self.selection[i].file_name:
                raise InputError(f"{folder.log_path}: record {i + 1} ({r.clip!r}) does not match the selected clips")
        seed = cfg.seed if cfg.mode == "deterministic" else cfg.seed + k
        sampling = Sampling(
            temperature=self.settings.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            seed=seed,
        )
        return RunState(
            folder=folder,
            identity=settings,
            resumed=len(records),
            index=k,
            name=name,
            seed=seed,
            sampling=sampling,
            records=records,
            legacy_path=legacy,
        )

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

    def start(self) -> None:
        for run in self.runs:
            run.version_changed = asyncio.Condition()

    async def drive(self, record: Callable[[RunState, RunRecord], None]) -> None:
        """Every run to its end, clips merged in order (see :mod:`.schedule`)."""
        cfg = self.cfg
        window = max(cfg.llm.concurrency, cfg.rubric_lag + 1)
        ctx = self.context(asyncio.Semaphore(cfg.llm.concurrency))
        await drive_all(ctx, self.runs, self.selection, window, record)

    def commit(self, run: RunState, record: RunRecord) -> None:
        run.keep(record)

    def manifest(self, run: RunState) -> dict[str, Any]:
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
                    "structured_output": structured_counts(s for r in run.records for s in r.replies()),
                }
            )
        keys = ["processed", "ok", "failed", "calls", "cache_hits", "retries", "tokens"]
        total = {k: sum(int(r[k]) for r in rows) for k in keys}
        return GenerateResult(prompt_version=prompts.PROMPT_VERSION, runs=rows, total=total)
