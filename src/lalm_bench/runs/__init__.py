"""The run machinery every long job shares: run folders with a lock, settings and an append-only log, a
worker pool, and the engine that drives an LLM job through them."""

from lalm_bench.runs.engine import LLMJob, Models, RunEngine, RunSlot, run_job, run_to_end
from lalm_bench.runs.folder import RunFolder, settings_diff
from lalm_bench.runs.log import RunLog, read_records
from lalm_bench.runs.pool import Dispatcher, run_pool

__all__ = [
    "Dispatcher",
    "LLMJob",
    "Models",
    "RunEngine",
    "RunFolder",
    "RunLog",
    "RunSlot",
    "read_records",
    "run_job",
    "run_pool",
    "run_to_end",
    "settings_diff",
]
