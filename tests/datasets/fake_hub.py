"""A fake Hugging Face hub cache laid out like the real one (refs/, snapshots/, blobs/)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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
