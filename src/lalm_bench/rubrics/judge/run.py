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

from collections.abc import Callable

from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import ModelFactory
from lalm_bench.rubrics.judge.config import JudgeConfig
from lalm_bench.rubrics.judge.job import JudgeJob
from lalm_bench.rubrics.judge.outputs import JudgeResult
from lalm_bench.rubrics.judge.schema import JudgeRecord
from lalm_bench.rubrics.judge.state import JudgeState
from lalm_bench.runs.engine import run_job

OnRecord = Callable[[JudgeRecord], None]


def run_judge(
    config: JudgeConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    on_start: Callable[[JudgeState], OnRecord | None] | None = None,
) -> JudgeResult:
    """Check, lock, judge every remaining unit (resuming), and return the summary from the whole log.

    ``on_start(state)`` may return a callback called after each unit (progress bars)."""
    job = JudgeJob(config, output)
    return run_job(job, model_factory, (lambda: on_start(job.state)) if on_start is not None else None)
