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

from collections.abc import Callable

from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import ModelFactory
from lalm_bench.rubrics.common.records import RunRecord
from lalm_bench.rubrics.generate.config import GenerateConfig
from lalm_bench.rubrics.generate.job import GenerateJob, GenerateResult
from lalm_bench.runs.engine import run_job

OnRecord = Callable[[RunRecord], None]


def run_generate(
    cfg: GenerateConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    on_start: Callable[[GenerateJob], OnRecord | None] | None = None,
) -> GenerateResult:
    """Check, lock, run every run to its end (resuming), and return the counts.

    ``on_start(job)`` may return a callback called after each clip (progress bars)."""
    job = GenerateJob(cfg, output)
    return run_job(job, model_factory, (lambda: on_start(job)) if on_start is not None else None)
