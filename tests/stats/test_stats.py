import json
import math

import numpy as np
import pytest

from lalm_bench import stats

Z975 = 1.959963984540054  # standard normal 0.975 quantile
T975 = {2: 4.302652729749464, 3: 3.182446305284263, 4: 2.7764451051977987}  # Student t 0.975 quantiles by df


def test_mean_and_sample_std_by_hand() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert stats.mean(values) == 5.0
    # Σ(x-5)² = 32, n-1 = 7
    assert stats.sample_std(values) == pytest.approx((32 / 7) ** 0.5)


def test_std_undefined_for_one_value() -> None:
    assert stats.sample_std([0.3]) is None
    assert stats.describe([0.3]) == {"mean": 0.3, "std": None, "count": 1}
    assert stats.describe([]) == {"mean": None, "std": None, "count": 0}


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.8, 0.1, 300)
    a = stats.bootstrap_mean_ci(x, 1000, seed=7)
    b = stats.bootstrap_mean_ci(x, 1000, seed=7)
    c = stats.bootstrap_mean_ci(x, 1000, seed=8)
    assert a == b and a != c
    assert a is not None and a[0] < x.mean() < a[1]
    # close to the normal-theory interval mean ± 1.96 s/√n
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert a[1] - a[0] == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_chunking_does_not_change_result() -> None:
    x = np.linspace(0, 1, 50)
    assert stats.bootstrap_mean_ci(x, 200, seed=3) == stats.bootstrap_mean_ci(x, 200, seed=3, chunk=60)


def test_bootstrap_off_or_too_small() -> None:
    assert stats.bootstrap_mean_ci([1.0, 2.0], 0) is None
    assert stats.bootstrap_mean_ci([1.0], 100) is None


# --- mean_ci: method by effective sample size ---------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2])
def test_mean_ci_none_below_three_values(n: int) -> None:
    ci = stats.mean_ci(np.arange(n, dtype=float))
    assert ci["low"] is None and ci["high"] is None and ci["method"] is None
    assert ci["n"] == n and ci["n_clusters"] is None and ci["reason"]
    assert stats.mean_ci([1.0, 0.0], binary=True)["low"] is None


def test_mean_ci_disabled() -> None:
    ci = stats.mean_ci(np.arange(50.0), n_resamples=0)
    assert ci == {"low": None, "high": None, "method": None, "n": 50, "n_clusters": None, "reason": "disabled"}


def test_t_interval_by_hand() -> None:
    # [1, 2, 3]: mean 2, s = 1, df 2 -> 2 ± 4.30265 / √3
    ci = stats.mean_ci([1.0, 2.0, 3.0])
    half = T975[2] / math.sqrt(3)
    assert ci["method"] == "t" and ci["reason"] is None
    assert (ci["low"], ci["high"]) == pytest.approx((2 - half, 2 + half), abs=1e-12)


def test_t_up_to_29_then_bootstrap_seeded() -> None:
    x = np.random.default_rng(5).normal(size=50)
    assert stats.mean_ci(x[:29])["method"] == "t"
    ci = stats.mean_ci(x, n_resamples=500, seed=4)
    assert ci["method"] == "bootstrap"
    assert (ci["low"], ci["high"]) == stats.bootstrap_mean_ci(x, 500, 4)
    assert stats.mean_ci(x, n_resamples=500, seed=4) == ci
    assert stats.mean_ci(x, n_resamples=500, seed=5) != ci


def test_wilson_against_closed_form() -> None:
    # k = 3 of n = 4: center (p + z²/2n)/(1 + z²/n), half z/(1 + z²/n) · √(p(1-p)/n + z²/4n²)
    p, n, z2 = 0.75, 4, Z975**2
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z975 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    ci = stats.mean_ci([1, 1, 0, 1], binary=True)
    assert ci["method"] == "wilson"
    assert (ci["low"], ci["high"]) == pytest.approx((center - half, center + half), abs=1e-12)
    # all correct: [n/(n + z²), 1], not the zero-width [1, 1] of a t or bootstrap interval
    ci = stats.mean_ci(np.ones(40), binary=True)
    assert ci["method"] == "wilson" and ci["high"] == 1.0
    assert ci["low"] == pytest.approx(40 / (40 + z2), abs=1e-12)
    with pytest.raises(ValueError):
        stats.mean_ci([0.0, 0.5, 1.0], binary=True)


@pytest.mark.parametrize("n", [3, 10, 30, 200])
def test_constant_data_gives_zero_width_not_nan(n: int) -> None:
    ci = stats.mean_ci(np.full(n, 0.7))  # std of these is ~1e-16, not 0
    assert ci["low"] == ci["high"] == pytest.approx(0.7) and "zero-width" in ci["reason"]
    json.dumps(ci, allow_nan=False)
    ci = stats.mean_ci(np.full(n, 0.7), clusters=np.arange(n) % max(3, n // 4))
    assert ci["low"] == ci["high"] == pytest.approx(0.7)


def test_mean_ci_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        stats.mean_ci([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError):
        stats.mean_ci([1.0, 2.0, 3.0], clusters=[0, 1])
    with pytest.raises(ValueError):
        stats.mean_ci([1.0, 2.0, 3.0], confidence=95)


# --- clustered ---------------------------------------------------------------------------------


def test_cluster_t_by_hand() -> None:
    # clusters A [1, 2, 3], B [4], C [2, 2], D [0, 1]: sums 6, 4, 4, 1; sizes 3, 1, 2, 2
    values = [1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 0.0, 1.0]
    labels = ["A", "A", "A", "B", "C", "C", "D", "D"]
    r = 15 / 8
    # residuals s - R·m = 0.375, 2.125, 0.25, -2.75; Σ² = 12.28125; V = 4/3 · 12.28125 / 8²
    se = math.sqrt(4 / 3 * 12.28125 / 64)
    ci = stats.mean_ci(values, clusters=labels)
    assert ci["method"] == "cluster-t" and ci["n"] == 8 and ci["n_clusters"] == 4
    assert (ci["low"], ci["high"]) == pytest.approx((r - T975[3] * se, r + T975[3] * se), abs=1e-12)
    same = stats.cluster_mean_ci([6.0, 4.0, 4.0, 1.0], [3, 1, 2, 2])
    assert same == ci
    assert stats.cluster_bootstrap_ci(np.array([6.0, 4.0, 4.0, 1.0]), np.array([3.0, 1, 2, 2]), 1000, 0) == [
        ci["low"],
        ci["high"],
    ]


def test_cluster_t_reduces_to_t_on_cluster_means_and_singletons() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4))  # 6 clusters of 4 equal-size
    clustered = stats.mean_ci(x.ravel(), clusters=np.repeat(np.arange(6), 4))
    plain = stats.mean_ci(x.mean(axis=1))
    assert (clustered["low"], clustered["high"]) == pytest.approx((plain["low"], plain["high"]), abs=1e-12)
    singletons = stats.mean_ci(x.ravel()[:20], clusters=np.arange(20))
    plain = stats.mean_ci(x.ravel()[:20])
    assert singletons["method"] == "cluster-t"
    assert (singletons["low"], singletons["high"]) == pytest.approx((plain["low"], plain["high"]), abs=1e-12)


def test_cluster_bootstrap_brute_force() -> None:
    # 30 clusters of sizes 1..5: the same index draws, then every resample's ratio mean by a plain loop
    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 6, 30)
    values = rng.normal(size=int(sizes.sum()))
    labels = np.repeat(np.arange(30), sizes)
    sums = [sum(values[labels == g]) for g in range(30)]
    idx = np.random.default_rng(9).integers(0, 30, size=(400, 30))
    est = [sum(sums[i] for i in row) / sum(int(sizes[i]) for i in row) for row in idx]
    expected = np.quantile(est, [0.025, 0.975])

    ci = stats.mean_ci(values, clusters=labels, n_resamples=400, seed=9)
    assert ci["method"] == "cluster-bootstrap" and ci["n_clusters"] == 30
    assert (ci["low"], ci["high"]) == pytest.approx(tuple(expected), abs=1e-12)
    assert stats.cluster_bootstrap_ci(np.array(sums), sizes.astype(float), 400, 9) == [ci["low"], ci["high"]]


def test_cluster_rules_below_three_and_disabled() -> None:
    ci = stats.mean_ci(np.arange(100.0), clusters=np.arange(100) % 2)  # 100 values, 2 clusters
    assert ci["low"] is None and ci["n"] == 100 and ci["n_clusters"] == 2 and "clusters" in ci["reason"]
    assert stats.cluster_bootstrap_ci(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 1000, 0) is None
    assert stats.cluster_bootstrap_ci(np.arange(40.0), np.ones(40), 0, 0) is None
    with pytest.raises(ValueError):
        stats.cluster_mean_ci([1.0, 2.0, 3.0], [1.0, 0.0, 1.0])


def test_cluster_wilson_by_hand() -> None:
    # clusters [1,1,1,1], [0,0,0,1], [1,1,1,1]: R = 0.75, residuals 1, -2, 1, V = 3/2 · 6 / 12² = 0.0625
    # effective n = R(1-R)/V = 0.1875 / 0.0625 = 3 (not 12), Wilson with the t(2) quantile
    values = [1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]
    ci = stats.mean_ci(values, clusters=np.repeat([0, 1, 2], 4), binary=True)
    p, n, c2 = 0.75, 3.0, T975[2] ** 2
    center = (p + c2 / (2 * n)) / (1 + c2 / n)
    half = T975[2] / (1 + c2 / n) * math.sqrt(p * (1 - p) / n + c2 / (4 * n * n))
    assert ci["method"] == "cluster-wilson"
    assert (ci["low"], ci["high"]) == pytest.approx((max(0, center - half), min(1, center + half)), abs=1e-12)
    # all ones: no variance, effective n = n = 8
    ci = stats.mean_ci(np.ones(8), clusters=[0, 0, 1, 1, 2, 2, 3, 3], binary=True)
    assert ci["high"] == 1.0 and ci["low"] == pytest.approx(8 / (8 + T975[3] ** 2), abs=1e-12)


# --- describe / paired_difference ---------------------------------------------------------------


def test_describe_ci_keys() -> None:
    assert "ci95" not in stats.describe([1.0, 2.0, 3.0])  # no CI asked for
    d = stats.describe([1.0, 2.0], bootstrap=50)
    assert d["ci95"] is None and d["ci_method"] is None and "too few" in d["ci_note"]
    d = stats.describe([1.0, 2.0, 3.0], bootstrap=50)
    assert d["ci_method"] == "t" and "ci_note" not in d
    assert d["ci95"] == pytest.approx([2 - T975[2] / math.sqrt(3), 2 + T975[2] / math.sqrt(3)])
    d = stats.describe([1, 0, 1, 1], bootstrap=50, binary=True)
    assert d["ci_method"] == "wilson"
    d = stats.describe(np.arange(58.0), bootstrap=100, clusters=np.arange(58) // 2)
    assert d["ci_method"] == "cluster-t" and d["n_clusters"] == 29 and d["count"] == 58
    d = stats.describe(np.arange(60.0), bootstrap=100, clusters=np.arange(60) // 2)
    assert d["ci_method"] == "cluster-bootstrap" and d["n_clusters"] == 30
    d = stats.describe([0.5, 0.5, 0.5], bootstrap=10)
    assert d["ci95"] == [0.5, 0.5] and "zero-width" in d["ci_note"]
    assert "ci90" in stats.describe([1.0, 2.0, 3.0], bootstrap=10, confidence=0.9)


def test_paired_difference() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0.6, 0.1, 80)
    y = x - 0.05 + rng.normal(0, 0.02, 80)
    out = stats.paired_difference(x, y, n_resamples=500, seed=1)
    d = x - y
    assert out["difference"] == pytest.approx(d.mean()) and out["n"] == 80
    assert out["ci_method"] == "bootstrap" and out["ci_note"] is None
    assert out["ci95"] == list(stats.bootstrap_mean_ci(d, 500, 1))
    assert out["ci95"][0] < 0.05 < out["ci95"][1]
    small = stats.paired_difference([1.0, 2.0], [0.0, 0.0])
    assert small["difference"] == 1.5 and small["ci95"] is None and small["ci_note"]
    clustered = stats.paired_difference(x, y, clusters=np.arange(80) // 8)
    assert clustered["ci_method"] == "cluster-t" and clustered["n_clusters"] == 10
    with pytest.raises(ValueError):
        stats.paired_difference([1.0], [1.0, 2.0])
    assert stats.paired_difference([], [])["difference"] is None


# --- tests and p-values ------------------------------------------------------------------------


def test_format_p() -> None:
    assert stats.format_p(0.032) == "0.032"
    assert stats.format_p(0.125) == "0.125"
    assert stats.format_p(3.1e-5) == "3.1e-05"
    assert stats.format_p(1.0) == "1"
    assert stats.format_p(0.0) == "< 1e-300"
    assert stats.format_p(5e-324) == "< 1e-300"
    assert stats.format_p(None) is None and stats.format_p(float("nan")) is None


def test_wilcoxon_paired_matches_scipy_and_handles_degenerate() -> None:
    from scipy.stats import wilcoxon

    x = np.array([0.9, 0.8, 0.95, 0.7, 0.85, 0.6])
    y = np.array([0.3, 0.4, 0.2, 0.5, 0.1, 0.65])
    out = stats.wilcoxon_paired(x, y)
    ref = wilcoxon(x, y)
    assert out["statistic"] == ref.statistic and out["p_value"] == pytest.approx(ref.pvalue)
    assert out["n"] == 6 and out["n_nonzero"] == 6
    assert out["p_value_text"] == stats.format_p(out["p_value"])
    assert stats.wilcoxon_paired([1.0], [0.0])["p_value"] is None
    undefined = stats.wilcoxon_paired([1.0, 2.0], [1.0, 2.0])
    assert undefined["p_value"] is None and undefined["z_statistic"] is None and undefined["n_nonzero"] == 0


def test_wilcoxon_z_by_hand() -> None:
    # d = 2, 3, 0, 3, -2, 1, 3, 0: zeros dropped -> 6 non-zero; |d| ranks 1 -> 1, 2 -> 2.5, 3 -> 5
    # W+ = 2.5 + 3·5 + 1 = 18.5, E = 6·7/4 = 10.5, Var = 6·7·13/24 - [(2³-2) + (3³-3)]/48 = 22.125
    x = [3, 5, 2, 6, 4, 1, 7, 5]
    y = [1, 2, 2, 3, 6, 0, 4, 5]
    out = stats.wilcoxon_paired(x, y)
    assert out["n"] == 8 and out["n_nonzero"] == 6
    assert out["z_statistic"] == pytest.approx(8 / math.sqrt(22.125), abs=1e-12)
    assert stats.wilcoxon_paired(y, x)["z_statistic"] == pytest.approx(-8 / math.sqrt(22.125), abs=1e-12)


def test_wilcoxon_underflow_prints_bound() -> None:
    d = np.arange(1, 20_001, dtype=float)
    out = stats.wilcoxon_paired(d, np.zeros_like(d))
    assert out["p_value"] == 0.0 and out["p_value_text"] == "< 1e-300" and out["z_statistic"] > 100


def test_mcnemar_exact_by_hand() -> None:
    # b=1, c=6: P(X <= 1 | n=7, 1/2) = (1 + 7)/128 = 1/16, two-sided 1/8
    assert stats.mcnemar_exact(1, 6) == {
        "b": 1,
        "c": 6,
        "n_discordant": 7,
        "p_value": 0.125,
        "p_value_text": "0.125",
    }
    assert stats.mcnemar_exact(0, 10)["p_value"] == pytest.approx(2 / 1024, abs=1e-15)  # 2 · (1/2)^10
    assert stats.mcnemar_exact(3, 3)["p_value"] == 1.0
    assert stats.mcnemar_exact(0, 0)["p_value"] == 1.0
    with pytest.raises(ValueError):
        stats.mcnemar_exact(-1, 2)


def test_holm_by_hand() -> None:
    # m = 4 (None excluded): sorted 0.01·4 = 0.04, 0.03·3 = 0.09, 0.04·2 = 0.08 -> 0.09 (monotone), 0.5·1
    adj = stats.holm({"a": 0.01, "b": None, "c": 0.04, "d": 0.03, "e": 0.5})
    assert list(adj) == ["a", "b", "c", "d", "e"]
    assert adj == pytest.approx({"a": 0.04, "b": None, "c": 0.09, "d": 0.09, "e": 0.5})
    assert stats.holm({"x": 0.6, "y": 0.7}) == {"x": 1.0, "y": 1.0}  # capped at 1
    assert stats.holm({"only": 0.02, "none": None}) == {"only": 0.02, "none": None}
    assert stats.holm({}) == {}
    with pytest.raises(ValueError):
        stats.holm({"bad": 1.5})


# --- z-scores, clamp ----------------------------------------------------------------------------


def test_zscores_sample_std() -> None:
    z = stats.zscores([1.0, 2.0, 3.0])
    assert z.tolist() == pytest.approx([-1.0, 0.0, 1.0])
    assert np.isnan(stats.zscores([1.0, 1.0])).all()
    assert np.isnan(stats.zscores([1.0])).all() and stats.zscores([]).size == 0


def test_zscores_identical_values_are_null_not_pm_one() -> None:
    same = np.full(7, 0.7)
    assert same.std(ddof=1) > 0  # float noise: ~1.2e-16
    assert np.isnan(stats.zscores(same)).all()
    # tiny but real spread far below 1 is kept (the tolerance is relative to max|x|)
    tiny = np.array([1e-20, 2e-20, 3e-20])
    assert stats.zscores(tiny).tolist() == pytest.approx([-1.0, 0.0, 1.0])


def test_robust_z() -> None:
    # median 3, |x - 3| = 2, 1, 0, 1, 97 -> MAD 1, scale 1.482602...
    z = stats.robust_z([1.0, 2.0, 3.0, 4.0, 100.0])
    assert z.tolist() == pytest.approx(
        [-2 / 1.482602218505602, -1 / 1.482602218505602, 0.0, 1 / 1.482602218505602, 97 / 1.482602218505602]
    )
    assert np.isnan(stats.robust_z([1.0, 1.0, 1.0, 2.0, 5.0])).all()  # more than half equal: MAD 0
    assert stats.robust_z([]).size == 0


def test_clamp_cosine() -> None:
    # self-similarities of float32 unit vectors (the embeddings' dtype) land on both sides of 1
    e = np.random.default_rng(0).normal(size=(200, 384)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sims = np.einsum("ij,ij->i", e, e, dtype=np.float64)
    assert (sims > 1).any()
    clamped = stats.clamp_cosine(sims)
    assert clamped.max() == 1.0 and np.array_equal(clamped[sims <= 1], sims[sims <= 1])
    assert stats.clamp_cosine(1.0000000000000002) == 1.0 and isinstance(stats.clamp_cosine(1.5), float)
    assert stats.clamp_cosine(-1.2) == -1.0 and stats.clamp_cosine(0.3) == 0.3
    out = stats.clamp_cosine([1.1, -2.0, 0.5])
    assert isinstance(out, np.ndarray) and out.tolist() == [1.0, -1.0, 0.5]


def test_quantiles_keys() -> None:
    q = stats.quantiles(np.arange(101), [0.05, 0.5, 0.95])
    assert q == {"q05": 5.0, "q50": 50.0, "q95": 95.0}


# --- rater agreement ---------------------------------------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers × 12 units example:
# alpha = 0.743 nominal, 0.815 ordinal, 0.849 interval, 0.797 ratio.
KRIPP = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_published_example(level: str, expected: float) -> None:
    out = stats.krippendorff_alpha(KRIPP, level)
    assert out["value"] == pytest.approx(expected, abs=5e-4)
    # unit 12 has a single rating: 40 pairable values of 41
    assert (out["n_raters"], out["n_units"], out["n_pairable"], out["reason"]) == (4, 12, 40, None)


def test_krippendorff_labels_nan_and_undefined() -> None:
    labels = [[None if v is None else "abcde"[v - 1] for v in row] for row in KRIPP]
    assert stats.krippendorff_alpha(labels)["value"] == pytest.approx(0.743, abs=5e-4)
    with_nan = [[float("nan") if v is None else v for v in row] for row in KRIPP]
    assert stats.krippendorff_alpha(with_nan)["value"] == pytest.approx(0.743, abs=5e-4)
    with pytest.raises(ValueError):
        stats.krippendorff_alpha(labels, "interval")
    one = stats.krippendorff_alpha([[1, 1, 1], [1, 1, None]])
    assert one["value"] is None and "single value" in one["reason"]
    unpaired = stats.krippendorff_alpha([[1, None], [None, 2]])
    assert unpaired["value"] is None and unpaired["n_pairable"] == 0
    json.dumps(one, allow_nan=False)


# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
# P̄ = 0.378, P̄e = 0.213, kappa = (0.378 - 0.213) / (1 - 0.213) = 0.210
FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_wikipedia() -> None:
    out = stats.fleiss_kappa(FLEISS)
    assert out["value"] == pytest.approx(0.210, abs=5e-4)
    assert (out["n_units"], out["n_raters"], out["n_categories"], out["reason"]) == (10, 14, 5, None)


def test_fleiss_kappa_undefined() -> None:
    assert "one category" in stats.fleiss_kappa([[3, 0], [3, 0]])["reason"]
    assert stats.fleiss_kappa([[2, 1], [1, 1]])["value"] is None  # 3 raters vs 2
    assert stats.fleiss_kappa([[1, 0], [0, 1]])["value"] is None  # one rater
    assert stats.fleiss_kappa(np.zeros((0, 3)))["reason"] == "no units"
    assert stats.fleiss_kappa([[2, 0], [0, 2]])["value"] == 1.0
    with pytest.raises(ValueError):
        stats.fleiss_kappa([[1.5, 0.5]])


def test_bounds_clip_the_interval() -> None:
    sims = [0.99, 0.97, 1.0]  # t-interval 0.9867 ± 0.0379 reaches past 1
    raw = stats.mean_ci(sims)
    assert raw["high"] > 1.0
    ci = stats.mean_ci(sims, bounds=(-1.0, 1.0))
    assert ci["high"] == 1.0 and ci["low"] == raw["low"]
    assert stats.describe(sims, bootstrap=10, bounds=(-1.0, 1.0))["ci95"] == [raw["low"], 1.0]
    clustered = stats.cluster_mean_ci([0.2, 0.0, 0.1], [1, 1, 1], bounds=(0.0, 1.0))
    assert clustered["low"] == 0.0
    assert stats.mean_ci([0.5, 0.6], bounds=(0.0, 1.0))["low"] is None


def test_wilcoxon_with_ties_or_zeros_gives_scipys_exact_permutation_values():
    from scipy import stats as sps

    from lalm_bench.stats import wilcoxon_paired

    rng = np.random.default_rng(7)
    cases = [rng.choice([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 3.0], size=int(n)) for n in rng.integers(2, 9, 30)]
    cases.append(np.array([1.0, 1.0, 2.0, -1.0, 0.0, 3.0, 3.0, 3.0, -2.0, 1.0, 0.5, 4.0, 4.0]))  # n = 13
    for d in cases:
        if not np.any(d):
            continue
        ours = wilcoxon_paired(d, np.zeros(d.size))
        ref = sps.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
        assert ours["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-12), d
        assert ours["statistic"] == pytest.approx(float(ref.statistic)), d


@pytest.mark.parametrize("kind", ["continuous", "small integers", "rounded", "float32 with zeros"])
def test_wilcoxon_equals_scipy_bit_for_bit(kind: str) -> None:
    """Exact (n <= 50, untied), exhaustive (ties or zeros, n <= 13) and normal-approximation branches all give
    scipy's floats, not just close ones: reports are recomputed independently with scipy."""
    from scipy import stats as sps

    from lalm_bench.stats import wilcoxon_paired

    rng = np.random.default_rng(["continuous", "small integers", "rounded", "float32 with zeros"].index(kind))
    for n in [*range(2, 20), *rng.integers(20, 140, 40)]:
        n = int(n)
        if kind == "continuous":
            x, y = rng.normal(size=n), rng.normal(size=n)
        elif kind == "small integers":
            x, y = rng.integers(0, 5, n).astype(float), rng.integers(0, 5, n).astype(float)
        elif kind == "rounded":
            x, y = np.round(rng.normal(size=n), 1), np.round(rng.normal(size=n) + 0.2, 1)
        else:
            x = rng.random(n).astype(np.float32).astype(float)
            y = x.copy()
            k = int(rng.integers(0, n + 1))
            y[:k] += rng.normal(size=k) * 0.01
        ours = wilcoxon_paired(x, y)
        if not np.any(x != y):
            assert ours["p_value"] is None
            continue
        ref = sps.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
        z = sps.wilcoxon(x, y, zero_method="wilcox", alternative="greater", method="asymptotic").zstatistic
        assert (ours["statistic"], ours["p_value"], ours["z_statistic"]) == (
            float(ref.statistic),
            float(ref.pvalue),
            float(z),
        ), (n, x, y)


def test_wilcoxon_zero_below_makes_rounding_noise_a_zero() -> None:
    """A zero computed as ±1e-8 on another floating-point path would enter the test at the lowest rank and move
    every rank above it; with ``zero_below`` both paths give the test of the exact zeros (scipy's)."""
    from scipy import stats as sps

    from lalm_bench.stats import wilcoxon_paired

    rng = np.random.default_rng(3)
    d = rng.normal(0.05, 0.2, 120)
    d[:15] = 0.0  # the same answer on both sides
    noisy = d.copy()
    noisy[:15] = rng.normal(0, 3e-8, 15)  # those zeros from another float path
    exact = wilcoxon_paired(d, np.zeros_like(d), zero_below=1e-6)
    other = wilcoxon_paired(noisy, np.zeros_like(d), zero_below=1e-6)
    ref = sps.wilcoxon(d, zero_method="wilcox")
    for key in ("statistic", "p_value", "z_statistic", "n_nonzero"):
        assert exact[key] == other[key], key
    assert (exact["statistic"], exact["p_value"], exact["n_nonzero"]) == (float(ref.statistic), float(ref.pvalue), 105)
    assert exact["zero_below"] == 1e-6 and wilcoxon_paired(d, np.zeros_like(d))["zero_below"] == 0.0
    raw = wilcoxon_paired(noisy, np.zeros_like(d))  # without it the noise is ranked
    assert raw["n_nonzero"] == 120 and raw["statistic"] != exact["statistic"]
    assert other["median_difference"] == float(np.median(noisy))  # the median is of the differences as given
