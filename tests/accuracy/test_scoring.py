"""Accuracy statistics against values computed by hand on tiny tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from lalm_bench.accuracy.scoring import (
    RELIANCE,
    add_holm,
    compare,
    condition_stats,
    expected_by_flipping,
    group_stats,
    needs_audio_test,
    reliance_labels,
)
from lalm_bench.stats.paired_binary import tango_interval

# 8 items in 4 clips (two questions per clip); gold is option 0 of three for every item
CLUSTERS = np.array(["a", "a", "b", "b", "c", "c", "d", "d"], dtype=object)
CHOICE_AUDIO = np.array([0, 0, 0, 1, 0, 0, -1, 0])  # -1: unparsed
CHOICE_NOISE = np.array([1, 0, 2, 2, 0, -1, 0, 1])
CORRECT_AUDIO = CHOICE_AUDIO == 0  # 1 1 1 0 1 1 0 1
CORRECT_NOISE = CHOICE_NOISE == 0  # 0 1 0 0 1 0 1 0


def wilson(p: float, n: float, crit: float) -> tuple[float, float]:
    c2 = crit**2
    centre = (p + c2 / (2 * n)) / (1 + c2 / n)
    half = crit / (1 + c2 / n) * math.sqrt(p * (1 - p) / n + c2 / (4 * n * n))
    return centre - half, centre + half


def test_mcnemar_flips_and_agreement_by_hand() -> None:
    cmp = compare(CORRECT_NOISE, CORRECT_AUDIO, CHOICE_NOISE, CHOICE_AUDIO, CLUSTERS, 1000, 0)
    # right with audio only: items 0, 2, 5, 7; right with noise only: item 6
    assert (cmp["audio_only_right"], cmp["control_only_right"]) == (4, 1)
    assert (cmp["both_right"], cmp["both_wrong"]) == (2, 1)
    # exact McNemar: two-sided binomial, 2 * P(X <= 1 | n = 5, p = 1/2) = 2 * 6/32
    assert cmp["mcnemar_p"] == pytest.approx(12 / 32)
    assert cmp["mcnemar_p_text"] == "0.375"
    assert cmp["difference"] == pytest.approx(3 / 8 - 6 / 8)
    # parsed under both: items 0 1 2 3 4 7; their options differ for 0, 2, 3, 7
    assert (cmp["both_parsed"], cmp["flips"], cmp["parsed_in_one_only"]) == (6, 4, 2)
    assert cmp["flip_rate"] == pytest.approx(4 / 6)
    assert cmp["agreement"] == pytest.approx(3 / 8)  # 1 - (4 + 1) / 8


def test_paired_difference_ci_is_cluster_tango_by_hand() -> None:
    cmp = compare(CORRECT_NOISE, CORRECT_AUDIO, CHOICE_NOISE, CHOICE_AUDIO, CLUSTERS, 1000, 0)
    # noise − audio per item: -1 0 -1 0 0 -1 1 -1; clip totals -1 -1 -1 0. b (noise only right) = 1, c = 4.
    # V_iid = 8/7 · (5 − 8 · 0.375²) = 4.43, V_cl = 4/3 · (3 · 0.25² + 0.75²) = 1: design effect floored at 1
    assert cmp["ci_method"] == "cluster-tango" and cmp["design_effect"] == 1.0
    lo, hi = tango_interval(1, 4, 8, sps.t.ppf(0.975, 3))
    assert cmp["ci95"] == pytest.approx([float(lo), float(hi)])
    assert -1 <= cmp["ci95"][0] < -0.375 < cmp["ci95"][1] <= 1
    # parsed under both: items 0 1 2 3 4 7 -> noise − audio: -1 0 -1 0 0 -1 over 6; in clips a b c d
    assert cmp["difference_parsed"] == pytest.approx(-0.5) and cmp["difference_parsed_count"] == 6
    # worst cases: audio's unparsed item 6 counted right (-0.5), noise's unparsed item 5 right (-0.25)
    assert cmp["difference_bounds"] == pytest.approx([(3 - 7) / 8, (4 - 6) / 8])


def test_accuracy_ci_is_cluster_wilson_by_hand() -> None:
    d = condition_stats(
        CORRECT_AUDIO, CHOICE_AUDIO, ["rules"] * 7 + ["unparsed"], [None] * 6 + ["refusal", None],
        np.zeros(8, bool), CLUSTERS, 1000, 0,
    )  # fmt: skip
    assert (d["count"], d["correct"], d["accuracy"]) == (8, 6, 0.75)
    # clip sums 2 1 2 1 of sizes 2: V = G/(G-1) Σ(s - R m)² / n² = 4/3 · 1 / 64; n* = min(n, R(1-R)/V) = 8
    v = 4 / 3 * 1 / 64
    n_eff = min(8, 0.75 * 0.25 / v)
    assert d["ci_method"] == "cluster-wilson"
    assert d["ci95"] == pytest.approx(wilson(0.75, n_eff, sps.t.ppf(0.975, 3)))
    assert (d["parsed"], d["unparsed"], d["unparsed_rate"]) == (7, 1, 1 / 8)
    assert d["accuracy_parsed"] == pytest.approx(6 / 7)
    assert d["methods"] == {"rules": 7, "embedding": 0, "llm": 0, "unparsed": 1}
    assert d["unparsed_reasons"] == {"refusal": 1}


def test_questions_sharing_a_clip_do_not_narrow_the_interval() -> None:
    rng = np.random.default_rng(3)
    once = rng.random(40) < 0.4
    twice = np.repeat(once, 2)  # the same outcome for two questions about each clip
    choice_once = np.where(once, 0, 1)
    choice_twice = np.repeat(choice_once, 2)
    clips = np.repeat(np.arange(40).astype(str), 2).astype(object)
    a = condition_stats(once, choice_once, ["rules"] * 40, [None] * 40, np.zeros(40, bool),
                        np.arange(40).astype(str).astype(object), 1000, 0)  # fmt: skip
    b = condition_stats(twice, choice_twice, ["rules"] * 80, [None] * 80, np.zeros(80, bool), clips, 1000, 0)
    naive = condition_stats(twice, choice_twice, ["rules"] * 80, [None] * 80, np.zeros(80, bool),
                            np.arange(80).astype(str).astype(object), 1000, 0)  # fmt: skip
    assert b["accuracy"] == a["accuracy"]
    assert a["ci_method"] == "wilson" and b["ci_method"] == "cluster-wilson"
    # two identical outcomes per clip: V = p(1-p)/39, so n* = 39 clips, not 80 items
    assert b["ci95"] == pytest.approx(wilson(b["accuracy"], 39, sps.t.ppf(0.975, 39)))
    assert naive["ci95"][1] - naive["ci95"][0] < 0.8 * (b["ci95"][1] - b["ci95"][0])


def test_cluster_tango_divides_the_counts_by_the_design_effect() -> None:
    # 40 clips of two questions; both questions of a clip flip from right to wrong in 10 clips
    flipped = np.repeat(np.arange(40) < 10, 2)
    audio = np.ones(80, dtype=bool)
    control = ~flipped
    clips = np.repeat(np.arange(40).astype(str), 2).astype(object)
    cmp = compare(control, audio, np.where(control, 0, 1), np.zeros(80, int), clips, 1000, 0)
    assert cmp["ci_method"] == "cluster-tango"
    assert cmp["difference"] == pytest.approx(-0.25)
    # V_iid = 80/79 · (20 − 80/16) and V_cl = 40/39 · (10 · 1.5² + 30 · 0.5²): design effect 79/39
    deff = 79 / 39
    assert cmp["design_effect"] == pytest.approx(deff)
    lo, hi = tango_interval(0, 20 / deff, 80 / deff, sps.t.ppf(0.975, 39))
    assert cmp["ci95"] == pytest.approx([float(lo), float(hi)])
    plain = compare(control, audio, np.where(control, 0, 1), np.zeros(80, int), None, 1000, 0)
    assert plain["ci_method"] == "tango" and plain["ci95"][0] > cmp["ci95"][0]
    # McNemar counts questions, not clips: 20 discordant pairs, all one way
    assert cmp["mcnemar_p"] == pytest.approx(2 * 0.5**20)
    assert cmp["expected_by_flipping"] == 10


def test_reliance_partitions_the_items() -> None:
    audio = np.array([1, 1, 0, 0, 1], bool)
    silence = np.array([0, 1, 1, 0, 0], bool)
    noise = np.array([0, 0, 0, 0, 1], bool)
    assert reliance_labels(audio, [noise, silence]) == [
        "right-only-with-audio",
        "right-both",
        "right-only-without-audio",
        "wrong-both",
        "right-both",
    ]
    refused = np.array([1, 1, 0, 1, 0], bool)  # a refusal sets apart only right-with-audio-only items
    assert reliance_labels(audio, [noise, silence], [refused]) == [
        "refused-without-audio",
        "right-both",
        "right-only-without-audio",
        "wrong-both",
        "right-both",
    ]


def test_expected_by_flipping_is_half_the_discordant_items() -> None:
    counts = {"right-only-with-audio": 600, "refused-without-audio": 200, "right-only-without-audio": 400,
              "right-both": 1000, "wrong-both": 300}  # fmt: skip
    exp = expected_by_flipping(counts)
    assert exp["expected_each"] == 600 and exp["excess_right_with_audio_only"] == 200


def test_needs_audio_sign_test_and_benjamini_hochberg() -> None:
    audio = np.array([1, 1, 1, 0, 1], bool)
    reps = [np.array([0, 0, 1, 1, 1], bool), np.array([0, 1, 0, 1, 1], bool), np.array([0, 0, 0, 1, 1], bool)]
    t = needs_audio_test(audio, reps)
    # item 0: 3 of 3 discordant +: p = 1/8; item 1: 2 of 2: 1/4; item 2: 2 of 2; item 3: 3 of 3 −: p = 1; item 4: none
    assert t["p"].tolist() == pytest.approx([1 / 8, 1 / 4, 1 / 4, 1.0, 1.0])
    # BH: sorted 1/8, 1/4, 1/4, 1, 1 -> 5/1 · 1/8 = 0.625, 5/3 · 1/4 = 0.417 (both), 1, 1
    assert t["q"].tolist() == pytest.approx([5 / 12, 5 / 12, 5 / 12, 1.0, 1.0])
    assert not t["flag"].any() and t["min_p"] == 1 / 8


def test_group_stats_chance_and_holm_across_categories() -> None:
    names = ["audio", "noise"]
    correct = {"audio": CORRECT_AUDIO, "noise": CORRECT_NOISE}
    choice = {"audio": CHOICE_AUDIO, "noise": CHOICE_NOISE}
    methods = {c: ["rules"] * 8 for c in names}
    rules = {c: [None] * 8 for c in names}
    missing = {c: np.zeros(8, bool) for c in names}
    n_choices = np.array([3, 3, 3, 3, 4, 4, 2, 2], dtype=float)
    labels = np.array(reliance_labels(CORRECT_AUDIO, [CORRECT_NOISE]), dtype=object)
    cats = np.array(["x"] * 4 + ["y"] * 4, dtype=object)

    def group(mask: np.ndarray) -> dict:
        return group_stats(mask, names, correct, choice, methods, rules, missing, n_choices, CLUSTERS, labels, 1000, 0)

    overall = group(np.ones(8, bool))
    assert overall["chance_accuracy"] == pytest.approx((4 / 3 + 2 / 4 + 2 / 2) / 8)
    assert overall["reliance"] == {"right-only-with-audio": 4, "refused-without-audio": 0,
                                   "right-only-without-audio": 1, "right-both": 2, "wrong-both": 1}  # fmt: skip
    assert overall["expected_by_flipping"] == 2.5
    by_cat = {c: group(cats == c) for c in ("x", "y")}
    add_holm(overall, by_cat)
    # x: b=2 (items 0, 2), c=0 -> p = 0.5; y: b=2 (5, 7), c=1 (6) -> p = 1.0; Holm: 2·0.5 = 1, max(1, 1) = 1
    assert by_cat["x"]["comparisons"]["noise"]["mcnemar_p"] == pytest.approx(0.5)
    assert by_cat["y"]["comparisons"]["noise"]["mcnemar_p"] == pytest.approx(1.0)
    assert by_cat["x"]["comparisons"]["noise"]["mcnemar_p_holm"] == pytest.approx(1.0)
    assert overall["comparisons"]["noise"]["mcnemar_p_holm"] == overall["comparisons"]["noise"]["mcnemar_p"]


def test_holm_over_categories_by_hand() -> None:
    overall = {"comparisons": {"noise": {"mcnemar_p": 0.01}, "silence": {"mcnemar_p": 0.04}}}
    by_cat = {
        cat: {"comparisons": {"noise": {"mcnemar_p": p}, "silence": {"mcnemar_p": 0.2}}}
        for cat, p in (("a", 0.01), ("b", 0.02), ("c", 0.5))
    }
    add_holm(overall, by_cat)
    assert overall["comparisons"]["noise"]["mcnemar_p_holm"] == pytest.approx(0.02)  # 2 · 0.01
    assert overall["comparisons"]["silence"]["mcnemar_p_holm"] == pytest.approx(0.04)  # max(0.02, 1 · 0.04)
    got = [by_cat[c]["comparisons"]["noise"]["mcnemar_p_holm"] for c in "abc"]
    assert got == pytest.approx([0.03, 0.04, 0.5])  # 3·0.01, 2·0.02, 1·0.5
    assert [by_cat[c]["comparisons"]["silence"]["mcnemar_p_holm"] for c in "abc"] == pytest.approx([0.6] * 3)


def test_empty_and_tiny_groups_give_no_interval_and_no_nan() -> None:
    d = condition_stats(np.array([True]), np.array([0]), ["rules"], [None], np.zeros(1, bool),
                        np.array(["a"], dtype=object), 1000, 0)  # fmt: skip
    assert d["accuracy"] == 1.0 and d["ci95"] is None and "too few" in d["ci_note"]
    assert d["accuracy_parsed"] == 1.0
    cmp = compare(np.array([True]), np.array([True]), np.array([0]), np.array([-1]),
                  np.array(["a"], dtype=object), 1000, 0)  # fmt: skip
    assert cmp["flip_rate"] is None and cmp["both_parsed"] == 0 and cmp["mcnemar_p"] == 1.0
    assert len(RELIANCE) == 5 and "needs-audio" not in RELIANCE


def test_holm_family_holds_only_testable_categories() -> None:
    def cmp(p: float, count: int, b: int, c: int) -> dict:
        return {"comparisons": {"noise": {"mcnemar_p": p, "count": count, "audio_only_right": b,
                                          "control_only_right": c}}}  # fmt: skip

    overall = cmp(0.01, 50, 9, 1)
    by_cat = {"a": cmp(0.01, 20, 8, 0), "b": cmp(0.02, 20, 9, 1), "one": cmp(1.0, 1, 1, 0), "tied": cmp(1.0, 9, 0, 0)}
    add_holm(overall, by_cat)
    got = {c: by_cat[c]["comparisons"]["noise"] for c in by_cat}
    assert got["a"]["mcnemar_p_holm"] == pytest.approx(0.02) and got["b"]["mcnemar_p_holm"] == pytest.approx(0.02)
    assert got["a"]["holm_family_size"] == 2
    assert got["one"]["mcnemar_p_holm"] is None and "fewer than two items" in got["one"]["holm_note"]
    assert got["tied"]["mcnemar_p_holm"] is None and "no discordant" in got["tied"]["holm_note"]
