"""The baselines against brute force and numpy: floor, same question, listening gap, labels, clusters, Holm."""

from __future__ import annotations

import numpy as np
import pytest

from lalm_bench import stats
from lalm_bench.similarity.baselines import group_codes, listening, mean_to_others, pair_cosines
from lalm_bench.similarity.probe import cluster_codes, compare_family, label_of


def unit_rows(rng: np.random.Generator, k: int, dim: int = 24) -> np.ndarray:
    u = rng.normal(size=(k, dim)).astype(np.float32)
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def brute_force(u: np.ndarray, x_rows, y_rows, labels) -> np.ndarray:
    """Mean of clipped cos(x_i, y_j) over the other items j with the same label, item by item."""
    u = u.astype(np.float64)
    out = []
    for i, lab in enumerate(labels):
        others = [j for j, m in enumerate(labels) if m == lab and j != i and lab is not None]
        vals = [float(np.clip(u[x_rows[i]] @ u[y_rows[j]], -1, 1)) for j in others]
        out.append(np.mean(vals) if vals else np.nan)
    return np.array(out)


@pytest.mark.parametrize("chunk", [3, 16384])
def test_floor_matches_brute_force(chunk: int) -> None:
    rng = np.random.default_rng(0)
    u = unit_rows(rng, 40)
    n = 60
    # repeated texts (several items share an embedding row), a category of one, items without a group
    x_rows, y_rows = rng.integers(0, 40, n), rng.integers(0, 40, n)
    labels = [str(c) for c in rng.choice(["a", "b", "c"], n)]
    labels[7] = "alone"
    labels[8] = labels[9] = None  # type: ignore[call-overload]
    got, sizes = mean_to_others(u, x_rows, y_rows, group_codes(np.array(labels, dtype=object)), chunk=chunk)
    want = brute_force(u, x_rows, y_rows, labels)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    # brute force clips each pair (a text against itself is 1 + ~1e-7 in float32); the sum clips the mean
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], atol=1e-6)
    assert sizes[7] == 1 and np.isnan(got[7]) and sizes[8] == 0
    assert sizes[0] == labels.count(labels[0])


def test_floor_is_clipped_and_deterministic() -> None:
    v = np.array([[1.0, 0.0]], dtype=np.float32) * np.float32(1.0000001)  # a dot product just above 1
    got, _ = mean_to_others(v, np.zeros(3, int), np.zeros(3, int), np.zeros(3, int))
    assert got.max() <= 1.0
    rng = np.random.default_rng(1)
    u = unit_rows(rng, 10)
    rows, groups = rng.integers(0, 10, 30), rng.integers(0, 3, 30)
    a, _ = mean_to_others(u, rows, rows[::-1].copy(), groups)
    b, _ = mean_to_others(u, rows, rows[::-1].copy(), groups)
    assert np.array_equal(a, b)


def test_listening_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    u = unit_rows(rng, 30)
    n_rows, a_rows, n2_rows = (rng.integers(0, 30, 25) for _ in range(3))
    res = listening(u, n_rows, a_rows, n2_rows)
    U = u.astype(np.float64)
    nn = np.clip((U[n_rows] * U[n2_rows]).sum(1), -1, 1)
    an1 = np.clip((U[a_rows] * U[n_rows]).sum(1), -1, 1)
    an2 = np.clip((U[a_rows] * U[n2_rows]).sum(1), -1, 1)
    np.testing.assert_allclose(res["noise_vs_noise"], nn, atol=1e-12)
    np.testing.assert_allclose(res["audio_vs_noise_2"], an2, atol=1e-12)
    np.testing.assert_allclose(res["audio_vs_noise"], (an1 + an2) / 2, atol=1e-12)
    np.testing.assert_allclose(res["listening_gap"], nn - (an1 + an2) / 2, atol=1e-12)
    # the two noise runs play the same role
    swapped = listening(u, n2_rows, a_rows, n_rows)
    np.testing.assert_allclose(swapped["listening_gap"], res["listening_gap"], atol=1e-12)
    # a model that ignores the audio: all three answers the same text -> gap 0
    same = listening(u, n_rows, n_rows, n_rows)
    np.testing.assert_allclose(same["listening_gap"], 0.0, atol=1e-6)
    np.testing.assert_allclose(pair_cosines(u, n_rows, a_rows), an1, atol=1e-12)


def test_null_stand_in_has_zero_expected_gap() -> None:
    """The documented stand-in second noise run (tests/similarity/standin.py): audio answer with p = 2/3."""
    s = np.random.default_rng(3).beta(5, 2, 200_000)
    take = np.random.default_rng(4).random(s.size) < 2 / 3
    gap = np.where(take, (s - 1) / 2, 1 - s)  # n2 = audio: nn = s, avn = (s + 1)/2; n2 = noise: nn = 1, avn = s
    assert abs(gap.mean()) < 3 * gap.std() / np.sqrt(gap.size)


def test_labels_and_clusters() -> None:
    assert label_of("  What   is\nthis? ") == "What is this?"
    assert label_of("") is None and label_of("   ") is None and label_of(None) is None
    assert label_of(float("nan")) is None
    assert label_of(["data/a.wav"]) == "data/a.wav"
    assert label_of(np.array(["a.wav", "b.wav"], dtype=object)) == "a.wav | b.wav"
    assert label_of(3) == "3"
    codes, missing = cluster_codes(np.array(["q1", None, "q2", "q1", None], dtype=object))
    assert missing == 2
    assert codes[0] == codes[3] and len({codes[1], codes[4], codes[0], codes[2]}) == 4
    assert group_codes(np.array(["b", "a", None, "b"], dtype=object)).tolist() == [0, 1, -1, 0]


def test_compare_family_uses_the_same_items_and_holm() -> None:
    rng = np.random.default_rng(5)
    cats = np.array(["a"] * 12 + ["b"] * 40 + ["c"] * 8 + ["one"], dtype=object)
    a = rng.uniform(0.4, 1.0, cats.size)
    b = a - rng.normal(0.1, 0.1, cats.size)
    b[cats == "one"] = np.nan  # a category of one: no baseline
    b[3] = np.nan
    fam = compare_family(a, b, ("matched", "floor"), cats, ["a", "b", "c", "one"], None, 500, 0, "no baseline")
    ok = ~np.isnan(b)
    o = fam["overall"]
    assert o["n"] == int(ok.sum()) == 59
    assert o["matched_mean"] == pytest.approx(a[ok].mean()) and o["floor_mean"] == pytest.approx(b[ok].mean())
    assert o["mean_difference"] == pytest.approx((a - b)[ok].mean())
    assert o["ci_method"] == "bootstrap" and o["ci95"][0] < o["mean_difference"] < o["ci95"][1]
    assert fam["by_category"]["a"]["n"] == 11 and fam["by_category"]["a"]["ci_method"] == "t"
    assert fam["by_category"]["c"]["ci_method"] == "t"
    one = fam["by_category"]["one"]
    assert one["n"] == 0 and one["ci95"] is None and one["note"] == "no baseline"
    assert one["wilcoxon"]["p_holm"] is None
    # Holm by hand over the three tested categories
    p = {c: fam["by_category"][c]["wilcoxon"]["p_value"] for c in "abc"}
    order = sorted(p, key=p.get)
    m, running, want = 3, 0.0, {}
    for rank, c in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[c]))
        want[c] = running
    for c in "abc":
        assert fam["by_category"][c]["wilcoxon"]["p_holm"] == pytest.approx(want[c])
        assert fam["by_category"][c]["wilcoxon"]["p_holm_text"] == stats.format_p(want[c])
    # wilcoxon details: zeros dropped, z and text
    w = o["wilcoxon"]
    assert w["n"] == 59 and w["n_nonzero"] == 59 and w["z_statistic"] > 0 and w["p_value_text"]
    # a difference within the cosines' float32 resolution is a zero, whichever float path made it
    b2 = a.copy()
    b2[:5] += np.array([0.0, 3e-8, -4e-8, 2e-7, -1e-9])
    b2[5:] -= 0.1
    w2 = compare_family(a, b2, ("matched", "floor"), cats, ["a", "b", "c", "one"], None, 50, 0, "")["overall"]
    assert w2["wilcoxon"]["zero_below"] == 1e-6 and w2["wilcoxon"]["n_nonzero"] == cats.size - 5


def test_compare_family_clustered() -> None:
    rng = np.random.default_rng(6)
    cats = np.array(["a"] * 60, dtype=object)
    clusters = np.repeat(np.arange(20), 3)
    a = rng.uniform(0.5, 1.0, 60)
    b = a - 0.1 - np.repeat(rng.normal(0, 0.1, 20), 3)
    fam = compare_family(a, b, ("x", "y"), cats, ["a"], clusters, 500, 0, "")
    o = fam["overall"]
    ref = stats.paired_difference(a, b, clusters=clusters, n_resamples=500, seed=0)
    assert o["ci_method"] == "cluster-t" and o["n_clusters"] == 20 and o["ci95"] == ref["ci95"]
