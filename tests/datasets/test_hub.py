"""Snapshot resolution in the hub cache: refs/main, the single snapshot, --revision, never a glob pick."""

from __future__ import annotations

import pytest
from tests.datasets.fake_hub import CLOTHO_REPO, REV_A, REV_B

from lalm_bench.datasets.snapshots import DatasetNotFoundError, resolve_snapshot
from lalm_bench.errors import InputError


def test_refs_main_names_the_snapshot_even_when_others_exist(fake_hub):
    fake_hub.add_snapshot({"x.txt": b"old"}, revision=REV_A, ref=None)
    fake_hub.add_snapshot({"x.txt": b"new"}, revision=REV_B, ref="main")
    snap = resolve_snapshot(CLOTHO_REPO)
    assert snap.name == REV_B
    assert (snap / "x.txt").is_symlink()
    assert (snap / "x.txt").read_bytes() == b"new"


def test_single_snapshot_without_refs_main(fake_hub):
    fake_hub.add_snapshot({"x.txt": b"only"}, revision=REV_A, ref=None)
    assert resolve_snapshot(CLOTHO_REPO).name == REV_A


def test_several_snapshots_without_refs_main_is_an_error_not_a_guess(fake_hub):
    fake_hub.add_snapshot({"x.txt": b"1"}, revision=REV_A, ref=None)
    fake_hub.add_snapshot({"x.txt": b"2"}, revision=REV_B, ref=None)
    with pytest.raises(DatasetNotFoundError, match=r"2 snapshots .* --revision"):
        resolve_snapshot(CLOTHO_REPO)


def test_refs_main_pointing_to_a_missing_snapshot_is_an_error_not_a_fallback(fake_hub):
    fake_hub.add_snapshot({"x.txt": b"1"}, revision=REV_A, ref=None)
    (fake_hub.folder() / "refs").mkdir()
    (fake_hub.folder() / "refs" / "main").write_text("c" * 40)
    with pytest.raises(DatasetNotFoundError, match=r"refs/main names snapshot cccccccccccc, which is not in"):
        resolve_snapshot(CLOTHO_REPO)  # refs/main decides: another snapshot is never taken silently


@pytest.mark.parametrize("content", [b"../../evil", b"\xff\xfe not utf-8", b"main"])
def test_a_ref_is_only_ever_a_commit_hash(fake_hub, content):
    fake_hub.add_snapshot({"x.txt": b"1"}, revision=REV_A, ref=None)
    (fake_hub.folder() / "refs").mkdir()
    (fake_hub.folder() / "refs" / "main").write_bytes(content)
    with pytest.raises(InputError, match="does not hold a commit hash"):
        resolve_snapshot(CLOTHO_REPO)


@pytest.mark.parametrize("revision", ["../../etc", "/abs", "a/../../b"])
def test_a_revision_cannot_walk_out_of_refs(fake_hub, revision):
    fake_hub.add_snapshot({"x.txt": b"1"}, revision=REV_A, ref="main")
    with pytest.raises(InputError, match="is not a commit hash, branch or tag name"):
        resolve_snapshot(CLOTHO_REPO, revision=revision)


def test_revision_by_commit_and_by_branch(fake_hub):
    fake_hub.add_snapshot({"x.txt": b"1"}, revision=REV_A, ref="main")
    fake_hub.add_snapshot({"x.txt": b"2"}, revision=REV_B, ref="v2")
    assert resolve_snapshot(CLOTHO_REPO, revision=REV_A).name == REV_A
    assert resolve_snapshot(CLOTHO_REPO, revision="v2").name == REV_B
    with pytest.raises(DatasetNotFoundError, match="revision 'v3' is not in the hub cache"):
        resolve_snapshot(CLOTHO_REPO, revision="v3")
    with pytest.raises(DatasetNotFoundError, match=r"revision 'c+' is not in the hub cache"):
        resolve_snapshot(CLOTHO_REPO, revision="c" * 40)


def test_not_downloaded_names_what_was_searched_and_how_to_download(fake_hub):
    with pytest.raises(DatasetNotFoundError) as err:
        resolve_snapshot(CLOTHO_REPO, download_hint="lalm-bench data download clotho")
    msg = str(err.value)
    assert "\n" not in msg
    assert str(fake_hub.folder() / "refs" / "main") in msg
    assert str(fake_hub.folder() / "snapshots") in msg
    assert "`lalm-bench data download clotho`" in msg


def test_cache_location_follows_hf_home(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "home" / "hub")):
        resolve_snapshot(CLOTHO_REPO)
