"""A loopback server that drops the audio of some items and cuts every clip at 30 s, through the real ``openai``
client: ``predict`` flags each such item, ``accuracy`` and ``similarity`` leave them out (or keep them);
a server that is not deterministic at temperature 0 is caught by the re-ask."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from lalm_bench.llm.dryrun import AudioFaults, Listening, Varying, listening
from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.predict.helpers import write_jsonl

DURATIONS = [3, 5, 8, 12, 20, 35, 45, 6]
DROPPED = {"q1", "q4"}  # their questions say "(drop me)"
CUT = {"q5", "q6"}  # longer than 30 s


def _bench(folder: Path) -> Path:
    (folder / "audio").mkdir()
    rows = []
    for i, d in enumerate(DURATIONS):
        t = np.arange(int(d * 8000)) / 8000
        sf.write(folder / "audio" / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t), 8000, subtype="PCM_16")
        rows.append(
            {
                "id": f"q{i}",
                "audio_path": f"audio/c{i}.wav",
                "question": f"Question {i}: which tone is heard?" + (" (drop me)" if f"q{i}" in DROPPED else ""),
                "choices": ["low", "mid", "high"],
                "category": f"cat{i % 2}",
                "answer": "mid",
            }
        )
    return write_jsonl(folder / "bench.jsonl", rows)


def _predict(run_cli, bench: Path, server: ScriptedOpenAIServer, out: Path, *extra: object):
    return run_cli(
        "predict", "--benchmark", bench, "--model", "openai/fake", "--base-url", server.base_url,
        "--condition", "audio,noise,none", "--output", out, "--llm-cache", out.parent / "cache.sqlite", *extra,
    )  # fmt: skip


def test_dropped_and_cut_audio_is_caught_per_item_and_left_out_of_the_probes(run_cli, tmp_path):
    bench = _bench(tmp_path)
    faults = AudioFaults(drop_match=r"\(drop me\)", cut_s=30.0)
    with ScriptedOpenAIServer(Listening(faults)) as server:
        res = _predict(run_cli, bench, server, tmp_path / "p.parquet", "--audio-tokens-per-second", "25")
    assert res.exit_code == 0, res.stderr
    assert "audio that never arrived under audio: 2 dropped, 2 cut of 8 items" in res.stderr
    assert "audio arrival under audio (given rate): 4 ok, 2 cut, 2 dropped, 0 unknown" in res.stdout
    for cond in ("audio", "noise"):
        table = pd.read_parquet(tmp_path / f"p_{cond}.parquet").set_index("id")
        flags = table["audio_arrival"].to_dict()
        assert {i for i, f in flags.items() if f == "dropped"} == DROPPED
        assert {i for i, f in flags.items() if f == "cut"} == CUT
        assert {i for i, f in flags.items() if f == "ok"} == set(flags) - DROPPED - CUT
        assert table.loc["q6", "audio_tokens"] == 750 + 2  # what the server heard: 30 s and two markers
        assert table.loc["q6", "audio_tokens_expected"] == 45 * 25
        assert table.loc["q1", "audio_tokens"] == 0
    assert pd.read_parquet(tmp_path / "p_none.parquet")["audio_arrival"].isna().all()
    manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
    arrival = manifest["canary"]["arrival"]
    assert arrival["conditions"]["audio"]["dropped"] == 2 and arrival["encoder"]["name"] == "given rate"

    acc = run_cli(
        "accuracy", "--audio-file", tmp_path / "p_audio.parquet", "--noise-file", tmp_path / "p_noise.parquet",
        "--extractor", "none", "-o", tmp_path / "acc.json",
    )  # fmt: skip
    assert acc.exit_code == 0, acc.stderr
    doc = json.loads((tmp_path / "acc.json").read_text())
    assert doc["scored"] == 4 and set(doc["arrival"]["excluded_ids"]) == DROPPED | CUT
    assert doc["arrival"]["by_condition"]["noise"]["cut"] == 2
    assert any("4 item(s) left out" in w for w in doc["warnings"])
    page = run_cli("report", tmp_path / "acc.json", "--audio", "none", "--format", "md", "-o", tmp_path / "t.md")
    assert page.exit_code == 0, page.stderr
    text = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "### Audio that never arrived: predict's per-item flags from prompt tokens" in text
    assert re.search(r"\| noise \| 4 \| 2 \| 2 \| 0 \| 0 \| 4 \| 4 \|", text), text
    kept = run_cli(
        "accuracy", "--audio-file", tmp_path / "p_audio.parquet", "--noise-file", tmp_path / "p_noise.parquet",
        "--extractor", "none", "-o", tmp_path / "acc_all.json", "--keep-unarrived",
    )  # fmt: skip
    assert kept.exit_code == 0, kept.stderr
    doc = json.loads((tmp_path / "acc_all.json").read_text())
    assert doc["scored"] == 8 and doc["arrival"]["flagged"] == 4 and doc["arrival"]["excluded"] == 0

    sim = run_cli(
        "similarity", "--audio-file", tmp_path / "p_audio.parquet", "--noise-file", tmp_path / "p_noise.parquet",
        "--model", "mock:hash", "--bootstrap", "0", "-o", tmp_path / "sim.json",
    )  # fmt: skip
    assert sim.exit_code == 0, sim.stderr
    doc = json.loads((tmp_path / "sim.json").read_text())
    assert doc["matching"]["audio_arrival"]["excluded"] == 4 and len(doc["detailed"]) == 4
    assert "left out" in sim.stdout


def test_the_canary_says_when_the_server_is_not_deterministic_at_temperature_0(run_cli, tmp_path):
    bench = _bench(tmp_path)
    with ScriptedOpenAIServer(Varying(listening, 1.0)) as server:
        res = _predict(run_cli, bench, server, tmp_path / "v.parquet", "--determinism-check", "2", "--limit", "3")
        asked = len(server.requests)
    assert res.exit_code == 0, res.stderr
    assert asked == 3 * 3 + 2  # two items asked again
    assert "not deterministic at temperature 0: 2 of 2 items asked again under audio" in res.stderr
    check = json.loads((tmp_path / "v_audio.manifest.json").read_text())["canary"]["determinism"]
    assert check["deterministic"] is False and check["differing_items"] == ["q0", "q1"]

    with ScriptedOpenAIServer(listening) as server:
        res = _predict(run_cli, bench, server, tmp_path / "d.parquet", "--determinism-check", "2", "--limit", "3")
    assert res.exit_code == 0, res.stderr
    assert "temperature 0: 2 item(s) asked again under audio gave byte-identical answers" in res.stdout
    check = json.loads((tmp_path / "d_audio.manifest.json").read_text())["canary"]["determinism"]
    assert check["deterministic"] is True

    with ScriptedOpenAIServer(listening) as server:  # by default a small call is not re-asked
        res = _predict(run_cli, bench, server, tmp_path / "s.parquet", "--limit", "3")
        assert len(server.requests) == 9
    check = json.loads((tmp_path / "s_audio.manifest.json").read_text())["canary"]["determinism"]
    assert check["checked"] is False and "fewer than 30" in check["reason"]
