"""Short clips sent as they are are built on the event loop, the rest in a worker thread: the same records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd

from lalm_bench.io import sha256_file
from lalm_bench.predict import ask
from tests.predict.helpers import synthetic_benchmark


def _records(run_cli, tmp_path: Path, out: str, conditions: str) -> pd.DataFrame:
    res = run_cli(
        "predict", "--benchmark", tmp_path / "bench.jsonl", "--model", "mock/listener", "--condition", conditions,
        "--audio-root", tmp_path / "audio", "--output", tmp_path / out, "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    frames = [pd.read_parquet(p) for p in sorted(tmp_path.glob(out.replace(".parquet", "*.parquet")))]
    return pd.concat(frames).sort_values(["condition", "id"]).reset_index(drop=True)


def test_only_small_clips_sent_as_they_are_skip_the_worker_thread(run_cli, tmp_path, monkeypatch):
    synthetic_benchmark(tmp_path, 8)  # clips of 0.5-1.1 s: 16-35 KB
    sizes = {p.name: p.stat().st_size for p in (tmp_path / "audio").glob("*.wav")}
    threshold = sorted(sizes.values())[3]
    threaded: list[str] = []
    real_to_thread = asyncio.to_thread

    async def counting_to_thread(fn, *a, **kw):
        threaded.append(f"{fn.args[0]}:{fn.args[1]}")  # the condition and the item's files
        return await real_to_thread(fn, *a, **kw)

    monkeypatch.setattr(ask, "INLINE_AUDIO_BYTES", threshold)
    monkeypatch.setattr(ask.asyncio, "to_thread", counting_to_thread)
    mixed = _records(run_cli, tmp_path, "mixed.parquet", "audio,noise")
    big = sorted(f"audio:{(name,)}" for name, size in sizes.items() if size > threshold)
    assert sorted(t for t in threaded if t.startswith("audio:")) == big and 0 < len(big) < 8
    assert sum(t.startswith("noise:") for t in threaded) == 8  # noise is always built in a thread

    monkeypatch.setattr(ask, "INLINE_AUDIO_BYTES", -1)  # every clip in a worker thread
    threaded.clear()
    threads = _records(run_cli, tmp_path, "threads.parquet", "audio,noise")
    assert len(threaded) == 16
    cols = ["id", "condition", "error", "model_output", "audio_sha256", "audio_seconds", "audio_sent"]
    pd.testing.assert_frame_equal(mixed[cols], threads[cols])
    audio = mixed[mixed["condition"] == "audio"]
    for digest, name in zip(audio["audio_sha256"], audio["audio_path"], strict=True):
        assert digest == sha256_file(tmp_path / "audio" / name)  # a plain 16-bit WAV is sent as its own bytes
