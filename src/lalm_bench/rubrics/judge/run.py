"""``rubrics judge``: every caption judged against every criterion of a rubric, resumably.

The job unit is one caption judged once: (system, clip, caption, judge, sample). Each unit is one
judge call with every criterion (default), or one call per criterion (``per_criterion``); its
verdicts go to ``log.jsonl`` as one fsynced record, so a killed run resumes after its last record
(calls of units cut by the kill come back from the response cache). The run folder is the output
folder: ``run.json`` (manifest and the settings that identify the run), ``log.jsonl``, and the
summary and tables, which are rebuilt from the complete log at the end of every call.

What the judge sees for a caption (see ``docs/rubrics-judge.md``): the clip's reference captions as
evidence of what the clip contains, **leaving one out**: a reference caption judged as a system is
never shown as its own evidence, and a model caption is shown all references but one (drawn per
clip from the seed), so every caption is judged on the same amount of evidence; optionally the
audio; the caption; the criteria as ``C1..Cn``, in an order shuffled per clip and sample from the
seed (the same order for every caption of the clip, so position effects cancel in the paired
differences). A reference caption that the rubric was built from (known for run folders) is not
judged: its criteria quote it verbatim.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lalm_bench.errors import InputError, LalmBenchError, OutputExistsError, first_line
from lalm_bench.io import OutputOptions, check_folder_writable
from lalm_bench.llm.base import AudioPart, ChatModel, Message, Sampling, TextPart
from lalm_bench.llm.options import LLMOptions
from lalm_bench.llm.steps import StepReply, call_step, is_fatal
from lalm_bench.rubrics.data import Clip, ClipSet, load_baselines, load_clotho, read_clip_audio
from lalm_bench.rubrics.judge import prompts
from lalm_bench.rubrics.judge.config import REFERENCES, JudgeConfig
from lalm_bench.rubrics.judge.schema import ERROR, JudgeRecord, JudgeSettings, criterion_id, reply_model
from lalm_bench.rubrics.judge.scoring import AGGREGATION_RULE, score_rows, summarize, verdict_rows
from lalm_bench.rubrics.rubric_io import LoadedRubric, load_rubric
from lalm_bench.runs import RunFolder, read_records
from lalm_bench.runs.folder import INFORMATIONAL, settings_diff

FORMAT = "lalm-bench/rubrics-judge/1"
ModelFactory = Callable[[str, LLMOptions], ChatModel]
OnRecord = Callable[[JudgeRecord], None]
SUMMARY_NAME = "summary.json"
TABLE_NAMES = ("scores", "verdicts")


def output_files(folder: Path, table_format: str) -> dict[str, Path]:
    """The files a judge run writes into its folder at the end of every call."""
    ext = "parquet" if table_format == "parquet" else "csv"
    return {"summary": folder / SUMMARY_NAME, **{t: folder / f"{t}.{ext}" for t in TABLE_NAMES}}


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    from lalm_bench.llm.options import make_chat_model

    return make_chat_model(spec, llm)


class JudgeResult(BaseModel):
    """The summary (written as ``summary.json``), the per-caption and per-rating rows, and what this
    call did (``call``: units processed, judge errors among them, units resumed from the log)."""

    format: str = FORMAT
    summary: dict[str, Any]
    scores: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    call: dict[str, int]


@dataclass(frozen=True)
class Unit:
    """One caption judged once."""

    system: str
    clip: Clip
    caption_index: int
    caption: str
    judge: str
    sample: int
    evidence: tuple[int, ...]
    order: tuple[int, ...]

    def key(self) -> tuple[str, str, int, str, int]:
        return (self.system, self.clip.file_name, self.caption_index, self.judge, self.sample)


@dataclass
class SystemInput:
    name: str
    path: Path | None  # None: the references
    captions: dict[str, str]
    counts: dict[str, Any]


def _text(value: str | None) -> str:
    return "" if value is None else str(value)


class JudgeJob:
    """One ``rubrics judge`` call: validated inputs, the judges and the run folder (locked)."""

    def __init__(self, cfg: JudgeConfig, output: OutputOptions, model_factory: ModelFactory | None = None):
        self.cfg, self.output = cfg, output
        self.factory = model_factory or default_model_factory
        self.rubric: LoadedRubric | None = None
        self.clipset: ClipSet | None = None
        self.clips: list[Clip] = []
        self.systems: list[SystemInput] = []
        self.excluded: dict[str, int] = {}
        self.units: list[Unit] = []
        self.todo: list[Unit] = []
        self.records: list[JudgeRecord] = []
        self.resumed = 0
        self.settings: JudgeSettings | None = None
        self.models: dict[str, ChatModel] = {}
        self.model_info: dict[str, Any] = {}
        self.server_of: dict[str, str] = {}
        self.folder: RunFolder | None = None
        self.files = output_files(Path(output.path), cfg.table_format)
        self.t0 = time.perf_counter()
        self.warnings: list[str] = []  # printed once every input has been checked

    # ---- before any request ------------------------------------------------------------------
    def validate(self) -> None:
        cfg = self.cfg
        if not cfg.judges:
            raise InputError("give --judge-model (provider/model; repeat it for several judges)")
        dup = [j for j, k in Counter(cfg.judges).items() if k > 1]
        if dup:
            raise InputError(f"--judge-model {dup[0]} given twice; use --samples to repeat a judge")
        if cfg.samples < 1 or cfg.llm.concurrency < 1 or cfg.seed < 0 or cfg.bootstrap < 0:
            raise InputError("--samples and --concurrency must be >= 1; --seed and --bootstrap >= 0")
        if cfg.cannot_assess not in ("skip", "fail"):
            raise InputError(f"--cannot-assess {cfg.cannot_assess!r}: expected skip or fail")
        if cfg.table_format not in ("parquet", "csv"):
            raise InputError(f"--table-format {cfg.table_format!r}: expected parquet or csv")
        sel = cfg.clips
        if sel.start < 0 or (sel.limit is not None and sel.limit < 1):
            raise InputError("--start must be >= 0 and --limit >= 1")
        if not cfg.captions and not cfg.references:
            raise InputError("nothing to judge: give --captions FILE (repeatable) and/or --references")
        names = [c.name for c in cfg.captions]
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ +-]*", name):
                raise InputError(f"--name {name!r}: use letters, digits, spaces, '.', '_', '+' or '-'")
        dup = [n for n, k in Counter(names).items() if k > 1]
        if dup:
            raise InputError(f"system name {dup[0]!r} is used twice; label the files with --name")
        if cfg.references and REFERENCES in names:
            raise InputError(f"the name {REFERENCES!r} is taken by --references; give the file another --name")
        urls = cfg.llm.base_urls
        if len(urls) > 1 and len(urls) != len(cfg.judges):
            raise InputError(
                f"{len(urls)} --base-url for {len(cfg.judges)} --judge-model: give one server for all judges, "
                "or one per judge (in the same order)"
            )
        check_folder_writable(self.output.path, "--output-dir")

    def prepare(self) -> None:
        """Validate inputs, load rubric, clips and captions, plan the units, build the judges, lock and
        check the run folder. No requests."""
        from lalm_bench.io import sha256_file

        self.validate()
        cfg, sel = self.cfg, self.cfg.clips
        self.rubric = rubric = load_rubric(cfg.rubric)
        if rubric.total_weight <= 0:
            raise InputError(f"{rubric.label}: every criterion has weight 0; nothing to score")
        self.clipset = clipset = load_clotho(sel.split, sel.csv, sel.audio_dir, sel.dataset_revision)
        end = None if sel.limit is None else sel.start + sel.limit
        window = clipset.clips[sel.start : end]
        if not window:
            raise InputError(f"no clips selected: {sel.split} has {len(clipset.clips)} clips, --start {sel.start}")
        if cfg.with_audio and not clipset.audio_dir.is_dir():
            raise InputError(f"--judge-with-audio: audio folder {clipset.audio_dir} not found (give --audio-dir)")
        all_names = {c.file_name for c in clipset.clips}
        in_window = {c.file_name for c in window}
        for src in cfg.captions:
            captions = load_baselines(src.path)
            if not captions:
                raise InputError(f"{src.path}: no captions (the file has no rows)")
            not_in = [n for n in captions if n not in all_names]
            matched = [n for n in captions if n in in_window]
            if not matched:
                raise InputError(
                    f"{src.path}: no file_name matches a selected clip of the {sel.split} split "
                    f"({len(not_in)} of {len(captions)} are not in the split at all)"
                )
            counts = {
                "rows": len(captions),
                "not_in_dataset": len(not_in),
                "not_in_dataset_examples": not_in[:5],
                "outside_selection": len(captions) - len(not_in) - len(matched),
                "judged_clips": len(matched),
                "empty_captions": sum(not captions[n].strip() for n in matched),
            }
            self.systems.append(SystemInput(src.name, Path(src.path), captions, counts))
            if not_in:
                self.warnings.append(
                    f"{src.path}: {len(not_in)} of {len(captions)} captions name clips that are not in the "
                    f"{sel.split} split (e.g. {not_in[0]!r}); they are counted, not judged"
                )
        covered = {n for s in self.systems for n in s.captions}
        self.clips = [c for c in window if not self.systems or c.file_name in covered]
        if cfg.references:
            if rubric.sources and rubric.sources_split in (None, sel.split):
                judged = {c.file_name for c in self.clips}
                self.excluded = {clip: k for clip, k in rubric.sources.items() if clip in judged}
            n_refs = sum(len([t for t in c.captions if t.strip()]) for c in self.clips)
            self.systems.append(
                SystemInput(
                    REFERENCES,
                    None,
                    {},
                    {
                        "captions": n_refs - len(self.excluded),
                        "excluded_rubric_sources": len(self.excluded),
                        "sources_known": rubric.kind in ("run_folder", "records"),
                    },
                )
            )
        self.units = self._plan()
        self.settings = JudgeSettings(
            rubric_sha256=rubric.sha256,
            split=sel.split,
            start=sel.start,
            limit=sel.limit,
            clips_csv_sha256=sha256_file(clipset.csv_path),
            dataset_revision=clipset.revision,
            systems=[
                {"name": s.name, "captions_sha256": sha256_file(s.path) if s.path else None} for s in self.systems
            ],
            references=cfg.references,
            excluded_references=self.excluded,
            judges=list(cfg.judges),
            samples=cfg.samples,
            per_criterion=cfg.per_criterion,
            with_audio=cfg.with_audio,
            shuffle=cfg.shuffle,
            temperature=cfg.sampling.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            seed=cfg.seed,
            prompt_version=prompts.PROMPT_VERSION,
        )
        urls = cfg.llm.base_urls
        for i, spec in enumerate(cfg.judges):
            llm = replace(cfg.llm, base_urls=(urls[i],)) if len(urls) > 1 else cfg.llm
            self.models[spec] = model = self.factory(spec, llm)
            describe = getattr(model, "describe", None)
            self.model_info[spec] = describe() if callable(describe) else {"name": spec}
            self.server_of[spec] = urls[i] if len(urls) > 1 else "default"
        self._open_folder()
        for w in self.warnings:
            print(f"warning: {w}", file=sys.stderr)

    def _plan(self) -> list[Unit]:
        cfg, split = self.cfg, self.cfg.clips.split
        n = len(self.rubric.items) if self.rubric else 0
        units = []
        for clip in self.clips:
            refs = [i for i, t in enumerate(clip.captions, 1) if t.strip()]
            left_out = random.Random(f"{cfg.seed}:{split}:{clip.file_name}:evidence").choice(refs) if refs else None
            captions: list[tuple[str, int, str, tuple[int, ...]]] = []
            for s in self.systems:
                if s.name == REFERENCES:
                    for k in refs:
                        if self.excluded.get(clip.file_name) != k:
                            captions.append((s.name, k, clip.captions[k - 1], tuple(i for i in refs if i != k)))
                elif clip.file_name in s.captions:
                    ev = tuple(i for i in refs if i != left_out)
                    captions.append((s.name, 0, _text(s.captions[clip.file_name]), ev))
            for sample in range(cfg.samples):
                order = list(range(n))
                if cfg.shuffle:
                    random.Random(f"{cfg.seed}:{split}:{clip.file_name}:{sample}").shuffle(order)
                for system, k, text, ev in captions:
                    for judge in cfg.judges:
                        units.append(Unit(system, clip, k, text, judge, sample, ev, tuple(order)))
        return units

    def _open_folder(self) -> None:
        assert self.settings is not None
        folder = RunFolder(
            Path(self.output.path),
            extra=list(
                dict.fromkeys(p for f in ("parquet", "csv") for p in output_files(Path(self.output.path), f).values())
            ),
        )
        folder.acquire()
        try:
            try:
                resume = folder.check(
                    self.settings.model_dump(mode="json"), overwrite=self.output.overwrite, kind="judge run"
                )
            except OutputExistsError as exc:  # this job has no --run-name: another folder is the other way
                raise OutputExistsError(str(exc).replace("--run-name to start", "another --output-dir for")) from None
            records = (
                read_records(folder.log_path, JudgeRecord, key=lambda r: r.key(), what="judge record") if resume else []
            )
            planned = {u.key(): u for u in self.units}
            for r in records:
                if r.key() not in planned:
                    raise InputError(f"{folder.log_path}: a record ({r.key()!r}) is not part of this run")
        except BaseException:
            folder.release()
            raise
        self.folder, self.records, self.resumed = folder, records, len(records)
        done = {r.key() for r in records}
        self.todo = [u for u in self.units if u.key() not in done]

    # ---- running -------------------------------------------------------------------------------
    async def run_async(self, on_record: OnRecord | None = None) -> None:
        """Every remaining unit (or until a fatal error, which is raised after cleanup)."""
        from lalm_bench.runs import RunLog, run_pool

        assert self.folder is not None
        folder = self.folder
        if not folder.manifest_path.exists() or not self.records or self._settings_changed():
            folder.write_manifest(self._manifest())
        servers = sorted(set(self.server_of.values()))
        limits = {s: asyncio.Semaphore(self.cfg.llm.concurrency) for s in servers}
        log: RunLog[JudgeRecord] = RunLog(folder.log_path)

        def on_result(unit: Unit, record: JudgeRecord) -> None:
            log.append(record)
            folder.record_written()
            self.records.append(record)
            if on_record is not None:
                on_record(record)

        try:
            await run_pool(
                self.todo,
                lambda u: self.judge_unit(u, limits[self.server_of[u.judge]]),
                on_result,
                concurrency=self.cfg.llm.concurrency * len(servers),
            )
        finally:
            log.close()
            for m in self.models.values():  # their HTTP clients belong to this event loop
                with contextlib.suppress(Exception):
                    await m.aclose()

    @functools.cached_property
    def _read_audio(self) -> Callable[[Clip], AudioPart]:
        assert self.clipset is not None
        return functools.lru_cache(maxsize=8)(functools.partial(read_clip_audio, self.clipset))

    async def judge_unit(self, unit: Unit, limit: asyncio.Semaphore) -> JudgeRecord:
        """Judge one caption against every criterion; judge errors are recorded, fatal errors raise."""
        assert self.rubric is not None
        t0 = time.perf_counter()
        n = len(self.rubric.items)
        verdicts: list[str] = [ERROR] * n
        reasons: list[str | None] = [None] * n
        replies: list[StepReply] = []
        error_kind = error = None
        audio = None
        if self.cfg.with_audio:
            try:
                audio = await asyncio.to_thread(self._read_audio, unit.clip)
            except InputError as exc:
                error_kind, error = "audio", first_line(exc)
        if error is None:
            batches = [[j] for j in unit.order] if self.cfg.per_criterion else [list(unit.order)]
            evidence = [unit.clip.captions[i - 1] for i in unit.evidence]
            results = await asyncio.gather(*(self._ask(unit, b, evidence, audio, limit) for b in batches))
            for batch, (parsed, reply) in zip(batches, results, strict=True):
                replies.append(reply)
                if parsed is None:
                    if error is None:
                        error_kind = "invalid" if (reply.raw is not None or reply.raw_attempts) else "call"
                        error = reply.error or "the judge call failed"
                    continue
                by_id = {v.id: v for v in parsed.verdicts}
                for i, j in enumerate(batch):
                    v = by_id[criterion_id(i)]
                    verdicts[j], reasons[j] = v.verdict, v.reason
                reply.parsed = None  # the verdicts and reasons are the parsed reply; the raw text stays
        from lalm_bench.manifest import utc_now

        return JudgeRecord(
            system=unit.system,
            clip=unit.clip.file_name,
            caption_index=unit.caption_index,
            caption=unit.caption,
            judge=unit.judge,
            sample=unit.sample,
            order=list(unit.order),
            evidence=list(unit.evidence),
            with_audio=audio is not None,
            status="error" if ERROR in verdicts else "ok",
            error_kind=error_kind,  # type: ignore[arg-type]
            error=error,
            verdicts=verdicts,  # type: ignore[arg-type]
            reasons=reasons,
            replies=replies,
            seconds=round(time.perf_counter() - t0, 3),
            finished_utc=utc_now(),
        )

    async def _ask(
        self, unit: Unit, batch: list[int], evidence: list[str], audio: AudioPart | None, limit: asyncio.Semaphore
    ) -> tuple[Any, StepReply]:
        assert self.rubric is not None
        cfg = self.cfg
        criteria = [self.rubric.items[j]["criterion"] for j in batch]
        text = prompts.judge_prompt(unit.caption, evidence, criteria, with_audio=audio is not None)
        content = (audio, TextPart(text)) if audio is not None else (TextPart(text),)
        messages = [Message.text("system", prompts.SYSTEM), Message("user", content)]
        sampling = Sampling(
            temperature=cfg.sampling.temperature,
            top_p=cfg.sampling.top_p,
            max_tokens=cfg.sampling.max_tokens,
            seed=cfg.seed + unit.sample,
        )
        extra = {"prompt_version": prompts.PROMPT_VERSION, "step": "judge", "seed": cfg.seed, "sample": unit.sample}
        res, reply = await call_step(
            self.models[unit.judge],
            messages,
            schema=reply_model(len(batch)),
            sampling=sampling,
            cache_key_extra=extra,
            limit=limit,
        )
        return (res.parsed if res is not None else None), reply

    def close(self) -> None:
        """Release the run folder and close the judges (idempotent)."""
        if self.folder is not None:
            self.folder.release()
        for m in self.models.values():
            with contextlib.suppress(Exception):
                asyncio.run(m.aclose())

    def _settings_changed(self) -> bool:
        assert self.folder is not None and self.settings is not None
        old = self.folder.read_settings()
        return old is None or bool(settings_diff(old, self.settings.model_dump(mode="json"), INFORMATIONAL))

    def _manifest(self, **extra: Any) -> dict[str, Any]:
        from lalm_bench.manifest import build_manifest

        cfg, clipset, rubric = self.cfg, self.clipset, self.rubric
        assert clipset is not None and rubric is not None and self.settings is not None
        inputs: list[str | Path] = [rubric.path, clipset.csv_path, *(s.path for s in self.systems if s.path)]
        return build_manifest(
            "rubrics judge",
            parameters=cfg.parameters(),
            inputs=inputs,
            model={"judges": list(cfg.judges), "providers": self.model_info},
            settings=self.settings.model_dump(mode="json"),
            prompt_version=prompts.PROMPT_VERSION,
            rubric=rubric.identity(),
            dataset={
                "name": "clotho",
                "split": cfg.clips.split,
                "csv": str(clipset.csv_path),
                "audio_dir": str(clipset.audio_dir),
                "revision": clipset.revision,
                "start": cfg.clips.start,
                "limit": cfg.clips.limit,
                "clips": len(self.clips),
            },
            log=self.folder.log_path.name if self.folder else "log.jsonl",
            **extra,
        )

    # ---- results -------------------------------------------------------------------------------
    def result(self) -> JudgeResult:
        """The summary and the tables, from every record of the log."""
        cfg, rubric = self.cfg, self.rubric
        assert rubric is not None
        weights = [float(it["weight"]) for it in rubric.items]
        order = {u.key(): i for i, u in enumerate(self.units)}
        records = sorted(self.records, key=lambda r: order[r.key()])
        names = [s.name for s in self.systems]
        scoring = summarize(
            records,
            weights=weights,
            systems=names,
            judges=list(cfg.judges),
            policy=cfg.cannot_assess,
            bootstrap=cfg.bootstrap,
            seed=cfg.seed,
        )
        summary = scoring.summary
        criteria = [{"index": i, **it} for i, it in enumerate(rubric.items)]
        for entry, item in zip(summary["criteria"], criteria, strict=True):
            entry["criterion"] = item["criterion"]
            entry["weight"] = item["weight"]
        for entry, s in zip(summary["systems"], self.systems, strict=True):
            entry["kind"] = "references" if s.name == REFERENCES else "captions"
            entry["file"] = str(s.path) if s.path else None
            entry["inputs"] = s.counts
            entry["tokens"] = _tokens([r for r in records if r.system == s.name])
        new = self.records[self.resumed :]
        kinds = Counter(r.error_kind for r in records if r.status == "error")
        ceiling = next((e for e in summary["systems"] if e["name"] == REFERENCES), None)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "prompt_version": prompts.PROMPT_VERSION,
            "complete": len(records) == len(self.units),
            "rubric": {**rubric.identity(), "criteria": criteria},
            "policy": {
                "cannot_assess": cfg.cannot_assess,
                "score": "weight of met criteria / weight of assessed criteria, per caption; "
                + (
                    "cannot_assess counts as not met"
                    if cfg.cannot_assess == "fail"
                    else "cannot_assess leaves numerator and denominator"
                ),
                "aggregation": AGGREGATION_RULE,
                "judge_errors": "a caption with a judge error on any criterion has no score (counted, never 0)",
                "system_score": "mean over clips of the clip's mean caption score; CI clustered by clip",
                "evidence": "the clip's reference captions but one: a judged reference is never its own "
                "evidence; a model caption sees all but one drawn per clip from the seed",
                "criterion_order": "shuffled per clip and sample from the seed" if cfg.shuffle else "rubric order",
            },
            "clips": {
                "split": cfg.clips.split,
                "selected": len(self.clipset.clips[cfg.clips.start :][: cfg.clips.limit]) if self.clipset else 0,
                "judged": len(self.clips),
                "excluded_references": self.excluded,
            },
            "systems": summary["systems"],
            "human_ceiling": None
            if ceiling is None
            else {"system": REFERENCES, "score": ceiling["score"], "captions": ceiling["scored_captions"]},
            "criteria": summary["criteria"],
            "differences": summary["differences"],
            "agreement": summary["agreement"],
            "run": {
                "folder": str(self.output.path),
                "units": len(self.units),
                "done": len(records),
                "resumed_from": self.resumed,
                "processed": len(new),
                "judge_errors": {k: kinds.get(k, 0) for k in ("call", "invalid", "audio")},
                **_tokens(records),
            },
            "manifest": self._manifest(wall_seconds=round(time.perf_counter() - self.t0, 3)),
        }
        return JudgeResult(
            summary=doc,
            scores=score_rows(scoring.captions, len(cfg.judges) * cfg.samples),
            verdicts=verdict_rows(records, criteria, scoring.groups),
            call={
                "processed": len(new),
                "errors": sum(r.status == "error" for r in new),
                "resumed_from": self.resumed,
            },
        )


def _tokens(records: list[JudgeRecord]) -> dict[str, int]:
    replies = [s for r in records for s in r.replies]
    fresh = [s for s in replies if not s.cached]
    return {
        "calls": len(replies),
        "cache_hits": len(replies) - len(fresh),
        # transport retries: HTTP attempts beyond the completions asked for (a reply and its repair)
        "retries": sum(max(0, s.attempts - max(1, len(s.raw_attempts or []))) for s in fresh),
        "repairs": sum(bool(s.raw_attempts and len(s.raw_attempts) > 1) for s in replies),
        "prompt_tokens": sum(s.prompt_tokens for s in fresh),
        "completion_tokens": sum(s.completion_tokens for s in fresh),
    }


def run_judge(
    config: JudgeConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    on_start: Callable[[JudgeJob], OnRecord | None] | None = None,
) -> JudgeResult:
    """Check, lock, judge every remaining unit (resuming), and return the summary from the whole log.

    ``on_start(job)`` may return a callback called after each unit (progress bars)."""
    job = JudgeJob(config, output, model_factory)
    try:
        job.prepare()
        callback = on_start(job) if on_start is not None else None
        try:
            asyncio.run(job.run_async(callback))
        except LalmBenchError as exc:
            if is_fatal(exc):
                raise LalmBenchError(
                    f"{first_line(exc)} (the log keeps every finished caption; rerun to resume)"
                ) from exc
            raise
        result = job.result()
    finally:
        job.close()
    return result
