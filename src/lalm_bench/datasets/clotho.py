"""Clotho v2.1 as users download it: ``woongvy/clotho-v2.1`` in the hub cache, captions and audio.

After ``lalm-bench data download clotho`` the snapshot folder holds ``clotho_captions_<split>.csv``
(from ``clotho.zip``) and ``<split>/*.wav`` (from ``clotho_audio_<split>.7z``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lalm_bench.datasets.captions import CaptionTable, load_caption_table, read_caption_frame
from lalm_bench.datasets.snapshots import DatasetNotFoundError, repo_folder, resolve_snapshot
from lalm_bench.errors import InputError


@dataclass(frozen=True)
class HubDataset:
    """A dataset repo on the hub and where its files land once extracted."""

    name: str
    repo_id: str
    splits: tuple[str, ...]
    captions_archive: str
    n_captions: int

    def captions_file(self, split: str) -> str:
        return f"{self.name}_captions_{split}.csv"

    def audio_archive(self, split: str) -> str:
        return f"{self.name}_audio_{split}.7z"

    def archives(self, captions_only: bool = False) -> list[str]:
        return [self.captions_archive] + ([] if captions_only else [self.audio_archive(s) for s in self.splits])

    def download_command(self, revision: str | None = None) -> str:
        return f"lalm-bench data download {self.name}" + (f" --revision {revision}" if revision else "")


CLOTHO = HubDataset(
    name="clotho",
    repo_id="woongvy/clotho-v2.1",
    splits=("development", "validation", "evaluation"),
    captions_archive="clotho.zip",
    n_captions=5,
)
CLOTHO_SPLITS = CLOTHO.splits
DATASETS = {CLOTHO.name: CLOTHO}


def check_split(split: str) -> str:
    if split not in CLOTHO_SPLITS:
        raise InputError(f"unknown Clotho split {split!r} (use {', '.join(CLOTHO_SPLITS)})")
    return split


def clotho_csv_path(split: str, revision: str | None = None, cache_dir: str | Path | None = None) -> Path:
    """The captions CSV of ``split`` inside the cached snapshot; one-line error naming what was searched."""
    check_split(split)
    command = CLOTHO.download_command(revision)
    try:
        snap = resolve_snapshot(CLOTHO.repo_id, revision, "dataset", cache_dir, download_hint=command)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(
            f"Clotho v2.1 captions not found: {exc} (or pass --csv PATH to clotho_captions_{split}.csv)"
        ) from exc
    path = snap / CLOTHO.captions_file(split)
    if not path.is_file():
        raise DatasetNotFoundError(
            f"Clotho v2.1 captions not found: searched {path} (clotho.zip not extracted?); run `{command}` "
            f"or pass --csv PATH (cache: {repo_folder(CLOTHO.repo_id, 'dataset', cache_dir)})"
        )
    return path


def load_clotho(path: str | Path, split: str | None = None, min_captions: int = 2) -> CaptionTable:
    """A Clotho captions CSV (``file_name``, ``caption_1`` … ``caption_5``), clips keyed by (split, name)."""
    path = Path(path)
    df = read_caption_frame(path)
    expected = ["file_name"] + [f"caption_{i}" for i in range(1, CLOTHO.n_captions + 1)]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: not a Clotho captions file: missing column(s) {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, df.columns)) or '(none)'}"
        )
    return load_caption_table(path, clip_column="file_name", split=split, min_captions=min_captions, frame=df)
