"""``rubrics collect`` settings: which run files to read and how to write their final records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lalm_bench.rubrics.common import RUBRICS_DIR

DEFAULT_PATTERN = "*.json"
RUN_LOG_PATTERN = "*/log.jsonl"
#: ``rubrics generate``'s output folder: ``deter/`` and ``stoch/`` hold the run folders.
GENERATE_LOG_PATTERN = "*/*/log.jsonl"
#: Tried in order when no ``--pattern`` is given; the first that matches a file wins.
PATTERNS = (DEFAULT_PATTERN, RUN_LOG_PATTERN, GENERATE_LOG_PATTERN)
DEFAULT_DST_DIR = RUBRICS_DIR / "collected"


@dataclass(frozen=True)
class CollectConfig:
    """Read ``pattern`` under ``src_dir`` (default: the first of :data:`PATTERNS` that matches: results
    files, run logs, or the run logs of a ``rubrics generate`` output folder); ``wrap_list`` writes each
    final record as a one-element list (the original scripts' format). ``src_dir`` defaults to where
    ``rubrics generate`` writes."""

    src_dir: Path = RUBRICS_DIR
    pattern: str | None = None
    wrap_list: bool = False
