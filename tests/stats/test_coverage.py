"""Coverage of the 95% intervals of ``stats.mean_ci``, simulated (fixed seed, 1,000 samples per cell).

With 1,000 repetitions the Monte Carlo standard error of a coverage near 0.95 is √(0.95·0.05/1000) ≈
0.007, so each band below is the method's expected coverage ± about 3.5 standard errors, widened
where the method itself is known to miss the nominal level (reasons next to each band). The data are
drawn in one array per cell; the intervals come from the real ``mean_ci``, one call per sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lalm_bench import stats

REPS = 1000
NS = (2, 3, 7, 15, 50)
TRUE_P = 0.8


def coverage(
    samples: list[tuple[np.ndarray, np.ndarray | None]], truth: float, binary: bool = False
) -> tuple[float, set[str | None]]:
    """Share of samples whose interval contains ``truth``; ``None`` intervals count as misses."""
    hits, methods = 0, set()
    for values, clusters in samples:
        ci = stats.mean_ci(values, clusters=clusters, binary=binary, n_resamples=1000, seed=0)
        methods.add(ci["method"])
        hits += ci["low"] is not None and ci["low"] <= truth <= ci["high"]
    return hits / len(samples), methods


def iid(draw: Callable[[np.random.Generator, tuple[int, int]], np.ndarray], n: int, seed: int) -> list:
    data = draw(np.random.default_rng(seed), (REPS, n))
    return [(row, None) for row in data]


def clustered(n_clusters: int, seed: int, binary: bool) -> list:
    """Clusters of 1-8 values; cluster effect u_g ~ N(0, 1) plus noise N(0, 1) (intra-class correlation
    0.5), or for 0/1 data Bernoulli(p_g) with p_g ~ Beta(4, 1) (mean 0.8, intra-class correlation 1/6)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=(REPS, n_clusters))
    out = []
    for row in sizes:
        labels = np.repeat(np.arange(n_clusters), row)
        if binary:
            p = rng.beta(4.0, 1.0, n_clusters)
            values = (rng.random(labels.size) < p[labels]).astype(np.float64)
        else:
            values = 0.5 + rng.normal(size=n_clusters)[labels] + rng.normal(size=labels.size)
        out.append((values, labels))
    return out


def normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(0.5, 0.2, shape)


def beta52(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.beta(5.0, 2.0, shape)  # bounded, left-skewed like cosine similarities; mean 5/7


def bernoulli(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return (rng.random(shape) < TRUE_P).astype(np.float64)


def wilson_exact_coverage(n: int, p: float) -> float:
    """Exact coverage of the Wilson interval: Σ_k Binom(k; n, p) · [p in Wilson(k/n)], closed form."""
    from scipy.stats import binom

    z = 1.959963984540054
    k = np.arange(n + 1)
    ph = k / n
    center = (ph + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n))
    covered = (center - half <= p) & (p <= center + half)
    return float(binom.pmf(k, n, p)[covered].sum())


def _check(cov: float, methods: set, n: int, band: tuple[float, float], small: str, large: str) -> None:
    if n == 2:
        assert cov == 0.0 and methods == {None}  # no interval below 3
        return
    assert methods == {small if n < 30 else large}
    assert band[0] <= cov <= band[1], f"n={n}: coverage {cov:.3f} outside {band}"


@pytest.mark.parametrize("n", NS)
def test_normal(n: int) -> None:
    # the t-interval is exact for normal data (0.95); the percentile bootstrap at n = 50 is ~0.94
    # (it uses the 1/n variance and z instead of t)
    cov, methods = coverage(iid(normal, n, seed=100 + n), 0.5)
    _check(cov, methods, n, (0.925, 0.975), "t", "bootstrap")


@pytest.mark.parametrize("n", NS)
def test_skewed_bounded(n: int) -> None:
    # Beta(5, 2) (skewness -0.6): a t-interval's coverage drops by O(skew/√n) with one-sided misses,
    # and the percentile bootstrap is ~0.935 at n = 50, so the lower edge is 0.01 lower than for normal data
    cov, methods = coverage(iid(beta52, n, seed=200 + n), 5 / 7)
    _check(cov, methods, n, (0.915, 0.975), "t", "bootstrap")


@pytest.mark.parametrize("n", NS)
def test_binary_wilson(n: int) -> None:
    # Coverage of any interval for a binomial proportion jumps with n and p (discreteness). Wilson's exact
    # coverage at p = 0.8 is 0.896 (n=3), 0.967 (7), 0.982 (15), 0.951 (50); the simulation must agree with
    # it within 0.025 (3.5 Monte Carlo SE), and it must lie in [0.88, 0.99].
    cov, methods = coverage(iid(bernoulli, n, seed=300 + n), TRUE_P, binary=True)
    if n == 2:
        assert cov == 0.0 and methods == {None}
        return
    exact = wilson_exact_coverage(n, TRUE_P)
    assert methods == {"wilson"}
    assert 0.88 <= exact <= 0.99
    assert abs(cov - exact) <= 0.025, f"n={n}: simulated {cov:.3f}, exact {exact:.3f}"


@pytest.mark.parametrize("n_clusters", NS)
def test_clustered(n_clusters: int) -> None:
    # correlated within cluster, unequal sizes: the cluster-robust t of a ratio mean is approximate
    # (~0.92 at 3 clusters), the cluster bootstrap ~0.935 at 50 clusters; a naive item-level interval
    # would cover 0.6-0.7 here
    cov, methods = coverage(clustered(n_clusters, seed=400 + n_clusters, binary=False), 0.5)
    _check(cov, methods, n_clusters, (0.905, 0.975), "cluster-t", "cluster-bootstrap")


@pytest.mark.parametrize("n_clusters", NS)
def test_clustered_binary(n_clusters: int) -> None:
    # cluster-Wilson is conservative with few clusters (t(2) = 4.30 at 3 clusters: ~0.999), so the band
    # is one-sided-wide: at least 0.925, at most 1
    cov, methods = coverage(clustered(n_clusters, seed=500 + n_clusters, binary=True), TRUE_P, binary=True)
    _check(cov, methods, n_clusters, (0.925, 1.0), "cluster-wilson", "cluster-wilson")


def test_old_percentile_bootstrap_undercovers_small_samples() -> None:
    # why mean_ci exists: the percentile bootstrap on 3 normal values covers ~0.75, not 0.95
    data = normal(np.random.default_rng(7), (REPS, 3))
    hits = 0
    for row in data:
        lo, hi = stats.bootstrap_mean_ci(row, 1000, 0)  # type: ignore[misc]
        hits += lo <= 0.5 <= hi
    assert 0.70 <= hits / REPS <= 0.80


def paired_coverage(x: np.ndarray, y: np.ndarray, truth: float) -> tuple[float, set[str | None]]:
    """Share of rows whose ``paired_difference`` interval of mean(x - y) contains ``truth``."""
    hits, methods = 0, set()
    for a, b in zip(x, y, strict=True):
        d = stats.paired_difference(a, b, n_resamples=1000, seed=0)
        methods.add(d["ci_method"])
        hits += d["ci95"] is not None and d["ci95"][0] <= truth <= d["ci95"][1]
    return hits / len(x), methods


@pytest.mark.parametrize("n", NS)
def test_paired_difference_bounded_similarities(n: int) -> None:
    # the listening probe's primary statistic: matched similarity (Beta(5, 2)) minus a noisy, clipped
    # baseline; the truth is E[x - clip(x - 0.2 + e)], estimated from 2,000,000 draws (SE ~1e-4).
    # Differences are nearly symmetric, so the band is that of normal data.
    rng = np.random.default_rng(700 + n)
    x = rng.beta(5.0, 2.0, (REPS, n))
    y = np.clip(x - 0.2 + rng.normal(0.0, 0.15, (REPS, n)), -1.0, 1.0)
    big = np.random.default_rng(1).beta(5.0, 2.0, 2_000_000)
    truth = float((big - np.clip(big - 0.2 + np.random.default_rng(2).normal(0.0, 0.15, big.size), -1, 1)).mean())
    cov, methods = paired_coverage(x, y, truth)
    _check(cov, methods, n, (0.925, 0.975), "t", "bootstrap")


@pytest.mark.parametrize("n", NS)
def test_paired_difference_listening_gap_null(n: int) -> None:
    # the listening gap under the documented null stand-in (tests/similarity/standin.py): per item
    # (s - 1)/2 with probability 2/3, else 1 - s, s ~ Beta(5, 2); the expectation is exactly 0. A
    # two-point mixture with a long right tail (skewness ~1.2): the t-interval undercovers by O(skew/√n)
    # (simulated 0.89 at n = 3, 0.92 at 7 and 15), the percentile bootstrap ~0.95 at 50
    rng = np.random.default_rng(600 + n)
    s = rng.beta(5.0, 2.0, (REPS, n))
    gap = np.where(rng.random((REPS, n)) < 2 / 3, (s - 1.0) / 2.0, 1.0 - s)
    cov, methods = paired_coverage(gap, np.zeros_like(gap), 0.0)
    band = {3: (0.855, 0.975), 7: (0.895, 0.975), 15: (0.895, 0.975)}.get(n, (0.925, 0.975))
    _check(cov, methods, n, band, "t", "bootstrap")
