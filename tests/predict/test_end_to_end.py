"""The five real Clotho clips as a benchmark, all five conditions against the loopback OpenAI server (real
``openai`` client), checked from what the server decoded; then the outputs through ``similarity``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.predict.helpers import CLOTHO_ITEMS, AudioResponder, rms, write_jsonl

CONDITIONS = ["audio", "noise", "silence", "none", "mismatched"]


@pytest.fixture
def clotho_bench(tmp_path: Path, shared_data: Path) -> tuple[Path, Path]:
    return write_jsonl(tmp_path / "clotho_bench.jsonl", CLOTHO_ITEMS), shared_data / "clotho" / "audio" / "evaluation"


def _run(run_cli, bench: Path, root: Path, server: ScriptedOpenAIServer, out: Path, *extra: str):
    return run_cli(
        "predict", "--benchmark", bench, "--audio-root", root, "--model", "openai/qwen-omni",
        "--base-url", server.base_url, "--condition", ",".join(CONDITIONS), "--output", out, *extra,
    )  # fmt: skip


def _requests(responder: AudioResponder) -> dict[tuple[str, tuple[str, ...]], dict]:
    """What the server saw, keyed by (question, SHA-256 of each audio part)."""
    return {(s["question"], tuple(s["sha256"])): s for s in responder.seen}


def test_five_clotho_clips_all_conditions_then_similarity(run_cli, clotho_bench, tmp_path):
    bench, root = clotho_bench
    responder = AudioResponder()
    with ScriptedOpenAIServer(responder) as server:
        res = _run(run_cli, bench, root, server, tmp_path / "preds.parquet")
        assert res.exit_code == 0, res.stderr
        assert "warning: canary" not in res.stderr  # a server that listens raises no alarm
        first = _requests(responder)
        assert len(responder.seen) == len(first) == 25  # one request per item and condition
        rows = {c: pd.read_parquet(tmp_path / f"preds_{c}.parquet") for c in CONDITIONS}

        # identical bytes on a rerun (a fresh run, no response cache: every request is sent again)
        responder.seen.clear()
        res = _run(run_cli, bench, root, server, tmp_path / "again.parquet", "--no-llm-cache", "--quiet")
        assert res.exit_code == 0, res.stderr
        assert _requests(responder).keys() == first.keys()

    questions = {it["id"]: it["question"] for it in CLOTHO_ITEMS}
    originals = {
        it["id"]: [sf.read(root / p, dtype="float32", always_2d=True) for p in np.atleast_1d(it["audio_path"])]
        for it in CLOTHO_ITEMS
    }
    sent: dict[str, dict[str, dict]] = {c: {} for c in CONDITIONS}
    for cond, df in rows.items():
        assert list(df["id"]) == [it["id"] for it in CLOTHO_ITEMS]
        assert (df["condition"] == cond).all() and (df["seed"] == 42).all()
        assert df["error"].isna().all() and df["model_output"].notna().all()
        for row in df.itertuples():
            shas = tuple(row.audio_sha256.split(",")) if row.audio_sha256 else ()
            req = first[(questions[row.id], shas)]  # the server got exactly the audio the row names
            assert [hashlib.sha256(b).hexdigest() for b in req["bytes"]] == list(shas)
            assert row.audio_seconds == pytest.approx(sum(s.shape[0] / r for s, r in req["audio"]))
            assert row.audio_parts == len(req["audio"]) and not row.audio_truncated
            sent[cond][row.id] = {"req": req, "row": row}

    for item, clips in originals.items():
        real = sent["audio"][item]["req"]["audio"]
        assert len(real) == len(clips)
        for (got, rate), (orig, orig_rate) in zip(real, clips, strict=True):
            assert rate == orig_rate and np.array_equal(got, orig)  # the real samples, bit for bit
        for cond in ("noise", "silence"):
            ctrl = sent[cond][item]["req"]["audio"]
            assert [(s.shape, r) for s, r in ctrl] == [(s.shape, r) for s, r in real]  # duration, rate, channels
        for (noise, _), (orig, _) in zip(sent["noise"][item]["req"]["audio"], clips, strict=True):
            assert abs(rms(noise) / rms(orig) - 1) < 0.01 and not np.array_equal(noise, orig)
        assert all(not np.any(s) for s, _ in sent["silence"][item]["req"]["audio"])
        assert sent["none"][item]["req"]["audio"] == [] and sent["none"][item]["row"].audio_parts == 0
        partner = sent["mismatched"][item]["row"].mismatched_with
        assert partner != item and partner in originals
        assert sent["mismatched"][item]["req"]["bytes"] == sent["audio"][partner]["req"]["bytes"]

    noise_shas = [s for r in sent["noise"].values() for s in r["req"]["sha256"]]
    assert len(noise_shas) == len(set(noise_shas)) == 6  # different noise for every item and file
    within = {it["id"]: it["category"] for it in CLOTHO_ITEMS}
    mism = rows["mismatched"].set_index("id")["mismatched_with"].to_dict()
    assert all(within[i] == within[p] for i, p in mism.items() if i != "c5")  # within the category
    details = json.loads(rows["mismatched"].set_index("id").loc["c5", "audio_sent"])
    assert details[0]["partner_within_category"] is False  # the multi-audio item is alone in its group

    manifest = json.loads((tmp_path / "preds_noise.manifest.json").read_text())
    assert manifest["counts"]["ok"] == 5 and manifest["noise"]["dbfs"] is None
    assert manifest["audio"]["multimodal_uuid"] is None and manifest["prompt"]["version"] == "1"
    assert "127.0.0.1" in manifest["model"]["servers"][0]["base_url"]
    canary = manifest["canary"]
    assert canary["warnings"] == [] and set(canary["conditions"]) == set(CONDITIONS)
    assert canary["conditions"]["none"]["mean_prompt_tokens"] < canary["conditions"]["audio"]["mean_prompt_tokens"]

    res = run_cli(
        "similarity", "--noise-file", tmp_path / "preds_noise.parquet",
        "--audio-file", tmp_path / "preds_audio.parquet", "--model", "mock:hash", "--bootstrap", "0",
        "--output", tmp_path / "sim.json", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    sim = json.loads((tmp_path / "sim.json").read_text())
    assert sim["matching"]["matched"] == 5 and sim["overall"]["count"] == 5


def test_truncation_resampling_and_a_fixed_noise_level_reach_the_server(run_cli, clotho_bench, tmp_path):
    bench, root = clotho_bench
    responder = AudioResponder()
    with ScriptedOpenAIServer(responder) as server:
        res = run_cli(
            "predict", "--benchmark", bench, "--audio-root", root, "--model", "openai/m", "--base-url", server.base_url,
            "--condition", "audio,noise,silence", "--max-audio-seconds", "4", "--sample-rate", "16000",
            "--noise-dbfs", "-40", "--limit", "2", "--output", tmp_path / "cut.parquet", "--quiet",
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert len(responder.seen) == 6
    for seen in responder.seen:
        ((samples, rate),) = seen["audio"]
        assert rate == 16000 and samples.shape == (64000, 1)  # 4 s at 16 kHz, for the real clip and its controls
    for cond in ("audio", "noise", "silence"):
        df = pd.read_parquet(tmp_path / f"cut_{cond}.parquet")
        assert df["audio_truncated"].all() and (df["audio_seconds"] == 4.0).all()
        assert (df["audio_original_seconds"] > 19).all()
    levels = sorted(rms(s["audio"][0][0]) for s in responder.seen)
    assert levels[:2] == [0.0, 0.0]  # silence
    assert sum(abs(x / 10 ** (-40 / 20) - 1) < 0.01 for x in levels) == 2  # the noise at -40 dBFS
    manifest = json.loads((tmp_path / "cut_noise.manifest.json").read_text())
    assert manifest["settings"]["noise_dbfs"] == -40.0 and manifest["audio"]["sample_rate"] == 16000
    assert json.loads((tmp_path / "cut_audio.manifest.json").read_text())["settings"]["noise_dbfs"] is None
