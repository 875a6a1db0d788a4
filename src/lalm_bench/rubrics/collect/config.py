"""``rubrics collect`` settings: which run files to read and how to write their final records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATTERN = "*.json"
RUN_LOG_PATTERN = "*/log.jsonl"


@dataclass(frozen=True)
class CollectConfig:
    """Read ``pattern`` under ``src_dir`` (default ``*.json``, else the run logs ``*/log.jsonl``);
    ``wrap_list`` writes each final record as a one-element list (the seed's format)."""

    src_dir: Path = Path("stoch")
    pattern: str | None = None
    wrap_list: bool = False
