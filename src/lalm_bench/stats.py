"""Statistics helpers shared by the jobs: means, sample std, bootstrap CIs, z-scores, tests.

All functions return plain Python floats (or ``None`` where a statistic is undefined), so their
results can go straight into strict JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _arr(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def mean(values: Sequence[float] | np.ndarray) -> float | None:
    a = _arr(values)
    return float(a.mean()) if a.size else None


def sample_std(values: Sequence[float] | np.ndarray) -> float | None:
    """Sample standard deviation (ddof=1); ``None`` for fewer than two values."""
    a = _arr(values)
    return float(a.std(ddof=1)) if a.size >= 2 else None


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = 2_000_000,
) -> tuple[float, float] | None:
    """Percentile bootstrap confidence interval of the mean, reproducible for a given seed.

    Returns ``None`` when there are fewer than two values or ``n_resamples`` is 0.
    Resamples are drawn in chunks so memory stays bounded for large inputs.
    """
    a = _arr(values)
    n = a.size
    if n < 2 or n_resamples <= 0:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    per = max(1, chunk // n)
    for start in range(0, n_resamples, per):
        stop = min(n_resamples, start + per)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = a[idx].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def zscores(values: Sequence[float] | np.ndarray, ddof: int = 1) -> np.ndarray:
    """z = (x - mean) / std with the sample std (ddof=1) by default; NaN where std is 0 or undefined."""
    a = _arr(values)
    if a.size <= ddof:
        return np.full(a.shape, np.nan)
    sd = a.std(ddof=ddof)
    if sd == 0 or not math.isfinite(sd):
        return np.full(a.shape, np.nan)
    return (a - a.mean()) / sd


def quantiles(values: Sequence[float] | np.ndarray, qs: Sequence[float]) -> dict[str, float | None]:
    a = _arr(values)
    if not a.size:
        return {f"q{round(q * 100):02d}": None for q in qs}
    return {f"q{round(q * 100):02d}": float(v) for q, v in zip(qs, np.quantile(a, qs), strict=True)}


def describe(
    values: Sequence[float] | np.ndarray, bootstrap: int = 0, seed: int = 0, confidence: float = 0.95
) -> dict[str, Any]:
    """``{mean, std, count}`` plus ``ci95`` ([lo, hi] or ``None``) when ``bootstrap`` > 0."""
    a = _arr(values)
    out: dict[str, Any] = {"mean": mean(a), "std": sample_std(a), "count": int(a.size)}
    if bootstrap > 0:
        ci = bootstrap_mean_ci(a, bootstrap, seed, confidence)
        out[f"ci{round(confidence * 100)}"] = list(ci) if ci else None
    return out


def wilcoxon_paired(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Two-sided paired Wilcoxon signed-rank test of x vs y (scipy).

    Returns ``{statistic, p_value, n, median_difference}``; statistic and p are ``None`` when the test
    is undefined (fewer than two pairs, or all differences zero).
    """
    from scipy import stats as sps

    a, b = _arr(x), _arr(y)
    d = a - b
    out: dict[str, Any] = {
        "statistic": None,
        "p_value": None,
        "n": int(d.size),
        "median_difference": float(np.median(d)) if d.size else None,
    }
    if d.size < 2 or not np.any(d != 0):
        return out
    res = sps.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    out["statistic"] = float(res.statistic)
    out["p_value"] = float(res.pvalue)
    return out
