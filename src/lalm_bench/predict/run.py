"""``predict``: an audio-language model over a benchmark under audio conditions, resumably.

Each condition is its own run, in ``<output stem>.runs/<condition>/``: ``run.json`` (manifest and the
settings that identify the run) and ``log.jsonl`` (one fsynced :class:`PredictRecord` per item). Rerunning
the same command resumes every condition after its logged items; ``--retry-failed`` asks again for the
items whose latest record failed; ``--overwrite`` redoes the runs (the response cache then serves every
request that is unchanged). The Parquet file of a condition is rebuilt from its log at the end of every
call, so it always holds every selected item: failed ones with ``model_output`` null and ``error`` set.

Requests go to one chat model per ``--base-url`` (one for in-process providers); each item goes to the
server with the fewest requests in flight, at most ``--concurrency`` per server. The response-cache key
of a request holds the audio's SHA-256, the condition, the item and the seed, so no two conditions or
items share a cached reply. No multimodal ``uuid`` is sent: a server's media cache keys on the audio bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from lalm_bench.io import OutputOptions
from lalm_bench.llm.options import ModelFactory
from lalm_bench.predict.config import PredictConfig
from lalm_bench.predict.job import PredictJob
from lalm_bench.predict.outputs import PredictResult
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.runs import RunEngine

OnRecord = Callable[[PredictRecord], None]


def run_predict(
    config: PredictConfig,
    output: OutputOptions,
    *,
    model_factory: ModelFactory | None = None,
    progress: bool = False,
    on_record: OnRecord | None = None,
) -> PredictResult:
    """Check, lock, run every condition to its end (resuming), and return the tables and counts (nothing
    is written but the run folders). ``progress``: a bar on stderr; ``on_record``: called after each item."""
    from lalm_bench.progress import progress_bar

    job = PredictJob(config, output)
    with RunEngine(job, model_factory) as engine:
        engine.prepare()
        desc = "predict " + ",".join(config.conditions)
        with progress_bar(progress, desc, len(job.plan()), "items") as advance:

            def record_done(record: PredictRecord) -> None:
                advance(1)
                if on_record is not None:
                    on_record(record)

            engine.run_to_end(record_done)
        return job.result()
