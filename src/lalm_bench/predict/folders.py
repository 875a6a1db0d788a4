"""The run folders of a ``predict`` call: each condition's settings, lock and log, and the other conditions' logs."""

from __future__ import annotations

import json

from lalm_bench.audio.sent import condition_slug, sends_audio
from lalm_bench.errors import InputError, LalmBenchError, OutputExistsError, redact_value
from lalm_bench.predict.config import condition_files, runs_folder
from lalm_bench.predict.samples import sample_files
from lalm_bench.predict.schema import TRANSPORT_OPTIONS, PredictRecord, RunSettings
from lalm_bench.predict.state import ConditionRun, PredictState
from lalm_bench.runs import RunFolder, read_records
from lalm_bench.runs.engine import Lock
from lalm_bench.runs.folder import INFORMATIONAL, settings_diff

MISMATCH_KEY = "category|number of audio files"


def run_settings(state: PredictState, condition: str, benchmark_sha256: str) -> RunSettings:
    """What identifies the run of ``condition``: a rerun with the same settings resumes it."""
    cfg = state.cfg
    assert state.benchmark is not None
    from lalm_bench.llm.urls import redact_url

    sends = sends_audio(condition)
    return RunSettings(
        condition=condition,
        model=cfg.model,
        benchmark_sha256=benchmark_sha256,
        columns=state.benchmark.columns,
        prompt_name=state.template.name if cfg.prompt_template is None else "file",
        prompt_version=state.template.version,
        prompt_sha256=state.template.sha256,
        system_prompt=cfg.system_prompt,
        seed=cfg.seed,
        temperature=cfg.sampling.temperature,
        top_p=cfg.sampling.top_p,
        max_tokens=cfg.sampling.max_tokens,
        provider_options=redact_value(
            {k: v for k, v in cfg.llm.provider_options.items() if k not in TRANSPORT_OPTIONS}
        ),
        max_audio_seconds=cfg.max_audio_seconds if sends else None,
        sample_rate=cfg.sample_rate if sends else None,
        noise_dbfs=cfg.noise_dbfs if condition == "noise" else None,
        mismatch_key=MISMATCH_KEY if condition == "mismatched" else None,
        base_urls=[redact_url(u) for u in cfg.llm.base_urls],
    )


def run_folder_name(condition: str, order: int = 0, sample: int = 0) -> str:
    """``audio`` for the benchmark's option order, ``audio.order2`` for the second extra order; ``audio@1``
    (``audio@1.order2``) for the first repeat of ``--samples``."""
    return condition_slug(condition) + (f"@{sample}" if sample else "") + (f".order{order}" if order else "")


def open_run(
    state: PredictState, condition: str, settings: RunSettings, lock: Lock, order: int = 0, sample: int = 0
) -> ConditionRun:
    """Lock the run folder of ``condition``, option ``order`` and repeat ``sample`` (``lock`` releases it at the
    end), check its settings and read its log back (to resume)."""
    output = state.output
    parquet, manifest = sample_files(*condition_files(output.path, condition), sample)
    folder = lock(
        RunFolder(runs_folder(output.path) / run_folder_name(condition, order, sample), another_run="another --output")
    )
    wanted = settings.model_dump(mode="json")
    old = folder.read_settings()
    diff = settings_diff(old, wanted, INFORMATIONAL) if old is not None else []
    if diff and not output.overwrite:
        raise OutputExistsError(
            f"{folder.folder}: its run was made with other settings ({'; '.join(diff)}); pass "
            "--overwrite to redo it, or write elsewhere with another --output"
        )
    resume = folder.check(wanted, overwrite=output.overwrite, kind="predict run")
    records = read_records(folder.log_path, PredictRecord, key=lambda r: r.key, what="predict record") if resume else []
    latest: dict[str, PredictRecord] = {}
    for r in records:
        if r.id not in state.by_id or r.condition != condition:
            raise InputError(
                f"{folder.log_path}: holds item {r.id!r} ({r.condition}), which is not in {state.cfg.benchmark} "
                f"under {condition}; pass --overwrite to redo the run"
            )
        if r.id not in latest or r.attempt > latest[r.id].attempt:
            latest[r.id] = r
    if not resume and not output.overwrite and order == 0:
        existing = [str(p) for p in (parquet, manifest) if p.exists()]
        if existing:
            raise OutputExistsError(
                f"output exists: {', '.join(existing)} and {folder.folder} holds no run that made it "
                "(pass --overwrite to replace it)"
            )
    return ConditionRun(
        folder=folder,
        identity=wanted,
        resumed=len(records),
        condition=condition,
        settings=settings,
        parquet=parquet,
        manifest=manifest,
        latest=latest,
        resumed_from=sum(it.id in latest for it in state.selection),
        order=order,
        sample=sample,
    )


def other_conditions(state: PredictState) -> dict[str, dict[str, PredictRecord]]:
    """Records of the other conditions of this output stem made with the same model and prompts (for the
    canary); read without the lock, torn lines ignored."""
    out: dict[str, dict[str, PredictRecord]] = {}
    root = runs_folder(state.output.path)
    if not state.runs or not root.is_dir():
        return out
    ours = state.runs[0].settings.shared()
    mine = {run_folder_name(r.condition, r.order, r.sample) for r in state.runs}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in mine):
        try:
            settings = RunSettings.model_validate(json.loads((folder / "run.json").read_text("utf-8"))["settings"])
            if settings.shared() != ours or settings.choice_order or condition_slug(settings.condition) != folder.name:
                continue
            records = read_records(folder / "log.jsonl", PredictRecord, repair=False)
        except (OSError, ValueError, KeyError, TypeError, LalmBenchError):
            continue
        latest: dict[str, PredictRecord] = {}
        for r in records:
            if r.id not in latest or r.attempt > latest[r.id].attempt:
                latest[r.id] = r
        out[settings.condition] = {it.id: latest[it.id] for it in state.selection if it.id in latest}
    return out
