"""Controls that are controls: ``mismatched`` deranges audio content, and a silent clip's noise is not silence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lalm_bench.audio.conditions import build_condition_audio
from lalm_bench.audio.files import decode_audio_bytes
from lalm_bench.audio.mismatch import content_clusters, mismatch_partners
from lalm_bench.audio.sent import SILENT_CLIP_NOISE_DBFS
from lalm_bench.errors import InputError
from tests.predict.helpers import write_jsonl, write_wav


def _labels(partners, label):
    return [(i, p.partner) for i, p in partners.items() if label[i] == label[p.partner]]


@pytest.mark.parametrize("seed", range(40))
def test_no_item_ever_gets_audio_with_its_own_content(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    ids = [f"q{i}" for i in range(n)]
    cats = [str(c) for c in rng.choice(["a", "b", "c"], size=n)]
    clips = [f"clip{c}" for c in rng.integers(0, max(2, n // 3), size=n)]  # several questions per clip
    try:
        partners = mismatch_partners(ids, cats, seed, clips)
    except InputError as exc:  # only when one clip holds every item
        assert len(set(clips)) == 1, exc
        return
    label = dict(zip(ids, clips, strict=True))
    assert set(partners) == set(ids)
    assert not _labels(partners, label)
    within = [p.partner for p in partners.values() if p.within_category]
    assert len(within) == len(set(within))  # within categories each item's audio is sent once
    assert mismatch_partners(ids[::-1], cats[::-1], seed, clips[::-1]) == partners


def test_two_questions_about_one_clip_are_never_swapped():
    ids, cats, clips = ["q1", "q2", "q3", "q4"], ["s"] * 4, ["A", "A", "B", "C"]
    for seed in range(30):
        partners = mismatch_partners(ids, cats, seed, clips)
        assert partners["q1"].partner not in {"q1", "q2"} and partners["q2"].partner not in {"q1", "q2"}
        assert all(p.within_category for p in partners.values())


def test_a_clip_holding_most_of_a_category_spills_over_to_other_categories():
    ids = ["a1", "a2", "a3", "b1", "x1", "x2"]
    cats = ["s", "s", "s", "s", "m", "m"]
    clips = ["A", "A", "A", "B", "X", "Y"]
    partners = mismatch_partners(ids, cats, 3, clips)
    label = dict(zip(ids, clips, strict=True))
    assert not _labels(partners, label)
    assert sum(not partners[i].within_category for i in ("a1", "a2", "a3")) == 2  # 3 A, 1 B: one A pairs with B


def test_no_derangement_is_one_error_naming_the_items():
    with pytest.raises(InputError, match=r"no derangement.*'q1'"):
        mismatch_partners(["q1", "q2", "q3"], ["s", "t", "s"], 0, ["A", "A", "A"])


def test_without_content_labels_the_derangement_is_unchanged():
    rng = np.random.default_rng(1)
    ids = [f"id{i}" for i in range(50)]
    cats = [str(c) for c in rng.choice(["x", "y", "z"], size=50)]
    assert mismatch_partners(ids, cats, 9) == mismatch_partners(ids, cats, 9, [f"u{i}" for i in range(50)])


def test_content_clusters_join_items_sharing_any_file(tmp_path):
    a = write_wav(tmp_path / "a.wav", 0.2, freq=300)
    b = write_wav(tmp_path / "b.wav", 0.2, freq=500)
    a_copy = tmp_path / "a_copy.wav"
    a_copy.write_bytes(a.read_bytes())  # another path, the same bytes
    c = write_wav(tmp_path / "c.wav", 0.2, freq=700)
    labels = content_clusters([[a], [a_copy], [b, c], [c], [tmp_path / "missing.wav"], [None]])
    assert labels[0] == labels[1]
    assert labels[2] == labels[3] != labels[0]
    assert len({labels[4], labels[5], labels[0], labels[2]}) == 4


def test_predict_mismatched_never_sends_an_item_its_own_clip(run_cli, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for k, f in enumerate((300, 500, 700)):
        write_wav(audio / f"clip{k}.wav", 0.3, freq=f)
    (audio / "clip0_again.wav").write_bytes((audio / "clip0.wav").read_bytes())
    rows = [
        {"id": f"q{k}", "audio_path": clip, "question": f"Question {k}?", "choices": ["Yes", "No"],
         "category": "sound", "answer": "Yes"}
        for k, clip in enumerate(["clip0.wav", "clip0.wav", "clip0_again.wav", "clip1.wav", "clip1.wav", "clip2.wav"])
    ]  # fmt: skip
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    out = tmp_path / "preds.parquet"
    res = run_cli("predict", "--benchmark", bench, "--audio-root", audio, "--model", "mock/echo",
                  "--condition", "audio,mismatched", "--output", out, "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    own = pd.read_parquet(tmp_path / "preds_audio.parquet").set_index("id")["audio_sha256"]
    sent = pd.read_parquet(tmp_path / "preds_mismatched.parquet").set_index("id")["audio_sha256"]
    for item in own.index:
        assert sent[item] != own[item], item
    by_hash = own.groupby(own).groups  # items with identical sent audio are one clip
    assert len(by_hash) == 3


def test_a_digitally_silent_clip_gets_noise_at_the_floor_level(tmp_path):
    import soundfile as sf

    sf.write(tmp_path / "silent.wav", np.zeros(8000), 16000, subtype="PCM_16")
    parts, sent = build_condition_audio("noise", ["silent.wav"], root=tmp_path, seed=1, item_id="s")
    _, real = build_condition_audio("audio", ["silent.wav"], root=tmp_path, seed=1, item_id="s")
    assert sent[0].sha256 != real[0].sha256  # the control differs from the clip
    assert sent[0].silent_source and sent[0].noise_dbfs == SILENT_CLIP_NOISE_DBFS
    level = 20 * np.log10(decode_audio_bytes(parts[0].data).rms)
    assert abs(level - SILENT_CLIP_NOISE_DBFS) < 0.1
    assert not real[0].silent_source
    json.loads(sent[0].model_dump_json())


def test_predict_warns_about_silent_clips(run_cli, tmp_path):
    import soundfile as sf

    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "silent.wav", np.zeros(8000), 16000, subtype="PCM_16")
    write_wav(audio / "tone.wav", 0.5)
    rows = [
        {"id": "s", "audio_path": "silent.wav", "question": "Any sound?", "choices": ["Yes", "No"], "answer": "No"},
        {"id": "t", "audio_path": "tone.wav", "question": "Any sound?", "choices": ["Yes", "No"], "answer": "Yes"},
    ]
    bench = write_jsonl(tmp_path / "bench.jsonl", rows)
    res = run_cli("predict", "--benchmark", bench, "--audio-root", audio, "--model", "mock/echo",
                  "--condition", "noise", "--output", tmp_path / "p.parquet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "1 item(s) under noise have a digitally silent clip" in res.stderr + res.stdout
    assert Path(tmp_path / "p_noise.parquet").exists()
