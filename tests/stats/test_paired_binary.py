"""Tango's interval for paired 0/1 differences (``stats.paired_binary_difference``): exactness, edges, coverage.

Coverage is shown twice. Unclustered, exactly: every outcome (b, c) of n pairs is enumerated with its
trinomial probability (no Monte Carlo error). Clustered and unclustered, by simulation with fixed seeds
(4,000 samples per cell: Monte Carlo standard error ≈ 0.0035 at 0.95), drawn and scored in arrays with
the library's own :func:`tango_interval` and :func:`design_effect`; a few samples per cell are checked
against :func:`paired_binary_difference` itself, so the array path is the function's path.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gammaln
from scipy.stats import t as t_dist

from lalm_bench import stats
from lalm_bench.stats.paired_binary import _score, design_effect, tango_interval

NS = (7, 15, 30, 100)
DISCORDANCE = (0.02, 0.05, 0.1, 0.2, 0.3)
SHARES = (0.5, 0.75, 0.9)  # share of the discordant pairs where the first condition is right
REPS = 4000
MIN_COVERAGE = 0.93


def _check_against_root_finding(b: int, c: int, n: int) -> None:
    counts = (np.float64(b), np.float64(c), np.float64(n))

    def f(d: float, side: float = 1.0) -> float:
        return float(_score(np.array(d), *counts)) - side * 1.959963984540054

    lo, hi = tango_interval(b, c, n)
    est = (b - c) / n
    assert float(lo) == pytest.approx(brentq(f, -1 + 1e-9, est), abs=1e-9)
    assert float(hi) == pytest.approx(brentq(lambda d: f(d, -1.0), est, 1 - 1e-9), abs=1e-9)
    # the closed-form p21 inside the score is the maximum of the likelihood under Δ
    delta = est / 2 + 0.05

    def nll(p: float) -> float:
        return -float(b * np.log(p + delta) + c * np.log(p) + (n - b - c) * np.log(1 - 2 * p - delta))

    bounds = (max(0, -delta) + 1e-12, (1 - delta) / 2 - 1e-12)
    best = minimize_scalar(nll, bounds=bounds, method="bounded", options={"xatol": 1e-12})
    z = (b - c - n * delta) / np.sqrt(n * (2 * best.x + delta * (1 - delta)))
    assert float(_score(np.array(delta), *counts)) == pytest.approx(z, rel=1e-5)


def test_matches_root_finding_and_constrained_mle() -> None:
    # Bentur et al. 2009 (Fagerland, Lydersen & Laake 2017, ch. 8): n12 = 1, n21 = 7, N = 21
    lo, hi = tango_interval(1, 7, 21)
    assert float(lo) == pytest.approx(-0.5172, abs=1e-4)
    assert float(hi) == pytest.approx(-0.0260, abs=1e-4)
    for b, c, n in [(1, 7, 21), (6, 16, 161), (3, 0, 12), (40, 20, 160)]:
        _check_against_root_finding(b, c, n)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1] * 7, [1] * 7),  # no discordant pair
        ([0] * 5, [0] * 5),
        ([1] * 5, [0] * 5),  # all discordant one way: difference 1
        ([0] * 3, [1] * 3),
        ([1, 0], [0, 0]),
        ([1], [0]),
    ],
)
def test_inside_bounds_never_zero_width(x: list[int], y: list[int]) -> None:
    d = stats.paired_binary_difference(x, y)
    lo, hi = d["ci95"]
    assert -1.0 <= lo < hi <= 1.0
    assert lo <= d["difference"] <= hi
    assert d["ci_method"] == "tango"


def test_no_discordance_width_and_note() -> None:
    d = stats.paired_binary_difference([1, 1, 0, 0, 1, 0, 1], [1, 1, 0, 0, 1, 0, 1])
    z2 = 1.959963984540054**2
    assert d["ci95"] == pytest.approx([-z2 / (7 + z2), z2 / (7 + z2)], abs=1e-9)
    assert "no discordant" in d["ci_note"]


def test_the_five_cluster_case_of_the_issue_stays_in_range() -> None:
    # the old t interval gave -62.5 points [-105.3, -19.7] with 5 clusters
    x = [0, 0, 0, 0, 0, 1, 0, 0]
    y = [1, 1, 1, 1, 1, 1, 0, 1]
    d = stats.paired_binary_difference(x, y, clusters=[0, 0, 1, 1, 2, 3, 3, 4])
    assert d["difference"] == pytest.approx(-0.75)
    assert d["ci_method"] == "cluster-tango"
    assert -1.0 <= d["ci95"][0] < d["difference"] < d["ci95"][1] <= 1.0


def test_singleton_clusters_are_the_plain_interval() -> None:
    x, y = [1, 0, 1, 1, 0, 1], [0, 0, 1, 0, 1, 1]
    plain = stats.paired_binary_difference(x, y)
    single = stats.paired_binary_difference(x, y, clusters=["a", "b", "c", "d", "e", "f"])
    assert single["ci95"] == plain["ci95"]
    assert single["ci_method"] == "tango"
    assert "own cluster" in single["ci_note"]
    assert single["n_clusters"] == 6


def test_clustering_widens_when_discordance_is_concentrated() -> None:
    x = [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]
    y = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    plain = stats.paired_binary_difference(x, y)
    clustered = stats.paired_binary_difference(x, y, clusters=[0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3])
    assert clustered["design_effect"] > 1
    assert clustered["ci95"][1] - clustered["ci95"][0] > plain["ci95"][1] - plain["ci95"][0]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="0/1"):
        stats.paired_binary_difference([0.5], [1])
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_binary_difference([1, 0], [1])
    empty = stats.paired_binary_difference([], [])
    assert empty["ci95"] is None and empty["difference"] is None


def _cells() -> list[tuple[int, float, float]]:
    return [(n, disc, share) for n in NS for disc in DISCORDANCE for share in SHARES]


def test_exact_coverage_unclustered() -> None:
    worst = 1.0
    for n, disc, share in _cells():
        p12, p21 = disc * share, disc * (1 - share)
        b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = b + c <= n
        b, c = b[keep], c[keep]
        logp = (
            gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
            + b * np.log(p12) + c * np.log(p21) + (n - b - c) * np.log1p(-disc)
        )  # fmt: skip
        lo, hi = tango_interval(b, c, n)
        truth = p12 - p21
        cover = float(np.exp(logp)[(lo <= truth) & (truth <= hi)].sum())
        worst = min(worst, cover)
        assert cover >= MIN_COVERAGE, (n, disc, share, cover)
    assert worst < 0.95  # the grid reaches the cells where the interval is tight


def _simulate(n_clusters: int, disc: float, share: float, seed: int, clustered: bool) -> tuple[float, np.ndarray]:
    """Coverage of REPS samples. Clustered: ``n_clusters`` clips of 1–4 items whose discordance
    probabilities are Dirichlet around (p12, p21, 1 − disc) with concentration 4 (strongly correlated
    within a clip). Unclustered: ``n_clusters`` independent pairs."""
    rng = np.random.default_rng(seed)
    p12, p21 = disc * share, disc * (1 - share)
    size = 4 if clustered else 1
    sizes = rng.integers(1, size + 1, size=(REPS, n_clusters))
    if clustered:
        probs = rng.dirichlet(4.0 * np.array([p12, p21, 1 - disc]), size=(REPS, n_clusters))
        probs = np.nan_to_num(probs)  # a Dirichlet draw of a tiny component can underflow
    else:
        probs = np.broadcast_to(np.array([p12, p21, 1 - disc]), (REPS, n_clusters, 3))
    u = rng.random((REPS, n_clusters, size))
    present = np.arange(size) < sizes[..., None]
    d = np.where(u < probs[..., :1], 1, np.where(u < probs[..., :1] + probs[..., 1:2], -1, 0)) * present
    b = (d == 1).sum(axis=(1, 2)).astype(np.float64)
    c = (d == -1).sum(axis=(1, 2)).astype(np.float64)
    n = sizes.sum(axis=1).astype(np.float64)
    if clustered:
        deff = design_effect(d.sum(axis=2), sizes, b + c)
        crit = t_dist.ppf(0.975, n_clusters - 1)
    else:
        deff, crit = np.ones(REPS), 1.959963984540054
    lo, hi = tango_interval(b / deff, c / deff, n / deff, crit)
    truth = p12 - p21
    for i in range(3):  # the array path is the function's path
        x = (d[i][present[i]] == 1).astype(float)
        y = (d[i][present[i]] == -1).astype(float)
        labels = np.repeat(np.arange(n_clusters), sizes[i])
        ref = stats.paired_binary_difference(x, y, clusters=labels if clustered else None)
        if ref["ci_method"] == ("cluster-tango" if clustered else "tango"):
            assert ref["ci95"] == pytest.approx([lo[i], hi[i]], abs=1e-12)
    return float(np.mean((lo <= truth) & (truth <= hi))), hi - lo


@pytest.mark.parametrize("clustered", [False, True], ids=["unclustered", "clustered"])
def test_simulated_coverage(clustered: bool) -> None:
    for k, (n, disc, share) in enumerate(_cells()):
        cover, width = _simulate(n, disc, share, seed=1000 + k, clustered=clustered)
        assert cover >= MIN_COVERAGE, (n, disc, share, cover)
        assert np.all(width > 0)


def test_benjamini_hochberg_on_known_p_values():
    from lalm_bench.stats.paired_binary import benjamini_hochberg

    # sorted 0.005, 0.01, 0.03, 0.04 -> times 4/rank: 0.02, 0.02, 0.04, 0.04 (already monotone)
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # the step-up minimum: 0.04 · 3/2 = 0.06 would exceed the next rank's 0.05 · 3/3, so it takes 0.05
    assert benjamini_hochberg([0.02, 0.04, 0.05]) == pytest.approx([0.05, 0.05, 0.05])
    assert benjamini_hochberg([0.9, 1.0]) == pytest.approx([1.0, 1.0])  # never above 1
