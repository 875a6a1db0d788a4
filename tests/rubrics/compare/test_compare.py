"""Rubric comparison: matching, pair metrics, survival, growth and threshold calibration.

Sanity cases of issue 11 with the real all-MiniLM-L6-v2; hand-computed cases with given embeddings.
"""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from lalm_bench.errors import InputError
from lalm_bench.rubrics.common.records import RubricItem
from lalm_bench.rubrics.compare.core import (
    calibrate_threshold,
    compare_rubrics,
    growth_curve,
    load_calibration,
    match_rubrics,
    match_similarity,
    pair_metrics,
    survival,
)

# A realistic rubric for a Clotho clip of rain and traffic (criteria in the style `generate` writes).
RUBRIC = [
    ("The caption mentions rain falling.", 5),
    ("The caption mentions that vehicles drive past on a wet road.", 4),
    ("The caption mentions thunder rumbling in the distance.", 3),
    ("The caption mentions birds singing in the background.", 2),
    ("The caption mentions a person walking by.", 2),
    ("The caption mentions that the rain is heavy.", 4),
    ("The caption mentions water splashing under the tires.", 1),
    ("The caption mentions a dog barking.", 3),
    ("The caption mentions a car horn honking.", 1),
    ("The caption mentions that the recording takes place outdoors.", 2),
]
# The same requirements in other words (none of these sentences is in the calibration set).
PARAPHRASED = [
    ("The caption says that it is raining.", 5),
    ("The caption describes cars passing by on a wet street.", 4),
    ("The caption notes distant thunder.", 3),
    ("The caption says birds can be heard singing in the background.", 2),
    ("The caption states that someone walks past.", 2),
    ("The caption says the rain is falling heavily.", 4),
    ("The caption describes water splashing beneath the car tires.", 1),
    ("The caption states that a dog barks.", 3),
    ("The caption says a car honks its horn.", 1),
    ("The caption says the sound was recorded outside.", 2),
]
BIRDS_RAIN = [
    ("The caption mentions birds chirping.", 4),
    ("The caption mentions rain falling on leaves.", 5),
    ("The caption mentions a songbird singing a melody.", 3),
    ("The caption mentions raindrops dripping from a roof.", 2),
    ("The caption mentions wind rustling through trees.", 2),
    ("The caption mentions a forest setting.", 1),
]
ENGINES_MUSIC = [
    ("The caption mentions an engine revving.", 5),
    ("The caption mentions a piano playing a slow melody.", 4),
    ("The caption mentions a truck idling.", 3),
    ("The caption mentions drums keeping a steady beat.", 3),
    ("The caption mentions a motorcycle accelerating.", 2),
    ("The caption mentions a guitar being strummed.", 1),
]


@pytest.fixture(scope="module")
def embedder(minilm_path, tmp_path_factory):
    from lalm_bench.embeddings import Embedder

    # one cache for the module: the calibration set is encoded once, later calibrations read it back
    return Embedder(minilm_path, device="cpu", progress=False, cache_dir=tmp_path_factory.mktemp("compare-cache"))


@pytest.fixture(scope="module")
def calibration(embedder):
    return calibrate_threshold(embedder, details=True)


@pytest.fixture(scope="module")
def threshold(calibration) -> float:
    return calibration["threshold"]


def compare_two(a, b, embedder, threshold) -> dict:
    out = compare_rubrics({"a": a, "b": b}, embedder, threshold)
    json.dumps(out, allow_nan=False)  # strict JSON
    assert len(out["pairs"]) == 1
    return out["pairs"][0]


def unit(*xs: float) -> list[float]:
    v = np.asarray(xs, dtype=float)
    return list(v / np.linalg.norm(v))


# ---- sanity cases of the issue (real MiniLM) ------------------------------------------------------
def test_rubric_against_itself(embedder, threshold):
    p = compare_two(RUBRIC, RUBRIC, embedder, threshold)
    assert p["matched"] == len(RUBRIC)
    assert p["precision"] == p["recall"] == p["f1"] == p["jaccard"] == 1.0
    assert p["weight_spearman"] == pytest.approx(1.0)
    assert p["weight_coverage"] == 1.0
    assert all(m["a_index"] == m["b_index"] for m in p["matches"])


def test_order_and_letter_case_do_not_matter(embedder, threshold):
    shuffled = list(RUBRIC)
    random.Random(3).shuffle(shuffled)
    changed = [(("  " + t.upper().replace(" ", "   ")) if k % 2 else t.lower(), w) for k, (t, w) in enumerate(shuffled)]
    p = compare_two(RUBRIC, changed, embedder, threshold)
    assert p["matched"] == len(RUBRIC)
    assert p["f1"] == p["jaccard"] == 1.0
    assert p["weight_spearman"] == pytest.approx(1.0)
    for m in p["matches"]:  # each criterion is matched to its own shuffled, re-cased copy at cosine 1
        assert " ".join(m["a_criterion"].lower().split()) == " ".join(m["b_criterion"].lower().split())
        assert m["cosine"] == pytest.approx(1.0, abs=1e-5)


def test_three_removed(embedder, threshold):
    n = len(RUBRIC)
    reduced = [c for k, c in enumerate(RUBRIC) if k not in (1, 4, 8)]
    p = compare_two(RUBRIC, reduced, embedder, threshold)
    assert p["matched"] == n - 3
    assert p["precision"] == 1.0
    assert p["recall"] == pytest.approx((n - 3) / n)
    assert p["jaccard"] == pytest.approx((n - 3) / n)
    assert p["weight_spearman"] == pytest.approx(1.0)


def test_unrelated_rubrics(embedder, threshold):
    p = compare_two(BIRDS_RAIN, ENGINES_MUSIC, embedder, threshold)
    assert p["f1"] <= 0.1  # measured: 0 matches at the MiniLM threshold
    assert p["weight_spearman"] is None


def test_paraphrased_rubric_matches_most(embedder, threshold):
    p = compare_two(RUBRIC, PARAPHRASED, embedder, threshold)
    # measured with MiniLM: all 10 matched (paraphrase cosines 0.81-0.96); 8 with their own paraphrase,
    # the two rain criteria swap ("rain falling" ~ "the rain is falling heavily" at 0.92: the swap has
    # the larger total cosine). Most = at least 7.
    assert p["matched"] >= 7
    assert sum(m["a_index"] == m["b_index"] for m in p["matches"]) >= 7


def test_rubric_items_and_dicts_are_accepted(embedder, threshold):
    items = [RubricItem(criterion=t, weight=w) for t, w in RUBRIC]
    dicts = [{"criterion": t, "weight": w} for t, w in RUBRIC]
    p = compare_two(items, dicts, embedder, threshold)
    assert p["f1"] == 1.0


def test_survival_real_model(embedder, threshold):
    shared = RUBRIC[:3]
    r1 = shared + BIRDS_RAIN[:2]
    r2 = [(t.upper(), w) for t, w in shared] + ENGINES_MUSIC[:2]
    r3 = list(reversed(shared)) + BIRDS_RAIN[2:4]
    out = compare_rubrics({"r1": r1, "r2": r2, "r3": r3}, embedder, threshold)
    s = out["survival"]
    assert s["n_survivors"] == 3 == s["n_survivors_all_pairs_matched"]
    assert sorted(c["criteria"]["r1"] for c in s["survivors"]) == sorted(t for t, _ in shared)
    assert s["per_rubric"]["r1"]["surviving_share"] == pytest.approx(3 / 5)
    assert [(p["a"], p["b"]) for p in out["pairs"]] == [("r1", "r2"), ("r1", "r3"), ("r2", "r3")]
    vals = out["f1_matrix"]["values"]
    assert [vals[k][k] for k in range(3)] == [1.0, 1.0, 1.0]
    assert vals[0][1] == vals[1][0] == out["pairs"][0]["f1"]


# ---- calibration (real MiniLM) ------------------------------------------------------------------
def test_calibration_set_is_shipped():
    pairs, meta = load_calibration()
    assert len(pairs) >= 80
    assert meta["counts"]["paraphrase"] >= 40 and meta["counts"]["hard_negative"] >= 30
    assert meta["counts"]["unrelated"] >= 20
    assert len({(p["a"], p["b"]) for p in pairs}) == len(pairs)


def test_calibrate_threshold_minilm(calibration):
    c = calibration
    json.dumps(c, allow_nan=False)
    assert 0.5 < c["threshold"] < 0.95
    lo, hi = c["threshold_ci95"]
    assert lo <= c["threshold"] <= hi
    assert c["false_positive_rate"]["unrelated"] == 0.0  # unrelated pairs never reach the threshold
    assert c["cosine"]["unrelated"]["max"] < c["threshold"]
    assert c["youden_j"] == pytest.approx(c["recall"] - c["false_positive_rate"]["hard_negative"], abs=1e-4)
    # every figure is recomputed from the per-pair cosines at the returned threshold
    pos = [p for p in c["pairs"] if p["label"] == "paraphrase"]
    assert c["recall"] == pytest.approx(sum(p["cosine"] >= c["threshold"] for p in pos) / len(pos), abs=1e-4)
    tp = sum(p["match"] for p in pos)
    fp = sum(p["match"] for p in c["pairs"] if p["label"] != "paraphrase")
    assert c["precision"] == pytest.approx(tp / (tp + fp), abs=1e-4)


def test_minilm_is_flagged_as_too_weak_with_honest_held_out_figures(calibration):
    """all-MiniLM-L6-v2 barely tells a reworded criterion from a same-topic, different requirement."""
    c = calibration
    assert c["auc"] < 0.7 and c["auc_ci95"][0] <= c["auc"] <= c["auc_ci95"][1]
    cv = c["cross_validated"]
    assert cv["folds"] == 5 and len(cv["fold_thresholds"]) == 5 and cv["stratified"]
    assert cv["youden_j"] < c["youden_j"]  # the in-sample J is optimistic
    assert cv["youden_j"] == pytest.approx(cv["recall"] - cv["false_positive_rate"], abs=1e-4)
    assert "AUC" in c["warning"] and "BAAI/bge-base-en-v1.5" in c["warning"] and "--model" in c["warning"]


def test_auc_by_hand():
    from lalm_bench.rubrics.compare.calibrate import auc

    # pairs (pos > neg): 0.9 beats all 3; 0.5 beats 0.1 and ties 0.5 (half); 0.3 beats 0.1 -> 5.5 / 9
    assert auc(np.array([0.9, 0.5, 0.3]), np.array([0.1, 0.5, 0.7])) == pytest.approx(5.5 / 9)
    assert auc(np.array([1.0]), np.array([0.0])) == 1.0 and auc(np.array([0.2]), np.array([0.2])) == 0.5
    assert auc(np.array([]), np.array([0.1])) is None


def test_cross_validation_by_hand():
    from lalm_bench.rubrics.compare.calibrate import cross_validate

    separable = cross_validate(np.array([0.9, 0.8, 0.85, 0.95]), np.array([0.1, 0.2, 0.15, 0.3]), folds=2, seed=0)
    assert separable is not None
    assert separable["youden_j"] == 1.0 and separable["auc"] == 1.0 and separable["folds"] == 2
    rng = np.random.default_rng(0)
    noise = cross_validate(rng.normal(size=60), rng.normal(size=60), folds=5, seed=1)
    assert noise is not None and abs(noise["youden_j"]) < 0.25 and 0.3 < noise["auc"] < 0.7
    assert cross_validate(np.array([0.9]), np.array([0.1, 0.2])) is None  # fewer pairs than two folds


def test_weak_model_warning_rule():
    from lalm_bench.rubrics.compare.calibrate import MIN_AUC, weak_model_warning

    assert weak_model_warning(MIN_AUC) is None and weak_model_warning(None) is None
    w = weak_model_warning(0.59, "all-MiniLM-L6-v2")
    assert w is not None and w.startswith("all-MiniLM-L6-v2 ") and "AUC 0.59 < 0.7" in w


def test_auto_threshold_is_recorded(embedder, calibration):
    out = compare_rubrics({"a": RUBRIC, "b": RUBRIC[:5]}, embedder, "auto")
    assert out["threshold"]["source"] == "auto"
    assert out["threshold"]["value"] == calibration["threshold"]
    assert out["threshold"]["calibration"]["calibration_set"]["sha256"] == calibration["calibration_set"]["sha256"]
    lo, hi = calibration["threshold_ci95"]
    sens = out["threshold"]["sensitivity"]
    assert [x["threshold"] for x in sens] == [lo, calibration["threshold"], hi]
    assert sens[1]["mean_f1"] == out["pairs"][0]["f1"]
    assert sens[0]["mean_matched"] >= sens[1]["mean_matched"] >= sens[2]["mean_matched"]
    given = compare_rubrics({"a": RUBRIC, "b": RUBRIC[:5]}, embedder, 0.8)
    assert given["threshold"] == {
        "value": 0.8,
        "source": "given",
        "calibration": None,
        "sensitivity": [{"threshold": 0.8, "mean_f1": 2 * 5 / 15, "mean_jaccard": 0.5, "mean_matched": 5}],
    }
    wider = compare_rubrics({"a": RUBRIC, "b": PARAPHRASED}, embedder, 0.8, sensitivity=[0.99, 0.5])
    assert [x["threshold"] for x in wider["threshold"]["sensitivity"]] == [0.5, 0.8, 0.99]
    assert [x["mean_matched"] for x in wider["threshold"]["sensitivity"]][::2] == [10, 0]


def test_calibration_from_a_file(tmp_path, embedder):
    path = tmp_path / "cal.json"
    path.write_text(
        json.dumps(
            {
                "pairs": [
                    {"a": "A dog barks.", "b": "A DOG  BARKS.", "label": "paraphrase"},
                    {"a": "Rain falls.", "b": "It is raining.", "label": "paraphrase"},
                    {"a": "A dog barks.", "b": "A piano plays.", "label": "hard_negative"},
                ]
            }
        )
    )
    c = calibrate_threshold(embedder, path, bootstrap=0)
    assert c["recall"] == 1.0 and c["false_positive_rate"]["hard_negative"] == 0.0
    assert c["false_positive_rate"]["unrelated"] is None and c["threshold_ci95"] is None
    assert c["cosine"]["paraphrase"]["max"] == pytest.approx(1.0, abs=1e-5)  # case and spacing ignored
    path.write_text(json.dumps({"pairs": [{"a": "x", "b": "y", "label": "maybe"}]}))
    with pytest.raises(InputError, match="labels"):
        calibrate_threshold(embedder, path)


# ---- by hand, given embeddings (no model) --------------------------------------------------------
A = [("dog barks", 3), ("rain falls", 2), ("car passes", 1)]
B = [("a dog barking", 2), ("rainfall", 2), ("music", 5), ("birds", 1)]
EMB_A = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=float)
EMB_B = np.array(
    [unit(0.9, 0, 0, math.sqrt(0.19)), unit(0, 0.8, 0, 0.6), [0, 0, 0, 1], unit(0, 0, 0.3, math.sqrt(0.91))]
)


def test_metrics_by_hand():
    matches = match_rubrics(EMB_A, EMB_B, 0.5)
    assert [(i, j) for i, j, _ in matches] == [(0, 0), (1, 1)]
    assert [c for _, _, c in matches] == pytest.approx([0.9, 0.8])
    p = pair_metrics(A, B, matches)
    assert p["matched"] == 2
    assert p["precision"] == pytest.approx(2 / 4)
    assert p["recall"] == pytest.approx(2 / 3)
    assert p["f1"] == pytest.approx(2 * (0.5 * 2 / 3) / (0.5 + 2 / 3)) == pytest.approx(4 / 7)
    assert p["jaccard"] == pytest.approx(2 / (3 + 4 - 2))
    assert p["weight_spearman"] is None  # b's matched weights are both 2: constant
    assert p["weight_coverage"] == pytest.approx((3 + 2 + 2 + 2) / (6 + 10))
    assert p["matches"][0] == {
        "a_index": 0, "b_index": 0, "a_criterion": "dog barks", "b_criterion": "a dog barking",
        "a_weight": 3, "b_weight": 2, "cosine": 0.9,
    }  # fmt: skip
    # a threshold above 0.9 keeps nothing; at 0.85 only the dog pair
    assert match_rubrics(EMB_A, EMB_B, 0.95) == []
    assert [(i, j) for i, j, _ in match_rubrics(EMB_A, EMB_B, 0.85)] == [(0, 0)]


def test_spearman_defined_and_undefined():
    b = [("a dog barking", 1), ("rainfall", 4), ("music", 5), ("birds", 1)]
    matches = match_rubrics(EMB_A, EMB_B, 0.5)
    assert pair_metrics(A, b, matches)["weight_spearman"] == pytest.approx(-1.0)  # 3>2 but 1<4
    one = match_rubrics(EMB_A, EMB_B, 0.85)
    assert pair_metrics(A, b, one)["weight_spearman"] is None  # a single match
    flat = [(t, 2) for t, _ in A]
    assert pair_metrics(flat, b, matches)["weight_spearman"] is None  # constant weights on a's side


def test_leftovers_are_not_force_matched():
    # Hungarian on 1 - sim with every row forced to a column, then filtered at 0.5, keeps only (0, 0):
    # the sub-threshold 0.44 and 0.48 steer it to 0.87 + 0.44 + 0.48 = 1.79 over 0.87 + 0.05 + 0.82.
    sim = np.array([[0.87, 0.41, 0.85], [0.15, 0.05, 0.44], [0.22, 0.48, 0.82]])
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(1 - sim)
    assert [(i, j) for i, j in zip(rows, cols, strict=True) if sim[i, j] >= 0.5] == [(0, 0)]
    # a criterion may stay unmatched instead: both pairs above the threshold are kept
    assert match_similarity(sim, 0.5) == [(0, 0, 0.87), (2, 2, 0.82)]


def test_matching_maximises_the_excess_over_the_threshold():
    # an exact pair is not traded for two borderline ones (0.32 > 0.02 + 0.02) ...
    assert match_similarity(np.array([[1.0, 0.7], [0.7, 0.65]]), 0.68) == [(0, 0, 1.0)]
    # ... and, the other side of that rule, one strong pair wins over two borderline ones (0.25 > 0.09)
    assert match_similarity(np.array([[0.55, 0.03], [0.75, 0.54]]), 0.5) == [(1, 0, 0.75)]
    # a pair at exactly the threshold is kept; a rectangular matrix leaves the extra rows unmatched
    assert match_similarity(np.array([[0.5], [0.2]]), 0.5) == [(0, 0, 0.5)]
    assert match_similarity(np.zeros((0, 3)), 0.5) == []


def test_empty_and_degenerate_inputs():
    assert match_rubrics(np.zeros((0, 4)), EMB_B, 0.5) == []
    p = pair_metrics([], B, [])
    assert p["matched"] == 0 and p["precision"] == 0.0 and p["recall"] is None and p["f1"] == 0.0
    assert p["jaccard"] == 0.0 and p["weight_spearman"] is None
    q = pair_metrics([], [], [])
    assert q["precision"] is q["recall"] is q["f1"] is q["jaccard"] is q["weight_coverage"] is None
    with pytest.raises(ValueError, match="one-to-one"):
        pair_metrics(A, B, [(0, 0, 0.9), (1, 0, 0.8)])
    with pytest.raises(InputError, match="weight"):
        pair_metrics([("x", float("nan"))], B, [])
    with pytest.raises(InputError, match="non-empty"):
        pair_metrics([("  ", 1)], B, [])
    with pytest.raises(InputError, match="finite"):
        match_rubrics(EMB_A, EMB_B, float("nan"))


def test_each_distinct_text_is_embedded_once():
    class TableEncoder:  # stands in for an embedding model: a fixed vector per normalised text
        def __init__(self) -> None:
            self.calls: list[list[str]] = []
            self.table = {"dog barks": [1.0, 0.0], "rain falls": [0.0, 1.0], "birds sing": [0.6, 0.8]}

        def encode(self, texts):
            self.calls.append(list(texts))
            return np.array([self.table[t] for t in texts])

    enc = TableEncoder()
    r1 = [("Dog barks", 2), ("rain   falls", 1)]
    r2 = [("DOG BARKS", 2), ("Rain falls", 3), ("birds sing", 1)]
    out = compare_rubrics({"r1": r1, "r2": r2}, enc, 0.99)
    assert enc.calls == [["dog barks", "rain falls", "birds sing"]]
    p = out["pairs"][0]
    assert (p["a"], p["b"], p["matched"], p["precision"], p["recall"]) == ("r1", "r2", 2, pytest.approx(2 / 3), 1.0)
    assert out["rubrics"] == [
        {"label": "r1", "size": 2, "total_weight": 3},
        {"label": "r2", "size": 3, "total_weight": 6},
    ]
    with pytest.raises(InputError, match="two or more"):
        compare_rubrics({"r1": r1}, enc, 0.5)
    with pytest.raises(InputError, match="threshold"):
        compare_rubrics({"r1": r1, "r2": r2}, enc, "high")


# ---- survival with given embeddings --------------------------------------------------------------
def onehot(k: int, dim: int = 6) -> list[float]:
    v = [0.0] * dim
    v[k] = 1.0
    return v


def test_survival_three_rubrics():
    rubrics = {
        "r1": [("dog", 3), ("rain", 2), ("car", 1)],
        "r2": [("rain!", 1), ("dog!", 4), ("music", 2)],
        "r3": [("car?", 2), ("bird", 1), ("dog?", 5)],
    }
    emb = {
        "r1": np.array([onehot(0), onehot(1), onehot(2)]),
        "r2": np.array([onehot(1), onehot(0), onehot(3)]),
        "r3": np.array([onehot(2), onehot(4), onehot(0)]),
    }
    s = survival(rubrics, emb, 0.9)
    assert s["n_inputs"] == 3
    assert s["span_histogram"] == {"1": 2, "2": 2, "3": 1}
    assert s["n_clusters"] == 5
    assert s["n_survivors"] == 1 == s["n_survivors_all_pairs_matched"]
    dog = s["survivors"][0]
    assert dog["criteria"] == {"r1": "dog", "r2": "dog!", "r3": "dog?"}
    assert dog["weights"] == {"r1": 3, "r2": 4, "r3": 5}
    assert dog["indices"] == {"r1": 0, "r2": 1, "r3": 2}
    assert dog["min_cosine"] == 1.0 and dog["all_pairs_matched"]
    assert [c["span"] for c in s["clusters"]] == [3, 2, 2, 1, 1]
    # rain and car both weigh 3 in all; rain comes first in r1
    assert s["clusters"][1]["criteria"] == {"r1": "rain", "r2": "rain!"}
    assert [c["id"] for c in s["clusters"]] == [0, 1, 2, 3, 4]
    assert s["per_rubric"]["r2"] == {
        "size": 3, "surviving": 1, "surviving_share": 1 / 3, "surviving_weight_share": 4 / 7,
    }  # fmt: skip


def angle(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def test_survival_keeps_one_criterion_per_input():
    # r1 holds two criteria (0 and 30 degrees); the chain a1~b1 (8), b1~c1 (20), c1~a2 (30) links all
    # four as connected components would, but a cluster may not hold both criteria of r1.
    rubrics = {"r1": [("a1", 1), ("a2", 1)], "r2": [("b1", 1)], "r3": [("c1", 1)]}
    emb = {"r1": np.array([angle(0), angle(30)]), "r2": np.array([angle(8)]), "r3": np.array([angle(20)])}
    s = survival(rubrics, emb, 0.95)
    assert s["span_histogram"] == {"1": 0, "2": 2, "3": 0}
    assert s["n_survivors"] == 0
    assert sorted(tuple(sorted(c["criteria"].values())) for c in s["clusters"]) == [("a1", "b1"), ("a2", "c1")]


def test_survival_through_a_chain_is_flagged():
    # a~b and b~c match at cos(10 deg) = 0.985, but a and c are 20 degrees apart (0.940 < 0.97)
    rubrics = {"r1": [("a", 1)], "r2": [("b", 2)], "r3": [("c", 3)]}
    emb = {"r1": np.array([angle(0)]), "r2": np.array([angle(10)]), "r3": np.array([angle(20)])}
    s = survival(rubrics, emb, 0.97)
    assert s["n_survivors"] == 1 and s["n_survivors_all_pairs_matched"] == 0
    assert s["survivors"][0]["min_cosine"] == pytest.approx(math.cos(math.radians(20)), abs=1e-6)
    assert s["survivors"][0]["all_pairs_matched"] is False


# ---- growth --------------------------------------------------------------------------------------
def test_growth_curve_saturated_and_linear():
    g = growth_curve([2, 4, 5, 6, 6, 6, 6, 6])
    assert g["final_size"] == 6 and g["max_size"] == 6 and g["n_clips"] == 8
    assert g["saturation"] == {
        "window_clips": 2, "tail_new_per_clip": 0.0, "overall_new_per_clip": 0.75,
        "tail_to_overall": 0.0, "clips_to_90pct": 4,
    }  # fmt: skip
    lin = growth_curve([1, 2, 3, 4])["saturation"]
    assert [lin[k] for k in ("window_clips", "tail_new_per_clip", "tail_to_overall", "clips_to_90pct")] == [1, 1, 1, 4]
    shrinking = growth_curve([3, 5, 4])["saturation"]  # a merge removed a criterion at the end
    assert shrinking["tail_new_per_clip"] == -1 and shrinking["tail_to_overall"] == pytest.approx(-0.75)
    one = growth_curve([2])["saturation"]
    assert one["window_clips"] == 1 and one["tail_new_per_clip"] == 2
    assert growth_curve([])["saturation"] is None
    assert growth_curve([0, 0])["saturation"]["tail_to_overall"] is None
