"""Where ``clotho-refs`` reads its captions (hub cache or ``--csv``) and how its outputs are named."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    from lalm_bench.datasets.captions import CaptionTable

_CLOTHO_FILE = re.compile(r"^clotho_captions_(\w+)\.csv$")


@dataclass
class InputPlan:
    """Where the captions come from and how the outputs are named (decided before any work)."""

    path: Path
    name: str
    label: str | None  # the split, or None
    clotho: bool
    dataset: dict[str, Any]

    def output_paths(self, output_dir: Path) -> dict[str, Path]:
        suffix = f"_{self.label}" if self.label else ""
        return {
            kind: Path(output_dir) / f"{self.name}_{kind}{suffix}.{ext}"
            for kind, ext in (
                ("pairs", "csv"),
                ("outliers", "csv"),
                ("caption_outliers", "csv"),
                ("clips", "csv"),
                ("summary", "json"),
            )
        }

    def load(self, config: ClothoRefsConfig) -> CaptionTable:
        from lalm_bench.datasets import load_caption_table, load_clotho

        if self.clotho:
            return load_clotho(self.path, self.label)
        return load_caption_table(
            self.path, clip_column=config.clip_column, caption_column=config.caption_column, split=self.label
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "captions"


def plan_inputs(config: ClothoRefsConfig) -> InputPlan:
    """Resolve the captions file (hub cache or ``--csv``), the split and the output name."""
    from lalm_bench.datasets.clotho import CLOTHO, check_split, clotho_csv_path
    from lalm_bench.io import require_file

    if config.csv is None:
        split = check_split(config.split or "evaluation")
        path = clotho_csv_path(split, config.dataset_revision)
        dataset = {
            "name": "clotho",
            "source": "hub-cache",
            "repo_id": CLOTHO.repo_id,
            "revision": path.parent.name,
        }
        return InputPlan(path, _safe(config.name or "clotho"), split, True, dataset)
    if config.dataset_revision:
        raise InputError("--dataset-revision selects a snapshot in the hub cache; it cannot be combined with --csv")
    path = require_file(config.csv, "captions file")
    m = _CLOTHO_FILE.match(path.name)
    if m and config.caption_column is None and config.clip_column == "file_name":
        split = m.group(1)
        if config.split and config.split != split:
            raise InputError(f"--split {config.split} does not match {path.name} (a {split} file)")
        check_split(split)
        dataset = {"name": "clotho", "source": "csv"}
        return InputPlan(path, _safe(config.name or "clotho"), split, True, dataset)
    name = _safe(config.name or path.stem)
    label = _safe(config.split) if config.split else None
    return InputPlan(path, name, label, False, {"name": name, "source": "csv"})
