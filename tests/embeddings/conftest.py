"""Fixtures for the embedding tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, also set as $LALM_BENCH_CACHE_DIR so nothing touches the user's cache."""
    d = tmp_path / "cache"
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(d))
    return d
