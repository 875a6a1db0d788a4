"""Finding a dataset snapshot in the Hugging Face hub cache, the way ``snapshot_download`` lays it out.

``<cache>/datasets--<owner>--<name>/refs/<branch>`` holds a commit hash and
``snapshots/<commit>/`` the files (symlinks into ``blobs/``). A snapshot is chosen by ``--revision``
(commit, branch or tag), else the commit ``refs/main`` names, else the only snapshot there. Several
snapshots without a ``refs/main`` is an error, never an arbitrary pick.
"""

from __future__ import annotations

from pathlib import Path

from lalm_bench.errors import InputError
from lalm_bench.hfcache import COMMIT, check_revision_name, read_ref, repo_folder


class DatasetNotFoundError(InputError):
    """A dataset (or one of its files) is not in the local cache."""


def list_snapshots(repo_id: str, repo_type: str = "dataset", cache_dir: str | Path | None = None) -> list[Path]:
    snaps = repo_folder(repo_id, repo_type, cache_dir) / "snapshots"
    return sorted(p for p in snaps.iterdir() if p.is_dir()) if snaps.is_dir() else []


def resolve_snapshot(
    repo_id: str,
    revision: str | None = None,
    repo_type: str = "dataset",
    cache_dir: str | Path | None = None,
    download_hint: str = "",
) -> Path:
    """The snapshot folder of a cached hub repo; :class:`DatasetNotFoundError` (one line) if absent."""
    folder = repo_folder(repo_id, repo_type, cache_dir)
    hint = f"; download it with `{download_hint}`" if download_hint else ""
    if revision:
        check_revision_name(revision)
        commit = revision if COMMIT.match(revision) else read_ref(folder, revision)
        snap = folder / "snapshots" / commit if commit else None
        if snap is None or not snap.is_dir():
            searched = snap if snap is not None else folder / "refs" / revision
            raise DatasetNotFoundError(
                f"{repo_id} revision {revision!r} is not in the hub cache (searched {searched}){hint}"
            )
        return snap
    commit = read_ref(folder, "main")
    if commit:
        if not (folder / "snapshots" / commit).is_dir():
            raise DatasetNotFoundError(
                f"{repo_id}: refs/main names snapshot {commit[:12]}, which is not in {folder / 'snapshots'}{hint}"
            )
        return folder / "snapshots" / commit
    snaps = list_snapshots(repo_id, repo_type, cache_dir)
    if len(snaps) == 1:
        return snaps[0]
    if not snaps:
        raise DatasetNotFoundError(
            f"{repo_id} is not downloaded (searched {folder / 'refs' / 'main'} and {folder / 'snapshots'}){hint}"
        )
    names = ", ".join(p.name[:12] for p in snaps)
    raise DatasetNotFoundError(
        f"{repo_id}: {len(snaps)} snapshots in {folder / 'snapshots'} ({names}) and refs/main names none of "
        "them; pick one with --revision"
    )
