"""The ``clotho-refs`` job end to end: find the captions, check outputs, measure, write, summarise."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError
from lalm_bench.references.agreement import AgreementResult, ReferenceConfig, run_reference_agreement

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
                ("summary", "json"),
            )
        }

    def load(self, config: ReferenceConfig) -> CaptionTable:
        from lalm_bench.datasets import load_caption_table, load_clotho

        if self.clotho:
            return load_clotho(self.path, self.label)
        return load_caption_table(
            self.path, clip_column=config.clip_column, caption_column=config.caption_column, split=self.label
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "captions"


def plan_inputs(config: ReferenceConfig) -> InputPlan:
    """Resolve the captions file (hub cache or ``--csv``), the split and the output name."""
    from lalm_bench.datasets.clotho import CLOTHO, check_split, clotho_csv_path
    from lalm_bench.io import require_file

    if config.csv is None:
        split = check_split(config.split or "evaluation")
        path = clotho_csv_path(split, config.revision)
        dataset = {
            "name": "clotho",
            "source": "hub-cache",
            "repo_id": CLOTHO.repo_id,
            "revision": path.parent.name,
        }
        return InputPlan(path, _safe(config.name or "clotho"), split, True, dataset)
    if config.revision:
        raise InputError("--revision selects a snapshot in the hub cache; it cannot be combined with --csv")
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


def clotho_refs_command(
    config: ReferenceConfig,
    *,
    output_dir: Path = Path("."),
    plot: Path | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    embedder: Any = None,
) -> AgreementResult:
    """What ``lalm-bench clotho-refs`` does; shared by the CLI and the seed-compatible script.

    All checks (split, dataset present, outputs writable, device) happen before any model work, and
    the files are written only once everything is computed, so a failure leaves no partial output.
    """
    from lalm_bench.embeddings.model import check_backend, parse_devices
    from lalm_bench.embeddings.options import embedder_from_config
    from lalm_bench.io import check_writable, write_csv, write_json

    if config.z_threshold <= 0:
        raise InputError(f"--z-threshold must be positive, got {config.z_threshold}")
    plan = plan_inputs(config)
    config = replace(config, split=plan.label)
    paths = plan.output_paths(output_dir)
    check_writable([*paths.values(), *([Path(plot)] if plot else [])], overwrite)
    if embedder is None:
        if config.device.strip().lower() != "auto":  # "auto" cannot fail; checking it would import torch
            parse_devices(config.device)
        check_backend(config.backend, config.precision)
    table = plan.load(config)
    if embedder is None:
        embedder = embedder_from_config(config, revision=config.model_revision, progress=not quiet)
    result = run_reference_agreement(table, config, embedder, plan.dataset)
    result.summary["files"] = {k: str(v) for k, v in paths.items()} | ({"plot": str(plot)} if plot else {})
    write_csv(paths["pairs"], result.pairs)
    write_csv(paths["outliers"], result.outliers)
    write_csv(paths["caption_outliers"], result.caption_outliers)
    write_json(paths["summary"], result.summary)
    if plot:
        from lalm_bench.references.report import plot_agreement

        plot_agreement(result, plot)
    if not quiet:
        from lalm_bench.references.report import print_summary

        print_summary(result)
    return result
