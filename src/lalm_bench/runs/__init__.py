"""The run machinery every long job shares: run folders with a lock, settings and an append-only log."""

from lalm_bench.runs.engine import run_to_end
from lalm_bench.runs.folder import RunFolder, settings_diff
from lalm_bench.runs.log import RunLog, read_records
from lalm_bench.runs.pool import run_pool

__all__ = ["RunFolder", "RunLog", "read_records", "run_pool", "run_to_end", "settings_diff"]
