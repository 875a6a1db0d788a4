"""The encoder table (audio/tokens.py) and the per-item flag (audio/arrival.py) on hand-made cases."""

from __future__ import annotations

import pandas as pd
import pytest

from lalm_bench.audio.arrival import classify, describe, unarrived
from lalm_bench.audio.tokens import ENCODERS, SPECIAL_TOKENS_PER_CLIP, encoder_for


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("openai/Qwen/Qwen2-Audio-7B-Instruct", "Qwen2-Audio"),
        ("openai/qwen2-audio", "Qwen2-Audio"),
        ("transformers/Qwen/Qwen2.5-Omni-7B", "Qwen2.5-Omni"),
        ("openai/qwen2_5-omni", "Qwen2.5-Omni"),
        ("openai/Qwen/Qwen3-Omni-30B-A3B-Instruct", "Qwen3-Omni"),
        ("openai/google/gemma-3n-E4B-it", "Gemma 3n"),
        ("transformers/gemma3n", "Gemma 3n"),
        ("openai/mistralai/Voxtral-Mini-3B-2507", "Voxtral"),
        ("mock/listener", "lalm-bench mock models"),
    ],
)
def test_the_encoder_is_found_from_hub_or_served_names(model, name):
    enc = encoder_for(model)
    assert enc is not None and enc.name == name


def test_unknown_models_have_no_encoder_and_a_given_rate_overrides_the_table():
    assert encoder_for("openai/fake") is None and encoder_for("openai/qwen-omni") is None
    given = encoder_for("openai/Qwen/Qwen2-Audio-7B-Instruct", tokens_per_second=12.0)
    assert given is not None and given.name == "given rate" and given.tokens(10) == 120 and given.max_seconds is None


def test_token_counts_follow_the_processors_formulas():
    q2, q25, q3, gemma, vox = (
        encoder_for(m) for m in ("qwen2-audio", "qwen2.5-omni", "qwen3-omni", "gemma-3n", "voxtral")
    )
    assert q2 and q25 and q3 and gemma and vox
    # Whisper frames at 100/s, halved twice: 3000 frames -> 750 tokens (25/s), cut at 30 s by the extractor
    assert q2.tokens(30) == q25.tokens(30) == 750 and q2.tokens(10) == 250 and q2.tokens(1) == 25
    assert q2.tokens(45) == 1125 and q2.tokens(45, cut=True) == 750 and q2.max_seconds == q25.max_seconds == 30
    # Qwen3-Omni: 13 tokens per 100 frames, no cut
    assert q3.tokens(1) == 13 and q3.tokens(30) == 390 and q3.tokens(0.5) == 7 and q3.max_seconds is None
    # Gemma 3n: 188 soft tokens per clip whatever its length, clips cut at 30 s
    assert gemma.tokens(2) == gemma.tokens(29) == gemma.tokens(45) == 188 and gemma.max_seconds == 30
    assert not gemma.shows_cuts
    # Voxtral: 375 tokens per started 30 s block
    assert vox.tokens(10) == 375 and vox.tokens(30) == 375 and vox.tokens(31) == 750
    assert all(e.source for e in ENCODERS)


Q2 = encoder_for("qwen2-audio")
RATE25 = encoder_for("x", tokens_per_second=25)
GEMMA = encoder_for("gemma-3n")
S = SPECIAL_TOKENS_PER_CLIP


@pytest.mark.parametrize(
    ("prompt", "none", "clips", "encoder", "flag"),
    [
        (100 + 250 + 3, 100, [10.0], Q2, "ok"),  # the clip's tokens plus a few markers
        (100 + 2, 100, [10.0], Q2, "dropped"),  # only the markers: the audio never reached the encoder
        (100, 100, [10.0], Q2, "dropped"),
        (100 + 750 + 3, 100, [45.0], Q2, "cut"),  # Qwen2-Audio's own 30 s cut
        (100 + 750 + 3, 100, [45.0], RATE25, "cut"),  # a server that cuts at 30 s
        (100 + 1125 + 3, 100, [45.0], RATE25, "ok"),  # the whole clip
        (100 + 200, 100, [20.0], RATE25, "cut"),  # well below expected: partly arrived
        (100 + 188 + 4, 100, [45.0], GEMMA, "cut"),  # arrived, but Gemma 3n takes 30 s per clip
        (100 + 188 + 4, 100, [12.0], GEMMA, "ok"),
        (100 + 3, 100, [12.0], GEMMA, "dropped"),
        (100 + 5, 100, [0.2], RATE25, "unknown"),  # 5 tokens expected: too short to tell
        (100 + 250 + 250 + 6, 100, [10.0, 10.0], Q2, "ok"),  # two clips, markers each
        (100 + 250 + 6, 100, [10.0, 10.0], Q2, "cut"),  # one of two clips lost
        # without none: only what the table proves
        (400, None, [10.0], Q2, "unknown"),
        (100, None, [10.0], Q2, "cut"),  # fewer tokens in all than the audio alone needs
        (900, None, [45.0], Q2, "cut"),  # longer than Qwen2-Audio takes
        (400, None, [10.0], None, "unknown"),
        # without a table: drops only
        (100 + 2, 100, [10.0], None, "dropped"),
        (100 + 40, 100, [10.0], None, "ok"),
        (100 + 0, 100, [0.5], None, "unknown"),
    ],
)
def test_hand_made_cases(prompt, none, clips, encoder, flag):
    got = classify(prompt, none, clips, encoder)
    assert got.flag == flag, got
    if none is not None:
        assert got.observed == prompt - none


def test_the_probes_read_the_flag_per_condition_and_leave_unarrived_items_out(tmp_path):
    audio, noise, plain = tmp_path / "a.parquet", tmp_path / "n.parquet", tmp_path / "p.parquet"
    pd.DataFrame({"id": ["x", "y", "z", "w"], "audio_arrival": ["ok", "dropped", "ok", None]}).to_parquet(audio)
    pd.DataFrame({"id": ["x", "y", "z", "w"], "audio_arrival": ["ok", "ok", "cut", "unknown"]}).to_parquet(noise)
    pd.DataFrame({"id": ["x", "y", "z", "w"], "model_output": ["a"] * 4}).to_parquet(plain)
    files = [("audio", audio), ("noise", noise), ("none", plain)]
    out, info = unarrived(files, "id", ["w", "x", "y", "z"], keep=False)
    assert out == [False, False, True, True] and info["flagged"] == info["excluded"] == 2
    assert info["by_condition"]["audio"] == {"ok": 2, "cut": 0, "dropped": 1, "unknown": 0, "unflagged": 1}
    assert info["by_condition"]["noise"]["cut"] == 1 and info["by_condition"]["none"] is None
    assert "2 item(s) left out" in (describe(info) or "")
    kept, info2 = unarrived(files, "id", ["w", "x", "y", "z"], keep=True)
    assert kept == [False] * 4 and info2["flagged"] == 2 and info2["excluded"] == 0
    nothing, info3 = unarrived([("none", plain)], "id", ["x"], keep=False)
    assert nothing == [False] and describe(info3) is None
