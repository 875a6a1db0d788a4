"""Partial-audio conditions (head:S, tail:S pad/cut, reversed, shuffled:S): what is sent, how it is named
and recorded, and accuracy's curve against the seconds kept on the demo benchmark with ``mock/listener``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lalm_bench.audio.conditions import build_condition_audio, partial_audio
from lalm_bench.audio.files import Audio
from lalm_bench.audio.sent import AudioSent, PartialSpec, condition_slug, parse_condition, parse_partial
from lalm_bench.errors import InputError
from tests.predict.helpers import write_wav


def _ramp(frames: int, rate: int = 100) -> Audio:
    return Audio((np.arange(frames, dtype=np.float32) / frames).reshape(-1, 1), rate)


def test_names_parse_both_spellings_and_map_to_safe_file_names():
    assert parse_condition("head:5") == "head:5" == parse_condition("head-5") == parse_condition("HEAD:5:pad")
    assert parse_condition("tail:2.5:cut") == "tail:2.5:cut" == parse_condition("tail-2p5-cut")
    assert parse_condition("shuffled:1") == "shuffled:1" and parse_condition("reversed") == "reversed"
    assert condition_slug("head:2.5:cut") == "head-2p5-cut" and condition_slug("noise") == "noise"
    assert parse_partial("head:5") == PartialSpec("head", 5.0, "pad")
    for bad in ("head", "head:0", "head:-1", "head:5:zero", "reversed:2", "shuffled:1:cut", "tail:x", "loud"):
        with pytest.raises(ValueError):
            parse_condition(bad)


def test_head_and_tail_pad_or_cut_reversed_and_shuffled():
    a = _ramp(1000)  # 10 s at 100 Hz
    head, kept, _ = partial_audio(a, PartialSpec("head", 3.0, "pad"))
    assert head.frames == 1000 and kept == 3.0
    assert np.array_equal(head.samples[:300], a.samples[:300]) and not head.samples[300:].any()
    cut, kept, _ = partial_audio(a, PartialSpec("head", 3.0, "cut"))
    assert cut.frames == 300 and np.array_equal(cut.samples, a.samples[:300])
    tail, kept, _ = partial_audio(a, PartialSpec("tail", 2.0, "pad"))
    assert not tail.samples[:800].any() and np.array_equal(tail.samples[800:], a.samples[800:]) and kept == 2.0
    longer, kept, _ = partial_audio(a, PartialSpec("head", 30.0, "cut"))
    assert np.array_equal(longer.samples, a.samples) and kept == 10.0  # a head longer than the clip is the clip
    rev, _, _ = partial_audio(a, PartialSpec("reversed"))
    assert np.array_equal(rev.samples, a.samples[::-1])
    shuf, kept, order = partial_audio(a, PartialSpec("shuffled", 3.0), np.random.default_rng(0))
    assert order is not None and sorted(order) == [0, 1, 2, 3] and order != [0, 1, 2, 3]
    starts = [0, 300, 600, 900]
    expect = np.concatenate([a.samples[starts[i] : starts[i] + 300] for i in order])
    assert np.array_equal(shuf.samples, expect) and kept == 10.0


def test_build_condition_audio_records_the_partial_fields_and_old_records_still_read(tmp_path: Path):
    write_wav(tmp_path / "a.wav", 2.0, rate=8000)
    _, sent = build_condition_audio("head:0.5:cut", "a.wav", root=tmp_path, seed=1, item_id="x")
    (rec,) = sent
    assert rec.condition == "head:0.5:cut" and rec.partial == "head" and rec.partial_fill == "cut"
    assert rec.seconds == pytest.approx(0.5) and rec.kept_seconds == pytest.approx(0.5)
    assert rec.original_seconds == pytest.approx(2.0)
    _, sent = build_condition_audio("shuffled:0.5", "a.wav", root=tmp_path, seed=1, item_id="x")
    _, again = build_condition_audio("shuffled:0.5", "a.wav", root=tmp_path, seed=1, item_id="x")
    assert sent[0].segment_order == again[0].segment_order and sent[0].sha256 == again[0].sha256  # seeded
    _, pad = build_condition_audio("head:0.5", "a.wav", root=tmp_path, seed=1, item_id="x")
    assert pad[0].partial_fill == "pad" and pad[0].seconds == pytest.approx(2.0)
    old = rec.model_dump(mode="json")
    for key in ("partial", "partial_seconds", "partial_fill", "kept_seconds", "segment_order"):
        old.pop(key)
    old["condition"] = "audio"
    assert AudioSent.model_validate(old).partial is None  # a record written before these fields existed
    with pytest.raises(InputError):
        build_condition_audio("head:x", "a.wav", root=tmp_path, seed=1, item_id="x")


@pytest.fixture(scope="module")
def listener_heads(tmp_path_factory: pytest.TempPathFactory):
    from lalm_bench.cli import main
    from lalm_bench.datasets.demo import write_demo_benchmark

    folder = tmp_path_factory.mktemp("partial")
    demo = write_demo_benchmark(folder / "bench")
    conditions = "audio,none,head:0.25,head:1,head:3:cut,tail:1,reversed,shuffled:0.5"
    out = folder / "preds.parquet"
    try:
        main(["predict", "--benchmark", str(demo.path), "--model", "mock/listener", "--condition", conditions,
              "--output", str(out), "--quiet"])  # fmt: skip
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    return folder, out


def test_predict_writes_one_safe_file_per_partial_condition(listener_heads):
    folder, _ = listener_heads
    names = sorted(p.name for p in folder.glob("preds_*.parquet"))
    assert names == sorted(
        f"preds_{s}.parquet"
        for s in ("audio", "none", "head-0p25", "head-1", "head-3-cut", "tail-1", "reversed", "shuffled-0p5")
    )
    audio = pd.read_parquet(folder / "preds_audio.parquet")
    cut = pd.read_parquet(folder / "preds_head-3-cut.parquet")
    pad = pd.read_parquet(folder / "preds_head-1.parquet")
    assert set(cut["condition"]) == {"head:3:cut"}
    assert (cut["audio_seconds"] <= 3.0 + 1e-9).all() and np.allclose(pad["audio_seconds"], audio["audio_seconds"])
    sent = [json.loads(s)[0] for s in pad["audio_sent"]]
    assert {s["partial_fill"] for s in sent} == {"pad"} and all(s["kept_seconds"] <= 1.0 + 1e-9 for s in sent)


def test_accuracy_curve_falls_as_the_head_shrinks_and_names_each_items_shortest_head(listener_heads, run_cli):
    folder, _ = listener_heads
    f = {s: folder / f"preds_{s}.parquet" for s in ("audio", "none", "head-0p25", "head-1", "head-3-cut")}
    out = folder / "acc.json"
    res = run_cli(
        "accuracy", "--audio-file", f["audio"], "--condition", f"none={f['none']}",
        "--condition", f"head-0p25={f['head-0p25']}", "--condition", f"head-1={f['head-1']}",
        "--condition", f"head-3-cut={f['head-3-cut']}", "--extractor", "none", "--output", out,
        "--items", folder / "items.csv",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    assert "NaN" not in out.read_text()
    pad = doc["partial_audio"]["curves"]["pad"]
    acc = [p["accuracy"] for p in pad["points"]]
    assert [p["seconds"] for p in pad["points"]] == [0.25, 1.0, None]
    assert acc[0] < acc[1] < acc[2]  # the listener loses accuracy as the head shrinks
    assert all(p["ci95"][0] <= p["accuracy"] <= p["ci95"][1] for p in pad["points"])
    assert "cut" in doc["partial_audio"]["curves"]
    items = pd.read_csv(folder / "items.csv")
    right_all = items["correct_audio"] & items["correct_head-1"] & items["correct_head-0p25"]
    assert (items.loc[right_all, "shortest_head_pad"] == 0.25).all()
    only_one = items["correct_audio"] & items["correct_head-1"] & ~items["correct_head-0p25"]
    assert (items.loc[only_one, "shortest_head_pad"] == 1.0).all()
    assert items.loc[~items["correct_audio"], "shortest_head_pad"].isna().all()
    assert set(doc["reliance"]["controls"]) == {"none"}  # heads do not enter the reliance labels
