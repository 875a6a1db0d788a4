"""Item 8 and ``cache info``: a damaged cache (embedding or LLM) is named in one warning and the job goes
on without it; ``cache info`` reports it, ``cache clear`` removes it; ``cache info`` only reads."""

from __future__ import annotations

import json
import os
import random

import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.hardening.helpers import (
    CLIPS,
    FAST_OPTIONS,
    read_jsonl,
    run_cli_subprocess,
    write_baselines,
    write_clotho_csv,
)

SIM = ["similarity", "--model", "mock:hash", "--bootstrap", "0", "--quiet"]


def _overwrite(path, offset, data):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def _damage(db, how):
    if how == "header":  # the first page: SQLite no longer recognises the file
        _overwrite(db, 0, b"\x00" * 100)
    else:  # bytes in the middle, where the vectors and the b-tree pages lie
        rng = random.Random(7)
        size = db.stat().st_size
        for page in range(2, size // 4096):
            _overwrite(db, page * 4096 + 8, bytes(rng.getrandbits(8) for _ in range(600)))


@pytest.mark.parametrize("how", ["header", "pages"])
def test_a_damaged_embedding_cache_is_named_skipped_reported_and_cleared(tmp_path, monkeypatch, run_cli, how):
    cache_dir = tmp_path / "embeddings"
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(cache_dir))
    first_run = run_cli_subprocess(*SIM, "--output", tmp_path / "first.json", cwd=tmp_path)  # closes the cache
    assert first_run.returncode == 0, first_run.stderr
    db = cache_dir / "embeddings.sqlite3"
    _damage(db, how)

    code, _, err = run_cli(*SIM, "--output", tmp_path / "second.json")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(db) in warnings[0] and "damaged" in warnings[0]
    assert "cache clear" in warnings[0]
    first = json.loads((tmp_path / "first.json").read_text())
    second = json.loads((tmp_path / "second.json").read_text())
    assert second["overall"] == first["overall"] and second["detailed"] == first["detailed"]  # recomputed

    code, out, err = run_cli("cache", "info")
    assert code == 0, err
    assert f"damaged:  {db}" in out
    code, out, _ = run_cli("cache", "info", "--json")
    assert json.loads(out)["damaged"]
    code, out, err = run_cli("cache", "clear", "--yes")
    assert code == 0, err
    assert f"removed the damaged cache file {db}" in out
    assert not db.exists()
    code, out, _ = run_cli("cache", "info")
    assert code == 0 and "nothing cached there yet" in out
    code, _, err = run_cli(*SIM, "--output", tmp_path / "third.json")  # a new cache is made
    assert code == 0 and "warning" not in err and db.exists()


def test_a_damaged_llm_cache_is_named_and_skipped(tmp_path, monkeypatch, run_cli):
    cache = tmp_path / "llm.sqlite"
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(cache))
    clips = dict(list(CLIPS.items())[:3])
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", clips)
    baseline = write_baselines(tmp_path / "baseline.csv", clips)
    llm = RubricLLM()
    llm.ref_clip.update({cap: name for name, caps in clips.items() for cap in caps})
    with ScriptedOpenAIServer(llm) as server:
        args = [
            "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
            "--base-url", server.base_url, "--output-dir", tmp_path / "out", "--quiet", *FAST_OPTIONS,
        ]  # fmt: skip
        code, _, err = run_cli(*args)
        assert code == 0, err
        _overwrite(cache, 0, b"\x00" * 100)
        code, _, err = run_cli(*args, "--overwrite")
        assert code == 0, err
    records = read_jsonl(tmp_path / "out" / "deter" / "run_0" / "log.jsonl")
    replies = [s for r in records for s in (r["extractor_reply"], r["merge_reply"]) if s]
    assert [r["status"] for r in records] == ["ok"] * 3 and not any(s["cached"] for s in replies)
    warnings = [line for line in err.splitlines() if line.startswith("warning:") and "cache" in line]
    assert len(warnings) == 1 and str(cache) in warnings[0] and "damaged" in warnings[0]
    code, out, _ = run_cli("cache", "info", "--llm")
    assert code == 0 and "damaged:" in out
    code, out, _ = run_cli("cache", "clear", "--llm", "--yes")
    assert code == 0 and "removed the damaged cache file" in out and not cache.exists()


def test_cache_info_only_reads(tmp_path, monkeypatch, run_cli):
    absent = tmp_path / "no" / "cache" / "here"
    code, out, err = run_cli("cache", "info", "--embedding-cache-dir", absent)
    assert code == 0, err
    assert "nothing cached there yet" in out and not (tmp_path / "no").exists()
    code, out, _ = run_cli("cache", "info", "--llm", "--llm-cache", tmp_path / "none" / "llm.sqlite")
    assert code == 0 and "nothing cached" in out and not (tmp_path / "none").exists()

    cache_dir = tmp_path / "embeddings"
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(cache_dir))
    code, _, err = run_cli(*SIM, "--output", tmp_path / "r.json")
    assert code == 0, err
    db = cache_dir / "embeddings.sqlite3"
    before = (sorted(os.listdir(cache_dir)), db.read_bytes(), db.stat().st_mtime_ns)
    db.chmod(0o444)
    cache_dir.chmod(0o555)  # a read-only cache (ineffective as root; the listing below still holds)
    try:
        code, out, err = run_cli("cache", "info")
        assert code == 0, err
        assert "95 vectors" in out or "vectors" in out
    finally:
        cache_dir.chmod(0o755)
        db.chmod(0o644)
    assert (sorted(os.listdir(cache_dir)), db.read_bytes(), db.stat().st_mtime_ns) == before  # no -wal, no -shm
