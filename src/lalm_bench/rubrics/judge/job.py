"""One judge run: validated inputs, the judges, the locked run folder, every remaining unit judged."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError, OutputExistsError
from lalm_bench.io import OutputOptions, check_folder_writable
from lalm_bench.llm.interface import AudioPart, ChatModel
from lalm_bench.llm.options import LLMOptions
from lalm_bench.rubrics.common.clips import Clip, ClipSet, load_baselines, load_clip_set, read_clip_audio
from lalm_bench.rubrics.common.rubric_files import LoadedRubric, load_rubric
from lalm_bench.rubrics.judge import ask, prompts
from lalm_bench.rubrics.judge.config import REFERENCES, JudgeConfig
from lalm_bench.rubrics.judge.outputs import JudgeResult, build_result, output_files, run_manifest
from lalm_bench.rubrics.judge.plan import SystemInput, Unit, plan_units
from lalm_bench.rubrics.judge.schema import JudgeRecord, JudgeSettings
from lalm_bench.runs import RunFolder, read_records
from lalm_bench.runs.folder import INFORMATIONAL, settings_diff

ModelFactory = Callable[[str, LLMOptions], ChatModel]
OnRecord = Callable[[JudgeRecord], None]


def default_model_factory(spec: str, llm: LLMOptions) -> ChatModel:
    from lalm_bench.llm.options import make_chat_model

    return make_chat_model(spec, llm)


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
        check_folder_writable(self.output.path, "-o/--output")

    def prepare(self) -> None:
        """Validate inputs, load rubric, clips and captions, plan the units, build the judges, lock and
        check the run folder. No requests."""
        from lalm_bench.io import sha256_file

        self.validate()
        cfg, sel = self.cfg, self.cfg.clips
        self.rubric = rubric = load_rubric(cfg.rubric)
        if rubric.total_weight <= 0:
            raise InputError(f"{rubric.label}: every criterion has weight 0; nothing to score")
        self.clipset = clipset = load_clip_set(sel.split, sel.csv, sel.audio_dir, sel.dataset_revision)
        end = None if sel.limit is None else sel.start + sel.limit
        window = clipset.clips[sel.start : end]
        if not window:
            raise InputError(f"no clips selected: {sel.split} has {len(clipset.clips)} clips, --start {sel.start}")
        if cfg.with_audio and not clipset.audio_dir.is_dir():
            raise InputError(f"--judge-with-audio: audio folder {clipset.audio_dir} not found (give --audio-dir)")
        all_names = {c.file_name for c in clipset.clips}
        in_window = {c.file_name for c in window}
        for src in cfg.captions:
            captions = load_baselines(src.path, src.id_column, src.text_column)
            if not captions:
                raise InputError(f"{src.path}: no captions (the file has no rows)")
            not_in = [n for n in captions if n not in all_names]
            matched = [n for n in captions if n in in_window]
            if not matched:
                raise InputError(
                    f"{src.path}: no {src.id_column} matches a selected clip of the {sel.split} split "
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
        self.units = plan_units(self)
        self.settings = JudgeSettings(
            rubric_sha256=rubric.sha256,
            split=sel.split,
            start=sel.start,
            limit=sel.limit,
            clips_csv_sha256=sha256_file(clipset.csv_path),
            dataset_revision=clipset.revision,
            systems=[
                {
                    "name": s.name,
                    "captions_sha256": sha256_file(s.path) if s.path else None,
                    **next((c.columns() for c in cfg.captions if c.name == s.name), {}),
                }
                for s in self.systems
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
                raise OutputExistsError(str(exc).replace("--run-name to start", "another -o for")) from None
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
            folder.write_manifest(run_manifest(self))
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
        return await ask.judge_unit(self, unit, limit)

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

    # ---- results -------------------------------------------------------------------------------
    def result(self) -> JudgeResult:
        """The summary and the tables, from every record of the log."""
        return build_result(self)
