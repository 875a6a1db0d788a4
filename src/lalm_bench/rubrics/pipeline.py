"""The rubric pipeline (``lalm-bench rubrics generate``): clips -> captions -> new criteria -> rubric.

Per clip of a run, in clip order:

1. **baseline**: the audio model captions the clip's audio (or the caption is read from a baseline file);
2. **extract**: a reference caption is drawn (per clip, from the run's seed, so resuming or changing
   the concurrency never changes a draw); the rubric model compares it, as the better response,
   with the baseline against the rubric and returns new criteria, each with a verbatim quote
   (criteria whose quote is not in the reference are rejected and recorded);
3. **merge**: the rubric model merges the new criteria into the rubric. Each merged item names the
   ids of the items it stands for, so the code can check that nothing was invented or lost and
   computes the weight as the sum of the source weights.

Scheduling (the honest choice): step 3 is sequential in clip order within a run. Steps 1 and 2 of
upcoming clips run concurrently (up to ``concurrency`` requests in flight, a window of
``concurrency`` clips ahead per run), but step 2 of the clip at position ``p`` (0-based) sees
rubric version ``max(0, p - rubric_lag)``, the rubric with the first ``p - rubric_lag`` clips
merged - a fixed, recorded snapshot (``rubric_version_seen``), so results never depend on timing
or on ``concurrency``. ``rubric_lag = 0`` (default) is the original recipe: every extractor call
sees the current rubric, and only step 1 (the audio model, the expensive call) overlaps across
clips. ``rubric_lag = L > 0`` lets step 2 of up to ``L + 1`` clips overlap, at the price of
extractor calls that may re-propose criteria merged from the last ``L`` clips (the merge step
deduplicates them, adding their weights). Independent runs proceed in parallel.

Each run folder holds ``run.json`` (manifest) and ``log.jsonl`` (one record per clip, fsynced).
Rerunning the same command resumes after the last complete record; a clip recorded as failed stays
failed (the rubric after it was built without it); ``--overwrite`` redoes a run, and the response
cache then serves every call whose prompt is unchanged. The cache key of every call holds the
prompt version, the step, the run name and the run's seed, in both modes: repeated deterministic
runs each ask the server (they exist to test its determinism), a rerun of a run is served from the
cache, and stochastic runs differ from one another.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from lalm_bench.errors import InputError, LalmBenchError, first_line
from lalm_bench.rubrics import prompts
from lalm_bench.rubrics.data import Clip, ClipSet, load_baselines, load_clotho, read_audio
from lalm_bench.rubrics.runlog import LOG_NAME, MANIFEST_NAME, LogWriter, check_run_folder, read_log
from lalm_bench.rubrics.schema import (
    Criterion,
    ExtractorReply,
    MergeReply,
    RubricItem,
    RunRecord,
    RunSettings,
    StepReply,
)

MODE_DIRS = {"deterministic": "deter", "stochastic": "stoch"}


@dataclass
class GenerateConfig:
    """All settings of ``rubrics generate`` (see the CLI for their meaning)."""

    split: str = "evaluation"
    start: int = 0
    limit: int | None = None
    audio_model: str | None = None
    rubric_model: str | None = None
    baseline_file: Path | None = None
    csv: Path | None = None
    audio_dir: Path | None = None
    revision: str | None = None
    rubric_with_audio: bool = False
    runs: int = 1
    mode: Literal["deterministic", "stochastic"] = "deterministic"
    temperature: float = 0.7
    top_p: float | None = None
    max_tokens: int | None = 1024
    seed: int = 42
    concurrency: int = 8
    rubric_lag: int = 0
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 120.0
    max_retries: int = 4
    cache: bool = True
    model_options: dict[str, Any] = field(default_factory=dict)
    output_dir: Path = Path("projects/make_rubrics")
    run_name: str = "run"
    overwrite: bool = False
    legacy_results: bool = False
    quiet: bool = False


ModelFactory = Callable[[str, GenerateConfig], Any]


def default_model_factory(spec: str, cfg: GenerateConfig) -> Any:
    """A chat model from the LLM registry (the provider SDK is imported only here)."""
    from lalm_bench.llm.registry import get_chat_model

    return get_chat_model(
        spec,
        base_url=cfg.base_url,
        api_key_env=cfg.api_key_env,
        timeout=cfg.timeout,
        max_retries=cfg.max_retries,
        cache=cfg.cache,
        concurrency=cfg.concurrency,
        **cfg.model_options,
    )


def is_fatal(exc: BaseException) -> bool:
    """Errors that stop the whole job, because the next clip would fail the same way: bad
    credentials, a bad model/provider setting, the server unreachable after the retries, or an
    unknown model (HTTP 404). A timeout, 429/5xx after the retries or an invalid reply fail only
    the clip's step."""
    from lalm_bench.llm import errors as e

    if isinstance(exc, e.LLMTimeoutError):
        return False
    if isinstance(exc, (e.LLMAuthError, e.LLMConfigError, e.LLMUnreachableError)):
        return True
    return isinstance(exc, e.LLMRequestError) and exc.status_code == 404


def is_step_error(exc: BaseException) -> bool:
    """Errors recorded as a failed step of one clip."""
    from lalm_bench.llm.errors import LLMError

    return isinstance(exc, LLMError) and not is_fatal(exc)


def public_url(url: str | None) -> str | None:
    """A base URL without credentials (user info, query string, fragment)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def draw_reference(seed: int, split: str, clip: Clip) -> tuple[int, str]:
    """The reference caption of ``clip`` for a run seed: 1-based index and text (empty ones skipped)."""
    choices = [(i, c) for i, c in enumerate(clip.captions, 1) if c.strip()]
    if not choices:
        return 0, ""
    return random.Random(f"{seed}:{split}:{clip.file_name}").choice(choices)


_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def check_quotes(criteria: list[Criterion], reference: str) -> tuple[list[Criterion], list[dict[str, Any]]]:
    """Keep criteria whose quote occurs in the reference (case, spacing and punctuation aside)."""
    ref = _norm(reference)
    kept, rejected = [], []
    for c in criteria:
        q = _norm(c.quote)
        if q and q in ref:
            kept.append(c)
        else:
            rejected.append({**c.model_dump(), "reason": "quote not found in the reference"})
    return kept, rejected


class MergeInvalid(ValueError):
    """The merge reply does not map its items onto the input ids."""


def apply_merge(
    rubric: list[RubricItem], new: list[Criterion], reply: MergeReply
) -> tuple[list[RubricItem], list[str]]:
    """Turn a merge reply into the new rubric: each input id must be used at most once; an id left
    out is kept unchanged (with a warning); weights are the sums of the source weights."""
    ids = prompts.merge_ids(rubric, new)
    used: set[str] = set()
    out: list[RubricItem] = []
    for item in reply.rubric:
        srcs = [s.strip().upper() for s in item.sources]
        unknown = [s for s in srcs if s not in ids]
        if unknown:
            raise MergeInvalid(f"merge reply names unknown id(s) {', '.join(unknown)}")
        again = [s for s in srcs if s in used] + [s for i, s in enumerate(srcs) if s in srcs[:i]]
        if again:
            raise MergeInvalid(f"merge reply uses id(s) {', '.join(sorted(set(again)))} more than once")
        used.update(srcs)
        out.append(RubricItem(criterion=item.criterion.strip(), weight=sum(ids[s][1] for s in srcs)))
    warnings = []
    for k, (text, weight) in ids.items():
        if k not in used:
            warnings.append(f"merge reply left out {k}; kept unchanged")
            out.append(RubricItem(criterion=text, weight=weight))
    return out, warnings


@dataclass
class Prepared:
    """Steps 1 and 2 of one clip, ready for the sequential merge step."""

    clip: Clip
    reference_index: int
    reference: str
    started: float
    baseline: str | None = None
    baseline_reply: StepReply | None = None
    extractor_reply: StepReply | None = None
    rubric_version_seen: int | None = None
    new_criteria: list[Criterion] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None


@dataclass
class RunState:
    index: int
    name: str
    folder: Path
    seed: int
    sampling: Any
    records: list[RunRecord]
    history: list[list[RubricItem]]  # history[v]: the rubric after v clips of this run
    legacy_path: Path | None
    writer: LogWriter | None = None
    resumed: int = 0
    version_changed: asyncio.Condition | None = None

    @property
    def rubric(self) -> list[RubricItem]:
        return self.history[-1]

    async def wait_version(self, v: int) -> list[RubricItem]:
        assert self.version_changed is not None
        async with self.version_changed:
            await self.version_changed.wait_for(lambda: len(self.history) > v)
        return self.history[v]

    async def commit(self, record: RunRecord) -> None:
        assert self.writer is not None and self.version_changed is not None
        self.writer.append(record)
        self.records.append(record)
        if self.legacy_path is not None:
            from lalm_bench.io import write_json

            write_json(self.legacy_path, [r.model_dump(mode="json") for r in self.records])
        async with self.version_changed:
            self.history.append(list(record.final_criteria))
            self.version_changed.notify_all()


class Pipeline:
    """One ``rubrics generate`` job: shared models, a request limit, and the runs."""

    def __init__(self, cfg: GenerateConfig, model_factory: ModelFactory | None = None) -> None:
        self.cfg = cfg
        self.factory = model_factory or default_model_factory
        self.clipset: ClipSet | None = None
        self.selection: list[Clip] = []
        self.baselines: dict[str, str] | None = None
        self.runs: list[RunState] = []
        self.settings: RunSettings | None = None
        self.audio_model: Any = None
        self.rubric_model: Any = None
        self.fatal: asyncio.Future[None] | None = None
        self.sem: asyncio.Semaphore | None = None
        self.model_info: dict[str, Any] = {}
        self.models: dict[str, Any] = {}

    # ---- setup (before any request) -------------------------------------------------------

    def prepare(self) -> None:
        """Validate inputs, load clips, check every run folder (refuse or resume). No requests."""
        cfg = self.cfg
        if cfg.mode not in MODE_DIRS:
            raise InputError(f"--mode {cfg.mode!r}: expected deterministic or stochastic")
        if cfg.runs < 1 or cfg.concurrency < 1 or cfg.start < 0 or cfg.rubric_lag < 0:
            raise InputError("--runs and --concurrency must be >= 1, --start and --rubric-lag >= 0")
        if cfg.limit is not None and cfg.limit < 1:
            raise InputError("--limit must be >= 1")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", cfg.run_name):
            raise InputError(f"--run-name {cfg.run_name!r}: use letters, digits, '.', '_' or '-'")
        if cfg.audio_model is None and cfg.baseline_file is None:
            raise InputError(
                "give --audio-model (captions the audio) or --baseline-file (captions made before)"
            )
        if cfg.rubric_model is None and cfg.audio_model is None:
            raise InputError("--rubric-model is required with --baseline-file and no --audio-model")
        self.clipset = load_clotho(cfg.split, cfg.csv, cfg.audio_dir, cfg.revision)
        end = None if cfg.limit is None else cfg.start + cfg.limit
        self.selection = self.clipset.clips[cfg.start : end]
        if not self.selection:
            raise InputError(
                f"no clips selected: {cfg.split} has {len(self.clipset.clips)} clips, --start {cfg.start}"
            )
        if cfg.baseline_file is not None:
            self.baselines = load_baselines(cfg.baseline_file)
            if not any(c.file_name in self.baselines for c in self.selection):
                raise InputError(
                    f"{cfg.baseline_file}: no file_name matches a selected clip of the {cfg.split} split"
                )
        from lalm_bench.io import sha256_file

        self.settings = RunSettings(
            split=cfg.split,
            start=cfg.start,
            limit=cfg.limit,
            clips_csv_sha256=sha256_file(self.clipset.csv_path),
            dataset_revision=self.clipset.revision,
            audio_model=None if cfg.baseline_file is not None else cfg.audio_model,
            rubric_model=cfg.rubric_model or cfg.audio_model or "",
            baseline_file_sha256=sha256_file(cfg.baseline_file) if cfg.baseline_file else None,
            rubric_with_audio=cfg.rubric_with_audio,
            rubric_lag=cfg.rubric_lag,
            mode=cfg.mode,
            temperature=0.0 if cfg.mode == "deterministic" else cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
            base_url=public_url(cfg.base_url or os.environ.get("OPENAI_BASE_URL")),
            prompt_version=prompts.PROMPT_VERSION,
        )
        for spec in dict.fromkeys(s for s in (self.settings.audio_model, self.settings.rubric_model) if s):
            self.models[spec] = model = self.factory(spec, cfg)
            describe = getattr(model, "describe", None)
            self.model_info[spec] = describe() if callable(describe) else {"name": spec}
        self.audio_model = self.models.get(self.settings.audio_model or "")
        self.rubric_model = self.models[self.settings.rubric_model]
        from lalm_bench.llm.base import Sampling

        mode_dir = Path(cfg.output_dir) / MODE_DIRS[cfg.mode]
        for k in range(cfg.runs):
            name = f"{cfg.run_name}_{k}"
            folder = mode_dir / name
            legacy = None
            if cfg.legacy_results:
                legacy = mode_dir / (f"results_{k}.json" if cfg.run_name == "run" else f"results_{name}.json")
            resume = check_run_folder(folder, self.settings, cfg.overwrite, [legacy] if legacy else [])
            records = read_log(folder / LOG_NAME) if resume else []
            self._check_prefix(folder, records)
            history: list[list[RubricItem]] = [[]] + [list(r.final_criteria) for r in records]
            seed = cfg.seed if cfg.mode == "deterministic" else cfg.seed + k
            sampling = Sampling(
                temperature=self.settings.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=seed
            )
            self.runs.append(
                RunState(k, name, folder, seed, sampling, records, history, legacy, resumed=len(records))
            )

    def _check_prefix(self, folder: Path, records: list[RunRecord]) -> None:
        for i, r in enumerate(records):
            if i >= len(self.selection) or r.position != i or r.clip != self.selection[i].file_name:
                raise InputError(
                    f"{folder / LOG_NAME}: record {i + 1} ({r.clip!r}) does not match the selected clips"
                )

    def _write_manifest(self, run: RunState) -> None:
        from lalm_bench.io import write_json
        from lalm_bench.manifest import build_manifest

        cfg, clipset = self.cfg, self.clipset
        assert self.settings is not None and clipset is not None
        inputs: list[str | Path] = [clipset.csv_path] + ([cfg.baseline_file] if cfg.baseline_file else [])
        manifest = build_manifest(
            "rubrics generate",
            parameters={
                "concurrency": cfg.concurrency,
                "timeout": cfg.timeout,
                "max_retries": cfg.max_retries,
                "cache": cfg.cache,
                "api_key_env": cfg.api_key_env,
                "legacy_results": cfg.legacy_results,
                "model_options": cfg.model_options,
            },
            inputs=inputs,
            model={
                "audio_model": self.settings.audio_model,
                "rubric_model": self.settings.rubric_model,
                "base_url": self.settings.base_url,
                "providers": self.model_info,
            },
            settings=self.settings.model_dump(mode="json"),
            prompt_version=prompts.PROMPT_VERSION,
            run={"name": run.name, "index": run.index, "seed": run.seed, "sampling": vars(run.sampling)},
            dataset={
                "name": "clotho",
                "split": cfg.split,
                "csv": str(clipset.csv_path),
                "audio_dir": str(clipset.audio_dir),
                "revision": clipset.revision,
                "start": cfg.start,
                "limit": cfg.limit,
                "clips": len(self.selection),
            },
            log=LOG_NAME,
        )
        write_json(run.folder / MANIFEST_NAME, manifest)

    # ---- requests ---------------------------------------------------------------------------

    async def _call(
        self, model: Any, step: str, run: RunState, messages: list, schema: Any = None
    ) -> tuple[Any, StepReply]:
        """One chat call under the request limit. Returns (result or None, StepReply); fatal errors raise."""
        assert self.sem is not None
        extra = {"prompt_version": prompts.PROMPT_VERSION, "step": step, "run": run.name, "seed": run.seed}
        t0 = time.perf_counter()
        try:
            async with self.sem:
                res = await model.chat(messages, schema=schema, sampling=run.sampling, cache_key_extra=extra)
        except Exception as exc:
            if is_fatal(exc) or not is_step_error(exc):
                raise
            raws = getattr(exc, "raw_texts", None)
            usage = getattr(exc, "usage", None)
            return None, StepReply(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                raw=getattr(exc, "raw_text", None) or None,
                raw_attempts=list(raws) if raws and len(raws) > 1 else None,
                error=first_line(exc),
                attempts=int(getattr(exc, "attempts", 0) or 0),
                seconds=round(time.perf_counter() - t0, 3),
            )
        parsed = res.parsed.model_dump(mode="json") if res.parsed is not None else None
        raws = res.extra.get("raw_texts") if isinstance(res.extra, dict) else None
        return res, StepReply(
            raw=res.text,
            raw_attempts=list(raws) if raws else None,
            parsed=parsed,
            attempts=res.attempts,
            cached=res.cached,
            prompt_tokens=res.usage.prompt_tokens,
            completion_tokens=res.usage.completion_tokens,
            seconds=round(time.perf_counter() - t0, 3),
        )

    async def _steps_1_2(self, run: RunState, pos: int, clip: Clip) -> Prepared:
        """Baseline caption and new criteria for one clip (may run ahead of the merge step)."""
        from lalm_bench.llm.base import Message, TextPart

        cfg = self.cfg
        assert self.clipset is not None
        ref_index, reference = draw_reference(run.seed, cfg.split, clip)
        prep = Prepared(clip, ref_index, reference, time.perf_counter())
        if not reference:
            prep.failed_step, prep.error = "extract", "clip has no non-empty reference caption"
            return prep
        audio = None
        if cfg.rubric_with_audio or self.baselines is None:
            try:
                audio = await asyncio.to_thread(read_audio, self.clipset.audio_path(clip))
            except InputError as exc:
                prep.failed_step, prep.error = "audio", str(exc)
                return prep
        # step 1: baseline caption
        if self.baselines is not None:
            prep.baseline = self.baselines.get(clip.file_name)
            if prep.baseline is None or not prep.baseline.strip():
                what = "no" if prep.baseline is None else "an empty"
                prep.failed_step, prep.error = "baseline", f"{what} baseline caption in {cfg.baseline_file}"
                return prep
        else:
            msgs = [Message("user", (audio, TextPart(prompts.BASELINE_PROMPT)))]
            res, prep.baseline_reply = await self._call(self.audio_model, "baseline", run, msgs)
            if res is None or not res.text.strip():
                prep.failed_step = "baseline"
                prep.error = prep.baseline_reply.error or "the audio model returned an empty caption"
                return prep
            prep.baseline = res.text.strip()
        # step 2: new criteria against a fixed rubric snapshot
        prep.rubric_version_seen = max(0, pos - cfg.rubric_lag)
        rubric = await run.wait_version(prep.rubric_version_seen)
        text = prompts.extractor_prompt(
            reference, prep.baseline, rubric, with_audio=audio is not None and cfg.rubric_with_audio
        )
        content = (audio, TextPart(text)) if cfg.rubric_with_audio else (TextPart(text),)
        msgs = [Message.text("system", prompts.EXTRACTOR_SYSTEM), Message("user", content)]
        res, prep.extractor_reply = await self._call(self.rubric_model, "extract", run, msgs, ExtractorReply)
        if res is None:
            prep.failed_step, prep.error = "extract", prep.extractor_reply.error
            return prep
        prep.new_criteria, prep.rejected = check_quotes(list(res.parsed.criteria), reference)
        return prep

    async def _step_3(self, run: RunState, pos: int, prep: Prepared) -> RunRecord:
        """Merge the clip's new criteria into the current rubric and build its record."""
        from lalm_bench.llm.base import Message
        from lalm_bench.manifest import utc_now

        rubric = run.rubric
        final, merge_reply, warnings = rubric, None, []
        failed_step, error = prep.failed_step, prep.error
        if failed_step is None and prep.new_criteria:
            if not rubric and len(prep.new_criteria) == 1:  # nothing to merge with
                c = prep.new_criteria[0]
                final = [RubricItem(criterion=c.criterion, weight=c.weight)]
            else:
                msgs = [
                    Message.text("system", prompts.MERGE_SYSTEM),
                    Message.text("user", prompts.merge_prompt(rubric, prep.new_criteria)),
                ]
                res, merge_reply = await self._call(self.rubric_model, "merge", run, msgs, MergeReply)
                if res is None:
                    failed_step, error = "merge", merge_reply.error
                else:
                    try:
                        final, warnings = apply_merge(rubric, prep.new_criteria, res.parsed)
                    except MergeInvalid as exc:
                        failed_step, error = "merge", str(exc)
                        merge_reply.error = str(exc)
        return RunRecord(
            run=run.name,
            position=pos,
            clip=prep.clip.file_name,
            split=self.cfg.split,
            status="failed" if failed_step else "ok",
            failed_step=failed_step,  # type: ignore[arg-type]
            error=error,
            reference_index=prep.reference_index,
            reference=prep.reference,
            baseline=prep.baseline,
            baseline_source="file" if self.baselines is not None else "model",
            rubric_version_seen=prep.rubric_version_seen,
            baseline_reply=prep.baseline_reply,
            extractor_reply=prep.extractor_reply,
            new_criteria=prep.new_criteria,
            rejected_criteria=prep.rejected,
            merge_reply=merge_reply,
            merge_warnings=warnings,
            final_criteria=rubric if failed_step else final,
            seconds=round(time.perf_counter() - prep.started, 3),
            finished_utc=utc_now(),
        )

    async def _guard(self, coro: Awaitable[Prepared]) -> Prepared:
        """Report a fatal error at once, so every run stops instead of waiting for its turn."""
        try:
            return await coro
        except Exception as exc:
            if self.fatal is not None and not self.fatal.done():
                self.fatal.set_exception(exc)
            raise

    async def _drive(self, run: RunState, on_record: Callable[[RunState, RunRecord], None]) -> None:
        todo = list(range(len(run.records), len(self.selection)))
        window = max(self.cfg.concurrency, self.cfg.rubric_lag + 1)
        ahead: dict[int, asyncio.Task[Prepared]] = {}
        nxt = 0
        try:
            for pos in todo:
                while nxt < len(todo) and len(ahead) < window:
                    p = todo[nxt]
                    ahead[p] = asyncio.ensure_future(self._guard(self._steps_1_2(run, p, self.selection[p])))
                    nxt += 1
                prep = await ahead.pop(pos)
                record = await self._step_3(run, pos, prep)
                await run.commit(record)
                on_record(run, record)
        finally:
            for t in ahead.values():
                t.cancel()
            await asyncio.gather(*ahead.values(), return_exceptions=True)

    async def run_async(self, on_record: Callable[[RunState, RunRecord], None] | None = None) -> None:
        """Run every run to the end (or until a fatal error, which is raised after cleanup)."""
        cfg = self.cfg
        self.sem = asyncio.Semaphore(cfg.concurrency)
        self.fatal = asyncio.get_running_loop().create_future()
        try:
            for run in self.runs:
                run.version_changed = asyncio.Condition()
                run.writer = LogWriter(run.folder / LOG_NAME)
                if not (run.folder / MANIFEST_NAME).exists() or run.resumed == 0 or self._limit_changed(run):
                    self._write_manifest(run)
            drivers = [
                asyncio.ensure_future(self._drive(r, on_record or (lambda r, rec: None))) for r in self.runs
            ]
            failure: BaseException | None = None
            pending: set[asyncio.Future[Any]] = {*drivers, self.fatal}
            while failure is None and not all(d.done() for d in drivers):
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                failure = next((t.exception() for t in done if not t.cancelled() and t.exception()), None)
            for t in drivers:
                t.cancel()
            await asyncio.gather(*drivers, return_exceptions=True)
            if failure is not None:
                raise failure
        finally:
            if not self.fatal.done():
                self.fatal.cancel()
            elif not self.fatal.cancelled():
                self.fatal.exception()  # mark retrieved
            for run in self.runs:
                if run.writer is not None:
                    run.writer.close()
            for m in self.models.values():
                with contextlib.suppress(Exception):
                    await m.aclose()

    def _limit_changed(self, run: RunState) -> bool:
        import json

        try:
            old = json.loads((run.folder / MANIFEST_NAME).read_text(encoding="utf-8"))["settings"]
        except (OSError, ValueError, KeyError):
            return True
        return old != self.settings.model_dump(mode="json")  # type: ignore[union-attr]

    # ---- results ------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """Per-run and total counts; ``session`` counts cover only clips processed by this call."""
        rows = []
        for run in self.runs:
            new = run.records[run.resumed :]
            replies = [s for r in new for s in r.replies()]
            rows.append(
                {
                    "run": run.name,
                    "folder": str(run.folder),
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
        total = {k: sum(r[k] for r in rows) for k in keys}
        return {"prompt_version": prompts.PROMPT_VERSION, "runs": rows, "total": total}


def generate(cfg: GenerateConfig, model_factory: ModelFactory | None = None) -> dict[str, Any]:
    """What ``lalm-bench rubrics generate`` does: check, run (with progress), summarise."""
    pipe = Pipeline(cfg, model_factory)
    pipe.prepare()
    with _RunProgress(not cfg.quiet, pipe) as on_record:
        try:
            asyncio.run(pipe.run_async(on_record))
        except Exception as exc:
            if is_fatal(exc):
                raise LalmBenchError(
                    f"{first_line(exc)} (the logs keep every finished clip; rerun to resume)"
                ) from exc
            raise
    summary = pipe.summary()
    if not cfg.quiet:
        print_summary(summary)
    return summary


class _RunProgress:
    """A rich bar per run: clips done, failures, tokens used."""

    def __init__(self, enabled: bool, pipe: Pipeline) -> None:
        self.enabled, self.pipe = enabled, pipe
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}
        self.stats: dict[str, list[int]] = {}

    def __enter__(self) -> Callable[[RunState, RunRecord], None]:
        if not self.enabled:
            return lambda run, rec: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("clips · {task.fields[failed]} failed · {task.fields[tokens]} tokens"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.bar.__enter__()
        for run in self.pipe.runs:
            failed = sum(r.status == "failed" for r in run.records)
            tokens = sum(r.tokens for r in run.records)
            self.stats[run.name] = [failed, tokens]
            self.tasks[run.name] = self.bar.add_task(
                run.name,
                total=len(self.pipe.selection),
                completed=len(run.records),
                failed=failed,
                tokens=tokens,
            )
        return self._update

    def _update(self, run: RunState, rec: RunRecord) -> None:
        st = self.stats[run.name]
        st[0] += rec.status == "failed"
        st[1] += rec.tokens
        self.bar.update(self.tasks[run.name], advance=1, failed=st[0], tokens=st[1])

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    cols = {
        "run": "run", "done": "done", "processed": "new", "ok": "ok", "failed": "failed", "calls": "calls",
        "cache_hits": "cached", "retries": "retries", "tokens": "tokens", "rubric_size": "criteria",
    }  # fmt: skip
    table = Table(title=f"rubrics generate (prompt {summary['prompt_version']})")
    for c, header in cols.items():
        table.add_column(header, justify="left" if c == "run" else "right")
    for row in summary["runs"]:
        table.add_row(*(str(row[c]) if c != "done" else f"{row['done']}/{row['clips']}" for c in cols))
    Console().print(table)
    for row in summary["runs"]:
        print(f"wrote {row['folder']}/{LOG_NAME}")
