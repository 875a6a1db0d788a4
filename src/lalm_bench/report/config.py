"""Settings of ``lalm-bench report``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.manifest import DEFAULT_SEED

AUDIO_MODES = ("embed", "link", "none")
FORMATS = ("html", "md", "tex", "csv")
DEFAULT_AUDIO_ITEMS = 10


@dataclass(frozen=True)
class ReportConfig:
    """``paths``: output files or folders of any job; ``labels``: model label → path (``--label NAME=PATH``);
    ``audio``: embed | link | none; ``audio_items``: how many items get players; ``format``: html | md | tex | csv."""

    paths: tuple[Path, ...]
    labels: dict[str, Path] = field(default_factory=dict)
    title: str = "lalm-bench report"
    audio: str = "embed"
    audio_items: int = DEFAULT_AUDIO_ITEMS
    format: str = "html"
    bootstrap: int = 1000
    seed: int = DEFAULT_SEED

    def parameters(self) -> dict[str, Any]:
        return {
            "paths": [str(p) for p in self.paths],
            "labels": {k: str(v) for k, v in self.labels.items()},
            "title": self.title,
            "audio": self.audio,
            "audio_items": self.audio_items,
            "format": self.format,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
        }
