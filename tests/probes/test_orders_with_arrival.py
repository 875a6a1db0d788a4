"""Option orders together with the audio-arrival flags: the flags are judged on the benchmark's order, the
items whose audio never arrived leave the option-order statistics with the rest of accuracy."""

from __future__ import annotations

import json

import pandas as pd

from lalm_bench.llm.dryrun import AudioFaults, Listening
from lalm_bench.llm.testserver import ScriptedOpenAIServer
from tests.audio_arrival.test_end_to_end import DROPPED, _bench


def test_unarrived_items_leave_the_option_order_statistics(run_cli, tmp_path):
    bench = _bench(tmp_path)
    with ScriptedOpenAIServer(Listening(AudioFaults(drop_match=r"\(drop me\)"))) as server:
        res = run_cli(
            "predict", "--benchmark", bench, "--model", "openai/fake", "--base-url", server.base_url,
            "--condition", "audio,none", "--permute-choices", "2", "--output", tmp_path / "p.parquet",
            "--audio-tokens-per-second", "25", "--determinism-check", "0",
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    table = pd.read_parquet(tmp_path / "p_audio.parquet")
    base = table[table["permutation_index"] == 0].set_index("id")
    assert {i for i, f in base["audio_arrival"].items() if f == "dropped"} == DROPPED
    assert table.loc[table["permutation_index"] > 0, "audio_arrival"].isna().all()  # judged on order 0 only
    out = tmp_path / "acc.json"
    res = run_cli(
        "accuracy", "--audio-file", tmp_path / "p_audio.parquet", "--condition", f"none={tmp_path / 'p_none.parquet'}",
        "--extractor", "none", "--output", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    assert doc["scored"] == 8 - len(DROPPED) and sorted(doc["arrival"]["excluded_ids"]) == sorted(DROPPED)
    for cond in ("audio", "none"):
        block = doc["option_order"]["conditions"][cond]["overall"]
        assert block["items"] == 8 - len(DROPPED) and block["orders_per_item"] == [3]
