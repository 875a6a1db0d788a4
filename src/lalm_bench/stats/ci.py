"""Confidence intervals of a mean: t, Wilson and percentile bootstrap, plain and clustered.

Confidence intervals of a mean (:func:`mean_ci`) pick their method from the effective sample size
``n_eff`` (the number of clusters for clustered data, else the number of values), because the
percentile bootstrap covers far less than its nominal level on small samples (simulated 95%
intervals: n = 3 -> 0.74, n = 7 -> 0.87, n = 15 -> 0.91):

* ``n_eff < 3``: no interval (``low``/``high`` ``None``, with a ``reason``);
* ``3 <= n_eff < 30``: a t-interval (``"t"``, ``"cluster-t"``);
* ``n_eff >= 30``: the percentile bootstrap (``"bootstrap"``, ``"cluster-bootstrap"``);
* 0/1 data (``binary=True``), any ``n_eff >= 3``: the Wilson score interval (``"wilson"``,
  ``"cluster-wilson"``), since t and bootstrap intervals collapse to zero width at 0% or 100%.

:data:`CI_METHODS` describes each method name in words, for reports and manifests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lalm_bench.stats.arrays import as_array, is_zero_spread

MIN_CI_N = 3  # below this effective sample size no interval is given
BOOTSTRAP_MIN_N = 30  # from here on the percentile bootstrap, below it the t (or Wilson) interval
_CHUNK = 2_000_000  # bootstrap draws held in memory at once (indices), as in the original bootstrap

CI_METHODS: dict[str, str] = {
    "bootstrap": "percentile bootstrap of the mean (items resampled with replacement)",
    "cluster-bootstrap": "percentile bootstrap of the ratio mean, whole clusters resampled with replacement",
    "t": "Student t-interval: mean ± t(n-1) · s/√n",
    "cluster-t": "t-interval of the ratio mean with a cluster-robust (CR1) standard error, n_clusters-1 df",
    "wilson": "Wilson score interval of a proportion",
    "cluster-wilson": "Wilson score interval with the design-effect sample size and the t(n_clusters-1) quantile",
    "tango": "Tango's score interval for the difference of paired proportions (0/1 outcomes)",
    "cluster-tango": "Tango's score interval on counts divided by the design effect of the paired difference "
    "(Rao-Scott), t(n_clusters-1) quantile",
}


def _t_quantile(q: float, df: int) -> float:
    # scipy.special's stdtrit is what scipy.stats.t.ppf computes, bit for bit, without importing scipy.stats
    # (over a second of a warm rerun's start-up).
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def _normal_quantile(q: float) -> float:
    from scipy.special import ndtri  # = scipy.stats.norm.ppf

    return float(ndtri(q))


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = _CHUNK,
) -> tuple[float, float] | None:
    """Percentile bootstrap confidence interval of the mean, reproducible for a given seed.

    Low-level: it bootstraps whatever it is given, which undercovers badly below ~30 values; use
    :func:`mean_ci`, which picks a valid method for the sample size.
    Returns ``None`` when there are fewer than two values or ``n_resamples`` is 0.
    Resamples are drawn in chunks so memory stays bounded for large inputs.
    """
    a = as_array(values)
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


def _ci(
    low: float | None,
    high: float | None,
    method: str | None,
    n: int,
    n_clusters: int | None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "low": None if low is None else float(low),
        "high": None if high is None else float(high),
        "method": method,
        "n": int(n),
        "n_clusters": n_clusters,
        "reason": reason,
    }


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _wilson(p: float, n: float, crit: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` trials, critical value ``crit``."""
    c2 = crit * crit
    denom = 1.0 + c2 / n
    center = (p + c2 / (2.0 * n)) / denom
    half = crit / denom * math.sqrt(max(p * (1.0 - p), 0.0) / n + c2 / (4.0 * n * n))
    return max(0.0, center - half), min(1.0, center + half)


def _too_few(n_eff: int, clustered: bool) -> str:
    what = "clusters" if clustered else "values"
    if n_eff == 0:
        return f"no {what}"
    return f"{n_eff} {what} < {MIN_CI_N}: too few for a confidence interval"


def mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    clusters: Sequence[Any] | np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    binary: bool = False,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Confidence interval of the mean, with the method chosen from the effective sample size.

    Returns ``{low, high, method, n, n_clusters, reason}``: ``n`` values, ``n_clusters`` distinct
    labels in ``clusters`` (``None`` when unclustered). ``low``/``high``/``method`` are ``None`` when no
    interval is given; ``reason`` then says why (``"disabled"`` when ``n_resamples`` is 0, too few
    values or clusters, ...). ``reason`` is also set for a zero-width interval (all values, or all
    cluster means, equal up to float noise). Method names: see the module docstring and
    :data:`CI_METHODS`.

    ``clusters`` (one label per value) marks values that are not independent (the pairs of one clip,
    the criteria of one item); the estimate is then still the mean over all values (the ratio
    ``sum/size`` over clusters) and the effective sample size is the number of clusters. See
    :func:`cluster_mean_ci` for the clustered methods. ``binary=True`` requires 0/1 values.
    ``bounds`` (e.g. ``(-1, 1)`` for cosine similarities) clips the interval to the values the mean can
    take; a t-interval on few values near a bound can otherwise reach past it.
    Bootstrap results are reproducible for a ``seed``. Non-finite values raise ``ValueError``.
    """
    return _clip(_mean_ci(values, clusters, n_resamples, seed, confidence, binary), bounds)


def _clip(ci: dict[str, Any], bounds: tuple[float, float] | None) -> dict[str, Any]:
    if bounds is not None and ci["low"] is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
        ci["low"], ci["high"] = min(max(ci["low"], lo), hi), max(min(ci["high"], hi), lo)
    return ci


def _mean_ci(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[Any] | np.ndarray | None,
    n_resamples: int,
    seed: int,
    confidence: float,
    binary: bool,
) -> dict[str, Any]:
    _check_confidence(confidence)
    a = as_array(values)
    if not np.all(np.isfinite(a)):
        raise ValueError("mean_ci needs finite values (drop missing values first)")
    if binary and not np.all((a == 0.0) | (a == 1.0)):
        raise ValueError("binary=True needs 0/1 values")
    if clusters is not None:
        labels = np.asarray(clusters).ravel()
        if labels.size != a.size:
            raise ValueError(f"clusters has {labels.size} labels for {a.size} values")
        if not a.size:
            return _ci(None, None, None, 0, 0, "no values")
        _, inverse = np.unique(labels, return_inverse=True)
        sums = np.bincount(inverse, weights=a)
        sizes = np.bincount(inverse).astype(np.float64)
        return _cluster_mean_ci(sums, sizes, n_resamples, seed, confidence, binary)

    n = int(a.size)
    if n_resamples <= 0:
        return _ci(None, None, None, n, None, "disabled")
    if n < MIN_CI_N:
        return _ci(None, None, None, n, None, _too_few(n, False))
    m = float(a.mean())
    if binary:
        lo, hi = _wilson(m, n, _normal_quantile(0.5 + confidence / 2.0))
        return _ci(lo, hi, "wilson", n, None)
    sd = float(a.std(ddof=1))
    if is_zero_spread(sd, float(np.abs(a).max())):
        return _ci(m, m, "t" if n < BOOTSTRAP_MIN_N else "bootstrap", n, None, "all values equal: zero-width interval")
    if n < BOOTSTRAP_MIN_N:
        half = _t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
        return _ci(m - half, m + half, "t", n, None)
    ci = bootstrap_mean_ci(a, n_resamples, seed, confidence)
    assert ci is not None
    return _ci(ci[0], ci[1], "bootstrap", n, None)


def _cluster_bootstrap(
    sums: np.ndarray, sizes: np.ndarray, n_resamples: int, seed: int, confidence: float
) -> tuple[float, float]:
    """Percentile CI of sum(sums)/sum(sizes) when resampling clusters with replacement (chunked)."""
    g = sums.size
    rng = np.random.default_rng(seed)
    est = np.empty(n_resamples, dtype=np.float64)
    per = max(1, _CHUNK // g)
    for lo in range(0, n_resamples, per):
        hi = min(n_resamples, lo + per)
        idx = rng.integers(0, g, size=(hi - lo, g))
        est[lo:hi] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    alpha = (1.0 - confidence) / 2.0
    q = np.quantile(est, [alpha, 1.0 - alpha])
    return float(q[0]), float(q[1])


def cluster_mean_ci(
    cluster_sums: Sequence[float] | np.ndarray,
    cluster_sizes: Sequence[float] | np.ndarray,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    binary: bool = False,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """CI of the ratio mean ``R = Σ sums / Σ sizes`` over G clusters; the dict of :func:`mean_ci`.

    * G >= 30 (``"cluster-bootstrap"``): whole clusters are resampled with replacement and each
      resample's estimate is its total over its size (percentile interval, chunked like
      :func:`bootstrap_mean_ci`).
    * 3 <= G < 30 (``"cluster-t"``): ``R ± t(G-1) · SE`` with the cluster-robust (CR1, Taylor
      linearisation) variance of a ratio, ``V = G/(G-1) · Σ_g (s_g - R m_g)² / (Σ_g m_g)²``. It only
      uses cluster totals, so any correlation inside a cluster is accounted for, and it weights
      clusters by size as R does. With equal sizes it is exactly the t-interval of the G cluster
      means; with one value per cluster, exactly the plain t-interval. G-1 degrees of freedom is the
      usual small-G correction (Cameron & Miller 2015).
    * ``binary=True``, G >= 3 (``"cluster-wilson"``): Wilson's interval with the effective sample
      size ``n* = R(1-R)/V`` (n / design effect, capped at n; n when R is 0 or 1 or V is 0) and the
      t(G-1) quantile in place of z (Korn & Graubard 1998, Dean & Pagano 2015).
    * G < 3: no interval.

    ``bounds`` clips the interval as in :func:`mean_ci`.
    """
    return _clip(_cluster_mean_ci(cluster_sums, cluster_sizes, n_resamples, seed, confidence, binary), bounds)


def _cluster_mean_ci(
    cluster_sums: Sequence[float] | np.ndarray,
    cluster_sizes: Sequence[float] | np.ndarray,
    n_resamples: int,
    seed: int,
    confidence: float,
    binary: bool,
) -> dict[str, Any]:
    _check_confidence(confidence)
    s = as_array(cluster_sums)
    m = as_array(cluster_sizes)
    if s.size != m.size:
        raise ValueError("cluster_sums and cluster_sizes differ in length")
    if m.size and (not np.all(m > 0) or not np.all(np.isfinite(s))):
        raise ValueError("cluster sizes must be positive and sums finite")
    g = int(s.size)
    n_items = m.sum()
    n = round(float(n_items))
    if n_resamples <= 0:
        return _ci(None, None, None, n, g, "disabled")
    if g < MIN_CI_N:
        return _ci(None, None, None, n, g, _too_few(g, True))
    r = float(s.sum() / n_items)
    resid = s - r * m
    var = g / (g - 1) * float(np.dot(resid, resid)) / float(n_items) ** 2
    se = math.sqrt(var)
    if binary:
        crit = _t_quantile(0.5 + confidence / 2.0, g - 1)
        pq = r * (1.0 - r)
        n_eff = min(float(n_items), pq / var) if pq > 0 and var > 0 else float(n_items)
        lo, hi = _wilson(r, n_eff, crit)
        return _ci(lo, hi, "cluster-wilson", n, g)
    means = s / m
    if is_zero_spread(se, float(np.abs(means).max())):
        method = "cluster-t" if g < BOOTSTRAP_MIN_N else "cluster-bootstrap"
        return _ci(r, r, method, n, g, "all cluster means equal: zero-width interval")
    if g < BOOTSTRAP_MIN_N:
        half = _t_quantile(0.5 + confidence / 2.0, g - 1) * se
        return _ci(r - half, r + half, "cluster-t", n, g)
    lo, hi = _cluster_bootstrap(s, m, n_resamples, seed, confidence)
    return _ci(lo, hi, "cluster-bootstrap", n, g)


def cluster_bootstrap_ci(
    cluster_sums: np.ndarray,
    cluster_sizes: np.ndarray,
    n_resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> list[float] | None:
    """``[low, high]`` of :func:`cluster_mean_ci` (``None`` when it gives no interval).

    For 30 or more clusters this is the clip-level percentile bootstrap formerly in
    ``clotho_refs/agreement.py``, with identical results; below that, the cluster-t interval, and
    ``None`` below 3 clusters. Use :func:`cluster_mean_ci` to also get the method and the reason.
    """
    ci = cluster_mean_ci(cluster_sums, cluster_sizes, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return None if ci["low"] is None else [ci["low"], ci["high"]]
