"""``rubrics judge`` as an engine job: its checks, the judges, the run folder, the units still to judge and
the judging of one (the lifecycle is :class:`lalm_bench.runs.RunEngine`'s)."""

from __future__ import annotations

import asyncio
import functools
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, check_folder_writable, sha256_file
from lalm_bench.llm.options import LLMOptions
from lalm_bench.rubrics.common.clips import Clip, load_baselines, load_clip_set, read_clip_audio
from lalm_bench.rubrics.common.rubric_files import load_rubric
from lalm_bench.rubrics.judge import prompts
from lalm_bench.rubrics.judge.ask import judge_unit
from lalm_bench.rubrics.judge.config import REFERENCES, JudgeConfig
from lalm_bench.rubrics.judge.outputs import JudgeResult, build_result, output_files, run_manifest
from lalm_bench.rubrics.judge.plan import plan_units
from lalm_bench.rubrics.judge.schema import JudgeRecord, JudgeSettings
from lalm_bench.rubrics.judge.state import JudgeRun, JudgeState, SystemInput, Unit
from lalm_bench.runs import LLMJob, Models, RunFolder, read_records
from lalm_bench.runs.engine import Lock


class JudgeJob(LLMJob[Unit, JudgeRecord, JudgeRun, JudgeResult]):
    """One ``rubrics judge`` call: validated inputs, the judges and the run folder (locked)."""

    unit = "caption"

    def __init__(self, cfg: JudgeConfig, output: OutputOptions) -> None:
        self.state = JudgeState(cfg, output, files=output_files(Path(output.path), cfg.table_format))
        self.limits: dict[str, asyncio.Semaphore] = {}

    # ---- before any request ------------------------------------------------------------------
    def validate(self) -> None:
        """The flags on their own, before any file is read."""
        cfg = self.state.cfg
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
        check_folder_writable(self.state.output.path, "-o/--output")

    def check(self) -> dict[str, tuple[str, LLMOptions]]:
        """Validate inputs, load rubric, clips and captions, plan the units; the judge of each ``--judge-model``."""
        self.validate()
        window = self._load_rubric_and_clips()
        self._load_captions(window)
        covered = {n for s in self.state.systems for n in s.captions}
        self.state.clips = [c for c in window if not self.state.systems or c.file_name in covered]
        if self.state.cfg.references:
            self._add_references()
        self.state.units = plan_units(self.state)
        self.state.settings = self._settings()
        return self._judges()

    def _load_rubric_and_clips(self) -> list[Clip]:
        """The rubric and the clip set; the selected window of clips."""
        st, cfg, sel = self.state, self.state.cfg, self.state.cfg.clips
        st.rubric = load_rubric(cfg.rubric)
        if st.rubric.total_weight <= 0:
            raise InputError(f"{st.rubric.label}: every criterion has weight 0; nothing to score")
        st.clipset = clipset = load_clip_set(sel.split, sel.csv, sel.audio_dir, sel.dataset_revision)
        end = None if sel.limit is None else sel.start + sel.limit
        window = clipset.clips[sel.start : end]
        if not window:
            raise InputError(f"no clips selected: {sel.split} has {len(clipset.clips)} clips, --start {sel.start}")
        if cfg.with_audio and not clipset.audio_dir.is_dir():
            raise InputError(f"--judge-with-audio: audio folder {clipset.audio_dir} not found (give --audio-dir)")
        if cfg.with_audio:
            st.read_audio = functools.lru_cache(maxsize=8)(functools.partial(read_clip_audio, clipset))
        return window

    def _load_captions(self, window: list[Clip]) -> None:
        """Each ``--captions`` file as a system, with what was matched, left out or empty."""
        st, sel = self.state, self.state.cfg.clips
        assert st.clipset is not None
        all_names = {c.file_name for c in st.clipset.clips}
        in_window = {c.file_name for c in window}
        for src in st.cfg.captions:
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
            st.systems.append(SystemInput(src.name, Path(src.path), captions, counts))
            if not_in:
                st.warnings.append(
                    f"{src.path}: {len(not_in)} of {len(captions)} captions name clips that are not in the "
                    f"{sel.split} split (e.g. {not_in[0]!r}); they are counted, not judged"
                )

    def _add_references(self) -> None:
        """The human references as a system, without those the rubric was built from."""
        st, rubric = self.state, self.state.rubric
        assert rubric is not None
        if rubric.sources and rubric.sources_split in (None, st.cfg.clips.split):
            judged = {c.file_name for c in st.clips}
            st.excluded = {clip: k for clip, k in rubric.sources.items() if clip in judged}
        n_refs = sum(len([t for t in c.captions if t.strip()]) for c in st.clips)
        counts = {
            "captions": n_refs - len(st.excluded),
            "excluded_rubric_sources": len(st.excluded),
            "sources_known": rubric.kind in ("run_folder", "records"),
        }
        st.systems.append(SystemInput(REFERENCES, None, {}, counts))

    def _settings(self) -> JudgeSettings:
        """What identifies the run: a rerun with the same settings resumes it."""
        st, cfg, sel = self.state, self.state.cfg, self.state.cfg.clips
        assert st.rubric is not None and st.clipset is not None
        return JudgeSettings(
            rubric_sha256=st.rubric.sha256,
            split=sel.split,
            start=sel.start,
            limit=sel.limit,
            clips_csv_sha256=sha256_file(st.clipset.csv_path),
            dataset_revision=st.clipset.revision,
            systems=[
                {
                    "name": s.name,
                    "captions_sha256": sha256_file(s.path) if s.path else None,
                    **next((c.columns() for c in st.cfg.captions if c.name == s.name), {}),
                }
                for s in st.systems
            ],
            references=cfg.references,
            excluded_references=st.excluded,
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

    def _judges(self) -> dict[str, tuple[str, LLMOptions]]:
        """One judge per ``--judge-model``: on the one server, or on its own (``--base-url`` per judge)."""
        cfg, urls = self.state.cfg, self.state.cfg.llm.base_urls
        wanted = {}
        for i, spec in enumerate(cfg.judges):
            wanted[spec] = (spec, replace(cfg.llm, base_urls=(urls[i],)) if len(urls) > 1 else cfg.llm)
            self.state.server_of[spec] = urls[i] if len(urls) > 1 else "default"
        return wanted

    def open_runs(self, models: Models, lock: Lock) -> list[JudgeRun]:
        """Lock the run folder (the output folder), check its settings, read its records back."""
        st = self.state
        assert st.settings is not None
        st.models = models
        out = Path(st.output.path)
        self._check_inputs_outside_output()
        extra = dict.fromkeys(p for f in ("parquet", "csv") for p in output_files(out, f).values())
        folder = lock(RunFolder(out, extra=list(extra), another_run="another -o/--output"))
        identity = st.settings.model_dump(mode="json")
        resume = folder.check(identity, overwrite=st.output.overwrite, kind="judge run")
        records = (
            read_records(folder.log_path, JudgeRecord, key=lambda r: r.key(), what="judge record") if resume else []
        )
        planned = {u.key() for u in st.units}
        for r in records:
            if r.key() not in planned:
                raise InputError(f"{folder.log_path}: a record ({r.key()!r}) is not part of this run")
        st.run = JudgeRun(folder=folder, identity=identity, resumed=len(records))
        st.records, st.resumed = records, len(records)
        done = {r.key() for r in records}
        st.todo = [u for u in st.units if u.key() not in done]
        return [st.run]

    def _check_inputs_outside_output(self) -> None:
        """No input may live in the judge's run folder: ``--overwrite`` moves its files aside, and the judge
        would write its own ``log.jsonl`` over a generate run's."""
        st = self.state
        assert st.rubric is not None and st.clipset is not None
        out = Path(st.output.path).resolve()
        inputs = [("--rubric", st.rubric.path), ("--csv", st.clipset.csv_path)]
        inputs += [("--captions", s.path) for s in st.systems if s.path is not None]
        for flag, path in inputs:
            resolved = Path(path).resolve()
            if resolved == out or out in resolved.parents:
                raise InputError(
                    f"--output-dir {st.output.path} holds the {flag} input {path}: write the judge run to "
                    "another folder"
                )

    def ready(self) -> None:
        for w in self.state.warnings:
            print(f"warning: {w}", file=sys.stderr)

    # ---- running -------------------------------------------------------------------------------
    def plan(self) -> list[Unit]:
        return self.state.todo

    def start(self) -> None:
        servers = sorted(set(self.state.server_of.values()))
        self.limits = {s: asyncio.Semaphore(self.state.cfg.llm.concurrency) for s in servers}

    def concurrency(self) -> int:
        return self.state.cfg.llm.concurrency * len(set(self.state.server_of.values()))

    async def step(self, task: Unit) -> JudgeRecord:
        """Judge one caption against every criterion; judge errors are recorded, fatal errors raise."""
        return await judge_unit(self.state, task, self.limits[self.state.server_of[task.judge]])

    def run_of(self, task: Unit) -> JudgeRun:
        assert self.state.run is not None
        return self.state.run

    def manifest(self, run: JudgeRun) -> dict[str, Any]:
        return run_manifest(self.state)

    def commit(self, run: JudgeRun, record: JudgeRecord) -> None:
        self.state.records.append(record)

    # ---- results -------------------------------------------------------------------------------
    def result(self) -> JudgeResult:
        """The summary and the tables, from every record of the log."""
        return build_result(self.state)
