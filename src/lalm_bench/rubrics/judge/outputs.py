"""What a judge run writes and returns: its files, the summary and tables from the whole log, its manifest."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lalm_bench.llm.calls import structured_counts
from lalm_bench.rubrics.judge import prompts
from lalm_bench.rubrics.judge.applicability import APPLICABILITY_RULE
from lalm_bench.rubrics.judge.config import REFERENCES
from lalm_bench.rubrics.judge.ratings import AGGREGATION_RULE
from lalm_bench.rubrics.judge.schema import JudgeRecord
from lalm_bench.rubrics.judge.scoring import Scoring, score_rows, summarize, verdict_rows
from lalm_bench.rubrics.judge.state import JudgeState

FORMAT = "lalm-bench/rubrics-judge/2"
HUMAN_LEVEL_NOTE = (
    "each reference caption judged against the others (leave-one-out): the level of one human caption, "
    "not a ceiling; a model can exceed it"
)
SUMMARY_NAME = "summary.json"
TABLE_NAMES = ("scores", "verdicts")


def output_files(folder: Path, table_format: str) -> dict[str, Path]:
    """The files a judge run writes into its folder at the end of every call."""
    ext = "parquet" if table_format == "parquet" else "csv"
    return {"summary": folder / SUMMARY_NAME, **{t: folder / f"{t}.{ext}" for t in TABLE_NAMES}}


class JudgeResult(BaseModel):
    """The summary (written as ``summary.json``), the per-caption and per-rating rows, and what this
    call did (``call``: units processed, judge errors among them, units resumed from the log)."""

    format: str = FORMAT
    summary: dict[str, Any]
    scores: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    call: dict[str, int]


def run_manifest(state: JudgeState, **extra: Any) -> dict[str, Any]:
    """The manifest of the run (``run.json``, and the summary's ``manifest``); ``extra`` adds keys."""
    from lalm_bench.manifest import build_manifest

    cfg, clipset, rubric = state.cfg, state.clipset, state.rubric
    assert clipset is not None and rubric is not None and state.settings is not None
    inputs: list[str | Path] = [rubric.path, clipset.csv_path, *(s.path for s in state.systems if s.path)]
    return build_manifest(
        "rubrics judge",
        parameters=cfg.parameters(),
        inputs=inputs,
        model={"judges": list(cfg.judges), "providers": state.model_info},
        settings=state.settings.model_dump(mode="json"),
        prompt_version=prompts.PROMPT_VERSION,
        rubric=rubric.identity(),
        dataset=clipset.describe(cfg.clips.start, cfg.clips.limit, len(state.clips)),
        log=state.run.folder.log_path.name if state.run else "log.jsonl",
        **extra,
    )


def build_result(state: JudgeState) -> JudgeResult:
    """The summary and the tables, from every record of the log."""
    cfg, rubric = state.cfg, state.rubric
    assert rubric is not None
    order = {u.key(): i for i, u in enumerate(state.units)}
    records = sorted(state.records, key=lambda r: order[r.key()])
    scoring = summarize(
        records,
        weights=[float(it["weight"]) for it in rubric.items],
        systems=[s.name for s in state.systems],
        judges=list(cfg.judges),
        policy=cfg.cannot_assess,
        bootstrap=cfg.bootstrap,
        seed=cfg.seed,
        reference_system=REFERENCES,
    )
    criteria = [{"index": i, **it} for i, it in enumerate(rubric.items)]
    _label(scoring, state, criteria, records)
    new = state.records[state.resumed :]
    return JudgeResult(
        summary=_summary(state, scoring, criteria, records),
        scores=score_rows(scoring.captions, len(cfg.judges) * cfg.samples),
        verdicts=verdict_rows(records, criteria, scoring.groups, scoring.applicability),
        call={
            "processed": len(new),
            "errors": sum(r.status == "error" for r in new),
            "resumed_from": state.resumed,
        },
    )


def _label(scoring: Scoring, state: JudgeState, criteria: list[dict[str, Any]], records: list[JudgeRecord]) -> None:
    """Name the criteria and systems of the scoring summary: text, weight, file, input counts, tokens."""
    summary = scoring.summary
    for entry, item in zip(summary["criteria"], criteria, strict=True):
        entry["criterion"] = item["criterion"]
        entry["weight"] = item["weight"]
    for entry, s in zip(summary["systems"], state.systems, strict=True):
        entry["kind"] = "references" if s.name == REFERENCES else "captions"
        entry["file"] = str(s.path) if s.path else None
        entry["inputs"] = s.counts
        entry["tokens"] = text_tokens([r for r in records if r.system == s.name])


def _policy(state: JudgeState) -> dict[str, Any]:
    """How the numbers of the summary are made, in words."""
    cfg = state.cfg
    return {
        "cannot_assess": cfg.cannot_assess,
        "score": "weight of met criteria / weight of applicable criteria, per caption; "
        + (
            "every criterion applies; cannot_assess counts as not met"
            if cfg.cannot_assess == "fail"
            else "applicability decided once per (clip, criterion): " + APPLICABILITY_RULE
        ),
        "coverage": "per caption: the share of the applicable weight that the judge assessed (met or not_met)",
        "aggregation": AGGREGATION_RULE,
        "judge_errors": "a caption with a judge error on any criterion has no score (counted, never 0)",
        "system_score": "mean over clips of the clip's mean caption score; CI clustered by clip",
        "evidence": "the clip's reference captions but one: a judged reference is never its own "
        "evidence; a model caption sees all but one drawn per clip from the seed",
        "criterion_order": "shuffled per clip and sample from the seed" if cfg.shuffle else "rubric order",
    }


def _run_counts(state: JudgeState, records: list[JudgeRecord]) -> dict[str, Any]:
    """What the run has done so far and what this call added."""
    kinds = Counter(r.error_kind for r in records if r.status == "error")
    return {
        "folder": str(state.output.path),
        "units": len(state.units),
        "done": len(records),
        "resumed_from": state.resumed,
        "processed": len(state.records) - state.resumed,
        "judge_errors": {k: kinds.get(k, 0) for k in ("call", "invalid", "audio")},
        **text_tokens(records),
        "structured_output": {
            judge: structured_counts(s for r in records if r.judge == judge for s in r.replies)
            for judge in state.cfg.judges
        },
    }


def _summary(
    state: JudgeState, scoring: Scoring, criteria: list[dict[str, Any]], records: list[JudgeRecord]
) -> dict[str, Any]:
    """The document written as ``summary.json``."""
    cfg, rubric, summary = state.cfg, state.rubric, scoring.summary
    assert rubric is not None
    human = next((e for e in summary["systems"] if e["name"] == REFERENCES), None)
    human_level = (
        None
        if human is None
        else {"system": REFERENCES, "score": human["score"], "captions": human["scored_captions"],
              "note": HUMAN_LEVEL_NOTE}
    )  # fmt: skip
    return {
        "format": FORMAT,
        "prompt_version": prompts.PROMPT_VERSION,
        "complete": len(records) == len(state.units),
        "rubric": {**rubric.identity(), "criteria": criteria},
        "policy": _policy(state),
        "clips": {
            "split": cfg.clips.split,
            "selected": len(state.clipset.clips[cfg.clips.start :][: cfg.clips.limit]) if state.clipset else 0,
            "judged": len(state.clips),
            "excluded_references": state.excluded,
        },
        "systems": summary["systems"],
        "human_level": human_level,
        "human_ceiling": human_level,  # deprecated alias of human_level (format 1's name), removed in format 3
        "applicability": summary["applicability"],
        "criteria": summary["criteria"],
        "differences": summary["differences"],
        "agreement": summary["agreement"],
        "run": _run_counts(state, records),
        "manifest": run_manifest(state, wall_seconds=round(time.perf_counter() - state.t0, 3)),
    }


def text_tokens(records: list[JudgeRecord]) -> dict[str, int]:
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
