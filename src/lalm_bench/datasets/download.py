"""Downloading and extracting hub datasets, and reporting what is present locally.

``huggingface_hub.snapshot_download`` fetches the archives into the hub cache; ``.zip`` archives are
extracted with :mod:`zipfile`, ``.7z`` ones with ``py7zr``, into the snapshot folder. An archive
whose every member already exists there with the right size is skipped, so a rerun after an
interruption only redoes what is missing. The access token (``--token`` or ``HF_TOKEN``) is passed
to the hub client only; it is never printed, logged or written.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.datasets.clotho import DATASETS, HubDataset
from lalm_bench.datasets.snapshots import DatasetNotFoundError, list_snapshots, repo_folder, resolve_snapshot
from lalm_bench.errors import InputError, LalmBenchError, first_line
from lalm_bench.progress import progress_bar


@dataclass
class DownloadReport:
    dataset: str
    repo_id: str
    snapshot: Path
    archives: dict[str, str] = field(default_factory=dict)  # archive -> extracted | skipped | missing

    @property
    def missing(self) -> list[str]:
        """Archives the snapshot should hold and does not (not downloaded)."""
        return [a for a, what in self.archives.items() if what == "missing"]

    def require_complete(self) -> None:
        """Raise a one-line error when an archive is missing: a download that left one out failed."""
        if not self.missing:
            return
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        names = ", ".join(self.missing)
        raise LalmBenchError(
            f"{len(self.missing)} of {len(self.archives)} archives are not in {self.snapshot}: {names}"
            + (
                "; HF_HUB_OFFLINE is set, so nothing was downloaded: unset it and run the command again"
                if offline
                else "; run the command again (what is there is kept), or check --dataset-revision"
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "repo_id": self.repo_id,
            "snapshot": str(self.snapshot),
            "revision": self.snapshot.name,
            "archives": self.archives,
        }


def get_dataset(name: str) -> HubDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None


def _scrub(message: str, token: str | None) -> str:
    return message.replace(token, "***") if token else message


def download_dataset(
    name: str = "clotho",
    *,
    revision: str | None = None,
    token: str | None = None,
    captions_only: bool = False,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> DownloadReport:
    """Download a dataset snapshot into the hub cache and extract its archives there."""
    from lalm_bench.hfcache import hub_cache_dir

    ds = get_dataset(name)
    token = token or os.environ.get("HF_TOKEN") or None
    archives = ds.archives(captions_only)
    try:
        import huggingface_hub
        from huggingface_hub import snapshot_download

        if not progress:
            huggingface_hub.utils.disable_progress_bars()

        snapshot = Path(
            snapshot_download(
                ds.repo_id,
                repo_type="dataset",
                revision=revision,
                cache_dir=str(Path(cache_dir).expanduser() if cache_dir else hub_cache_dir()),
                token=token,
                allow_patterns=[*archives, "*.md", ".gitattributes"],
            )
        )
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the hub raises many kinds: offline, 401/403/404, network
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        raise LalmBenchError(
            f"cannot download {ds.repo_id}: {_scrub(first_line(exc), token)}"
            + ("; HF_HUB_OFFLINE is set, unset it to download" if offline else "")
            + ("" if token else "; if the dataset needs a token, pass --token or set HF_TOKEN")
        ) from None
    report = DownloadReport(ds.name, ds.repo_id, snapshot)
    for archive in archives:
        report.archives[archive] = extract_archive(snapshot / archive, snapshot, progress=progress)
    return report


def extract_archive(archive: Path, dest: Path, progress: bool = True) -> str:
    """Extract a .zip or .7z into ``dest`` unless all its files are there; returns what happened."""
    if not archive.exists():
        return "missing"
    suffix = archive.suffix.lower()
    try:
        if suffix == ".zip":
            return _extract_zip(archive, dest, progress)
        if suffix == ".7z":
            return _extract_7z(archive, dest, progress)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # corrupt or truncated archives
        raise LalmBenchError(f"{archive}: cannot extract ({first_line(exc)}); delete it and download again") from None
    raise InputError(f"{archive}: unsupported archive type {suffix!r}")


def _complete(dest: Path, members: list[tuple[str, int]]) -> bool:
    for name, size in members:
        target = dest / name
        if not target.is_file() or target.stat().st_size != size:
            return False
    return True


def _extract_zip(archive: Path, dest: Path, progress: bool) -> str:
    import zipfile

    with zipfile.ZipFile(archive) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if _complete(dest, [(i.filename, i.file_size) for i in infos]):
            return "skipped"
        with progress_bar(progress, f"extracting {archive.name}", len(infos), unit="files") as advance:
            for info in infos:
                target = dest / info.filename
                if not (target.is_file() and target.stat().st_size == info.file_size):
                    zf.extract(info, dest)
                advance(1)
    return "extracted"


def _extract_7z(archive: Path, dest: Path, progress: bool) -> str:
    import py7zr
    from py7zr.callbacks import ExtractCallback

    with py7zr.SevenZipFile(archive, mode="r") as zf:
        files = [f for f in zf.list() if f.is_file]
        if _complete(dest, [(f.filename, int(f.uncompressed)) for f in files]):
            return "skipped"
        with progress_bar(progress, f"extracting {archive.name}", len(files), unit="files") as advance:

            class _Progress(ExtractCallback):
                def report_start_preparation(self) -> None: ...
                def report_start(self, processing_file_path: str, processing_bytes: str) -> None: ...
                def report_update(self, decompressed_bytes: str) -> None: ...
                def report_warning(self, message: str) -> None: ...
                def report_postprocess(self) -> None: ...

                def report_end(self, processing_file_path: str, wrote_bytes: str) -> None:
                    advance(1)

            zf.extractall(path=dest, callback=_Progress())
    return "extracted"


def _count_csv_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def dataset_status(cache_dir: str | Path | None = None, revision: str | None = None) -> dict[str, Any]:
    """Per dataset and split: snapshot, captions CSV (clip count), audio archive, extracted audio files."""
    from lalm_bench.hfcache import hub_cache_dir

    cache = Path(cache_dir).expanduser() if cache_dir else hub_cache_dir()
    out: dict[str, Any] = {"cache_dir": str(cache), "datasets": {}}
    for ds in DATASETS.values():
        entry: dict[str, Any] = {
            "repo_id": ds.repo_id,
            "folder": str(repo_folder(ds.repo_id, "dataset", cache)),
            "snapshots": [p.name for p in list_snapshots(ds.repo_id, "dataset", cache)],
            "snapshot": None,
            "revision": None,
            "problem": None,
            "download_command": ds.download_command(revision),
            "splits": {},
        }
        try:
            snap = resolve_snapshot(ds.repo_id, revision, "dataset", cache)
            entry.update(snapshot=str(snap), revision=snap.name)
        except DatasetNotFoundError as exc:
            snap = None
            entry["problem"] = str(exc)
        for split in ds.splits:
            info: dict[str, Any] = {
                "captions_csv": None,
                "clips": None,
                "audio_archive": False,
                "audio_files": 0,
            }
            if snap is not None:
                csv_path = snap / ds.captions_file(split)
                if csv_path.is_file():
                    info["captions_csv"] = str(csv_path)
                    info["clips"] = _count_csv_rows(csv_path)
                info["audio_archive"] = (snap / ds.audio_archive(split)).is_file()
                audio_dir = snap / split
                if audio_dir.is_dir():
                    info["audio_files"] = sum(1 for p in audio_dir.iterdir() if p.suffix.lower() == ".wav")
            info["audio_complete"] = info["clips"] is not None and info["audio_files"] >= info["clips"] > 0
            entry["splits"][split] = info
        out["datasets"][ds.name] = entry
    return out
