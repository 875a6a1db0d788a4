"""The demo benchmark: deterministic, in the shape predict reads, clips of the parameters it claims."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lalm_bench.datasets.benchmark import BenchmarkColumns, load_benchmark
from lalm_bench.datasets.demo import CATEGORIES, SAMPLE_RATE, write_demo_benchmark


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("demo")
    return write_demo_benchmark(folder, seed=0)


def test_same_seed_same_bytes_other_seed_other_clips(demo, tmp_path):
    again = write_demo_benchmark(tmp_path / "again", seed=0)
    other = write_demo_benchmark(tmp_path / "other", seed=1)
    assert _digest(again.folder) == _digest(demo.folder)
    assert _digest(other.folder) != _digest(demo.folder)
    assert other.items == demo.items


def test_predict_reads_it_and_it_has_the_promised_shape(demo):
    bench = load_benchmark(demo.path, BenchmarkColumns(), audio_root=demo.folder)
    assert 40 <= len(bench.items) <= 80 and bench.columns["answer"] == "answer"
    assert set(Counter(i.category for i in bench.items)) == set(CATEGORIES)
    rows = [json.loads(line) for line in demo.path.read_text().splitlines()]
    for row in rows:
        if row["choices"]:
            assert row["answer"] in row["choices"] and len(set(row["choices"])) == len(row["choices"])
        else:
            assert row["category"] == "open" and row["answer"]
    # some clips serve two questions, never two of one category (mismatched stays a control)
    by_clip: dict[str, list[str]] = {}
    for row in rows:
        by_clip.setdefault(row["audio_path"], []).append(row["category"])
    shared = [cats for cats in by_clip.values() if len(cats) > 1]
    assert len(shared) == demo.shared_clips >= 3
    assert all(len(set(cats)) == len(cats) for cats in by_clip.values())
    # several answers per category: no category is answered by one fixed option
    for cat in CATEGORIES[:-1]:
        assert len({r["answer"] for r in rows if r["category"] == cat}) >= 2, cat


def test_clips_are_16k_mono_and_match_their_truth(demo):
    rows = [json.loads(line) for line in demo.path.read_text().splitlines()]
    silent = 0
    for row in rows:
        samples, rate = sf.read(demo.folder / row["audio_path"], dtype="float64")
        info = sf.info(demo.folder / row["audio_path"])
        assert rate == SAMPLE_RATE and info.channels == 1 and info.subtype == "PCM_16"
        truth = json.loads(row["truth"])
        if truth["kind"] == "silence":
            assert not np.any(samples)
            silent += 1
            assert row["category"] != "presence" or row["answer"] == "No"
        else:
            assert np.sqrt(np.mean(samples**2)) > 1e-3
        if truth["kind"] == "tone" and row["category"] == "pitch":
            spectrum = np.abs(np.fft.rfft(samples))
            assert abs(np.argmax(spectrum) * rate / len(samples) - truth["freq"]) < 2.0
    assert silent >= 6 and demo.silent_clips == 6
