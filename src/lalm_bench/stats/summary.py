"""Summaries of values: means, spreads, the ``describe`` dict, z-scores, quantiles, clamped cosines."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lalm_bench.stats.arrays import as_array, is_zero_spread
from lalm_bench.stats.ci import mean_ci


def mean(values: Sequence[float] | np.ndarray) -> float | None:
    a = as_array(values)
    return float(a.mean()) if a.size else None


def sample_std(values: Sequence[float] | np.ndarray) -> float | None:
    """Sample standard deviation (ddof=1); ``None`` for fewer than two values."""
    a = as_array(values)
    return float(a.std(ddof=1)) if a.size >= 2 else None


def ci_key(confidence: float) -> str:
    return f"ci{round(confidence * 100)}"


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    """``{min, max, range, sd}`` of the values that are not ``None`` (run-to-run spread of repeats); every
    entry ``None`` without values, ``sd`` ``None`` with one."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if not v.size:
        return {"min": None, "max": None, "range": None, "sd": None}
    return {
        "min": float(v.min()),
        "max": float(v.max()),
        "range": float(v.max() - v.min()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else None,
    }


def describe(
    values: Sequence[float] | np.ndarray,
    bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    *,
    clusters: Sequence[Any] | np.ndarray | None = None,
    binary: bool = False,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """``{mean, std, count}``; when ``bootstrap`` > 0 also the CI of :func:`mean_ci`.

    The CI keys are ``ci95`` (``ci90`` etc. for other levels: ``[low, high]`` or ``None``), ``ci_method``
    and, when the interval is ``None`` or has zero width, ``ci_note`` (the reason). ``bootstrap`` is
    the number of resamples where a bootstrap is used; the t and Wilson intervals ignore it.
    ``n_clusters`` is added when ``clusters`` is given; ``clusters``, ``binary`` and ``bounds`` are passed to
    :func:`mean_ci`.
    """
    a = as_array(values)
    out: dict[str, Any] = {"mean": mean(a), "std": sample_std(a), "count": int(a.size)}
    if bootstrap > 0:
        ci = mean_ci(
            a, clusters=clusters, n_resamples=bootstrap, seed=seed, confidence=confidence, binary=binary, bounds=bounds
        )
        out[ci_key(confidence)] = None if ci["low"] is None else [ci["low"], ci["high"]]
        out["ci_method"] = ci["method"]
        if ci["reason"] is not None:
            out["ci_note"] = ci["reason"]
        if clusters is not None:
            out["n_clusters"] = ci["n_clusters"]
    return out


def zscores(values: Sequence[float] | np.ndarray, ddof: int = 1) -> np.ndarray:
    """z = (x - mean) / std with the sample std (ddof=1) by default.

    All NaN (callers write ``null``) when the std is undefined (at most ``ddof`` values, non-finite
    data) or zero up to float noise: ``std <= 1e-12 * max|x|``. Identical values otherwise give a
    std of ~1e-16 and meaningless z-scores of about ±1.
    """
    a = as_array(values)
    if a.size <= ddof:
        return np.full(a.shape, np.nan)
    sd = float(a.std(ddof=ddof))
    if not math.isfinite(sd) or is_zero_spread(sd, float(np.abs(a).max())):
        return np.full(a.shape, np.nan)
    return (a - a.mean()) / sd


def robust_z(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Robust z = (x - median) / (1.4826 · MAD), MAD scaled to the std for normal data (scipy).

    All NaN when undefined: no values, non-finite data, or a scaled MAD ``<= 1e-12 * max|x|``, which
    happens whenever more than half of the values are equal.
    """
    from scipy.special import ndtri

    a = as_array(values)
    if not a.size or not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan)
    # scipy.stats.median_abs_deviation(a, scale="normal"), bit for bit, without importing scipy.stats
    scale = float(np.median(np.abs(a - np.median(a))) / ndtri(0.75))
    if is_zero_spread(scale, float(np.abs(a).max())):
        return np.full(a.shape, np.nan)
    return (a - np.median(a)) / scale


def clamp_cosine(a: float | Sequence[float] | np.ndarray) -> Any:
    """Cosine similarities clipped to [-1, 1] (dot products of unit vectors exceed 1 by float error).

    A float (or 0-d input) gives a float, anything else a float64 array.
    """
    arr = np.clip(np.asarray(a, dtype=np.float64), -1.0, 1.0)
    return float(arr) if arr.ndim == 0 else arr


def quantiles(values: Sequence[float] | np.ndarray, qs: Sequence[float]) -> dict[str, float | None]:
    a = as_array(values)
    if not a.size:
        return {f"q{round(q * 100):02d}": None for q in qs}
    return {f"q{round(q * 100):02d}": float(v) for q, v in zip(qs, np.quantile(a, qs), strict=True)}
