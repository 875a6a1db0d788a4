"""The SQLite embedding cache on its own: hits, key sensitivity, concurrent and killed writers."""

from __future__ import annotations

import dataclasses
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lalm_bench.embeddings.cache import (
    DB_NAME,
    EmbeddingCache,
    ModelKey,
    default_cache_dir,
    text_sha256,
    weights_identity,
)

KEY = ModelKey(name="org/model", identity="rev:" + "a" * 40, max_seq_length=256)
RAW_KEY = dataclasses.replace(KEY, normalized=False)  # for vectors that are not unit vectors


def vec(seed: int, dim: int = 8) -> np.ndarray:
    """A unit vector (the cache holds normalized vectors; other lengths read as damage)."""
    v = np.random.default_rng(seed).standard_normal(dim)
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_hit_and_miss(cache_dir: Path) -> None:
    with EmbeddingCache(cache_dir) as cache:
        h1, h2 = text_sha256("a dog barks"), text_sha256("rain")
        assert cache.get(KEY, [h1, h2]) == {}
        cache.put(KEY, [(h1, vec(1), 7)])
        found = cache.get(KEY, [h1, h2])
    assert set(found) == {h1}
    v, tokens = found[h1]
    assert tokens == 7 and v.dtype == np.float32
    np.testing.assert_array_equal(v, vec(1))
    with EmbeddingCache(cache_dir) as again:  # persisted on disk
        assert set(again.get(KEY, [h1, h2])) == {h1}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "org/other"},
        {"identity": "rev:" + "b" * 40},
        {"identity": "sha256:" + "0" * 64},
        {"max_seq_length": 512},
        {"normalized": False},
        {"backend": "openvino"},
        {"precision": "bf16"},
    ],
)
def test_changing_any_key_part_misses(cache_dir: Path, change: dict) -> None:
    h = text_sha256("a dog barks")
    with EmbeddingCache(cache_dir) as cache:
        cache.put(KEY, [(h, vec(1), 5)])
        assert set(cache.get(KEY, [h])) == {h}
        assert cache.get(dataclasses.replace(KEY, **change), [h]) == {}


def test_changing_the_text_misses(cache_dir: Path) -> None:
    with EmbeddingCache(cache_dir) as cache:
        cache.put(KEY, [(text_sha256("a dog barks"), vec(1), 5)])
        assert cache.get(KEY, [text_sha256("a dog barks ")]) == {}
        assert cache.get(KEY, [text_sha256("A dog barks")]) == {}


def test_default_dir_env_and_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("LALM_BENCH_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == ("lalm-bench", "embeddings")


def test_info_and_clear(cache_dir: Path) -> None:
    other = dataclasses.replace(KEY, name="org/other")
    with EmbeddingCache(cache_dir) as cache:
        cache.put(KEY, [(text_sha256(str(i)), vec(i), i) for i in range(5)])
        cache.put(other, [(text_sha256(str(i)), vec(i), i) for i in range(3)])
        info = cache.info()
        assert info["entries"] == 8 and info["bytes"] > 0
        assert {m["name"]: m["entries"] for m in info["models"]} == {"org/model": 5, "org/other": 3}
        assert cache.clear("org/other") == 3
        assert cache.clear("nothing/here") == 0
        assert cache.info()["entries"] == 5
        assert cache.clear() == 5
        assert cache.info() == {**cache.info(), "entries": 0, "models": []}


def test_weights_hash_is_memoised_and_tracks_changes(cache_dir: Path, tmp_path: Path, monkeypatch) -> None:
    model = tmp_path / "model"
    (model / "openvino").mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights-1")
    (model / "openvino" / "openvino_model.bin").write_bytes(b"export")  # a backend export: ignored
    import lalm_bench.io as io_mod

    calls = []
    real = io_mod.sha256_file
    monkeypatch.setattr(io_mod, "sha256_file", lambda p: calls.append(p) or real(p))
    with EmbeddingCache(cache_dir) as cache:
        first = weights_identity(model, cache)
        assert weights_identity(model, cache) == first
        assert len(calls) == 1  # memoised by (path, size, mtime)
        (model / "openvino" / "openvino_model.bin").write_bytes(b"another export")
        assert weights_identity(model, cache) == first
        (model / "model.safetensors").write_bytes(b"weights-2 changed")
        assert weights_identity(model, cache) != first
    assert first.startswith("sha256:")


_WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from lalm_bench.embeddings.cache import EmbeddingCache, ModelKey, text_sha256
    # vectors filled with their index (not unit vectors): a key that does not claim normalized ones
    key = ModelKey(name="org/model", identity="rev:" + "a" * 40, max_seq_length=256, normalized=False)
    cache = EmbeddingCache(sys.argv[1])
    start, stop, batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    forever = len(sys.argv) > 5
    i = start
    while i < stop or forever:
        items = [(text_sha256(str(j)), np.full(64, j, dtype=np.float32), j) for j in range(i, i + batch)]
        cache.put(key, items)
        i += batch
        print(i, flush=True)
    """
)


def _writer(cache_dir: Path, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(cache_dir), *map(str, args)], stdout=subprocess.PIPE, text=True
    )


def _check_consistent(cache_dir: Path) -> dict[bytes, tuple[np.ndarray, int]]:
    conn = sqlite3.connect(cache_dir / DB_NAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with EmbeddingCache(cache_dir) as cache:
        n = cache.info()["entries"]
        found = cache.get(RAW_KEY, [text_sha256(str(j)) for j in range(n + 10_000)])
    assert len(found) == n
    for j in range(n + 10_000):
        got = found.get(text_sha256(str(j)))
        if got is not None:
            assert got[1] == j and np.all(got[0] == j) and got[0].shape == (64,)
    return found


def test_two_concurrent_writers_with_overlapping_keys(cache_dir: Path) -> None:
    EmbeddingCache(cache_dir).close()
    a = _writer(cache_dir, 0, 3000, 50)
    b = _writer(cache_dir, 1500, 4500, 50)  # 1500..3000 written by both
    assert a.wait(120) == 0 and b.wait(120) == 0
    found = _check_consistent(cache_dir)
    assert len(found) == 4500


def test_killed_writer_leaves_a_consistent_cache(cache_dir: Path) -> None:
    EmbeddingCache(cache_dir).close()
    proc = _writer(cache_dir, 0, 0, 200, "forever")
    assert proc.stdout is not None
    done = 0
    deadline = time.monotonic() + 120
    while done < 2000 and time.monotonic() < deadline:  # wait for some committed batches
        done = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    found = _check_consistent(cache_dir)
    # every batch reported as committed is there, and only whole batches are
    assert len(found) >= done and len(found) % 200 == 0
    with EmbeddingCache(cache_dir) as cache:  # and the cache still takes writes
        cache.put(RAW_KEY, [(text_sha256("after"), vec(0, 64), 1)])
        assert text_sha256("after") in cache.get(RAW_KEY, [text_sha256("after")])
