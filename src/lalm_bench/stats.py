"""Statistics helpers shared by the jobs: means, confidence intervals, z-scores, tests, rater agreement.

All functions return plain Python floats (or ``None`` where a statistic is undefined), so their
results can go straight into strict JSON.

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
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np

MIN_CI_N = 3  # below this effective sample size no interval is given
BOOTSTRAP_MIN_N = 30  # from here on the percentile bootstrap, below it the t (or Wilson) interval
REL_TOL = 1e-12  # spreads at or below REL_TOL * max|x| are float noise, i.e. zero
_CHUNK = 2_000_000  # bootstrap draws held in memory at once (indices), as in the original bootstrap

CI_METHODS: dict[str, str] = {
    "bootstrap": "percentile bootstrap of the mean (items resampled with replacement)",
    "cluster-bootstrap": "percentile bootstrap of the ratio mean, whole clusters resampled with replacement",
    "t": "Student t-interval: mean ± t(n-1) · s/√n",
    "cluster-t": "t-interval of the ratio mean with a cluster-robust (CR1) standard error, n_clusters-1 df",
    "wilson": "Wilson score interval of a proportion",
    "cluster-wilson": "Wilson score interval with the design-effect sample size and the t(n_clusters-1) quantile",
}


def _arr(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def _is_zero_spread(spread: float, scale: float) -> bool:
    """True when ``spread`` is zero up to float noise relative to the data's scale ``max|x|``."""
    return not spread > REL_TOL * scale


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
    chunk: int = _CHUNK,
) -> tuple[float, float] | None:
    """Percentile bootstrap confidence interval of the mean, reproducible for a given seed.

    Low-level: it bootstraps whatever it is given, which undercovers badly below ~30 values; use
    :func:`mean_ci`, which picks a valid method for the sample size.
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
    a = _arr(values)
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
        from scipy.stats import norm

        lo, hi = _wilson(m, n, float(norm.ppf(0.5 + confidence / 2.0)))
        return _ci(lo, hi, "wilson", n, None)
    sd = float(a.std(ddof=1))
    if _is_zero_spread(sd, float(np.abs(a).max())):
        return _ci(m, m, "t" if n < BOOTSTRAP_MIN_N else "bootstrap", n, None, "all values equal: zero-width interval")
    if n < BOOTSTRAP_MIN_N:
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
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
    s = _arr(cluster_sums)
    m = _arr(cluster_sizes)
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
        from scipy.stats import t

        crit = float(t.ppf(0.5 + confidence / 2.0, g - 1))
        pq = r * (1.0 - r)
        n_eff = min(float(n_items), pq / var) if pq > 0 and var > 0 else float(n_items)
        lo, hi = _wilson(r, n_eff, crit)
        return _ci(lo, hi, "cluster-wilson", n, g)
    means = s / m
    if _is_zero_spread(se, float(np.abs(means).max())):
        method = "cluster-t" if g < BOOTSTRAP_MIN_N else "cluster-bootstrap"
        return _ci(r, r, method, n, g, "all cluster means equal: zero-width interval")
    if g < BOOTSTRAP_MIN_N:
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2.0, g - 1)) * se
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
    ``references/agreement.py``, with identical results; below that, the cluster-t interval, and
    ``None`` below 3 clusters. Use :func:`cluster_mean_ci` to also get the method and the reason.
    """
    ci = cluster_mean_ci(cluster_sums, cluster_sizes, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return None if ci["low"] is None else [ci["low"], ci["high"]]


def _ci_key(confidence: float) -> str:
    return f"ci{round(confidence * 100)}"


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
    a = _arr(values)
    out: dict[str, Any] = {"mean": mean(a), "std": sample_std(a), "count": int(a.size)}
    if bootstrap > 0:
        ci = mean_ci(
            a, clusters=clusters, n_resamples=bootstrap, seed=seed, confidence=confidence, binary=binary, bounds=bounds
        )
        out[_ci_key(confidence)] = None if ci["low"] is None else [ci["low"], ci["high"]]
        out["ci_method"] = ci["method"]
        if ci["reason"] is not None:
            out["ci_note"] = ci["reason"]
        if clusters is not None:
            out["n_clusters"] = ci["n_clusters"]
    return out


def paired_difference(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    clusters: Sequence[Any] | np.ndarray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Mean of ``x - y`` over pairs with its CI: ``{difference, ci95, ci_method, ci_note, n, n_clusters}``.

    The CI is :func:`mean_ci` of the differences, so a bootstrap resamples pairs (or clusters of
    pairs) jointly: the paired bootstrap. ``ci95`` is named after ``confidence`` like in
    :func:`describe`; ``ci_note`` is ``None`` unless there is something to say.
    """
    a, b = _arr(x), _arr(y)
    if a.size != b.size:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    d = a - b
    ci = mean_ci(d, clusters=clusters, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return {
        "difference": mean(d),
        _ci_key(confidence): None if ci["low"] is None else [ci["low"], ci["high"]],
        "ci_method": ci["method"],
        "ci_note": ci["reason"],
        "n": int(d.size),
        "n_clusters": ci["n_clusters"],
    }


def zscores(values: Sequence[float] | np.ndarray, ddof: int = 1) -> np.ndarray:
    """z = (x - mean) / std with the sample std (ddof=1) by default.

    All NaN (callers write ``null``) when the std is undefined (at most ``ddof`` values, non-finite
    data) or zero up to float noise: ``std <= 1e-12 * max|x|``. Identical values otherwise give a
    std of ~1e-16 and meaningless z-scores of about ±1.
    """
    a = _arr(values)
    if a.size <= ddof:
        return np.full(a.shape, np.nan)
    sd = float(a.std(ddof=ddof))
    if not math.isfinite(sd) or _is_zero_spread(sd, float(np.abs(a).max())):
        return np.full(a.shape, np.nan)
    return (a - a.mean()) / sd


def robust_z(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Robust z = (x - median) / (1.4826 · MAD), MAD scaled to the std for normal data (scipy).

    All NaN when undefined: no values, non-finite data, or a scaled MAD ``<= 1e-12 * max|x|``, which
    happens whenever more than half of the values are equal.
    """
    from scipy.stats import median_abs_deviation

    a = _arr(values)
    if not a.size or not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan)
    scale = float(median_abs_deviation(a, scale="normal"))
    if _is_zero_spread(scale, float(np.abs(a).max())):
        return np.full(a.shape, np.nan)
    return (a - np.median(a)) / scale


def clamp_cosine(a: float | Sequence[float] | np.ndarray) -> Any:
    """Cosine similarities clipped to [-1, 1] (dot products of unit vectors exceed 1 by float error).

    A float (or 0-d input) gives a float, anything else a float64 array.
    """
    arr = np.clip(np.asarray(a, dtype=np.float64), -1.0, 1.0)
    return float(arr) if arr.ndim == 0 else arr


def quantiles(values: Sequence[float] | np.ndarray, qs: Sequence[float]) -> dict[str, float | None]:
    a = _arr(values)
    if not a.size:
        return {f"q{round(q * 100):02d}": None for q in qs}
    return {f"q{round(q * 100):02d}": float(v) for q, v in zip(qs, np.quantile(a, qs), strict=True)}


def format_p(p: float | None) -> str | None:
    """A p-value as text: ``"0.032"``, ``"0.125"`` (three significant digits), ``"3.1e-05"`` below 0.001 (two),
    ``"< 1e-300"`` when p underflowed (0 or below 1e-300); ``None`` for ``None``/NaN."""
    if p is None or not math.isfinite(p):
        return None
    if p < 1e-300:
        return "< 1e-300"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3g}"


def wilcoxon_paired(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Two-sided paired Wilcoxon signed-rank test of x vs y (scipy; zero differences dropped).

    Returns ``{statistic, p_value, p_value_text, z_statistic, n, n_nonzero, median_difference}``:
    ``n`` pairs of which ``n_nonzero`` have a non-zero difference (the test uses only those);
    ``statistic`` and ``p_value`` are scipy's (exact for small samples without ties, else the normal
    approximation); ``z_statistic`` is scipy's normal approximation ``(W+ - E[W+]) / sd(W+)`` with tie
    correction and no continuity correction, positive when x tends to exceed y. Statistic, p and z are
    ``None`` when the test is undefined (fewer than two pairs, or all differences zero).
    """
    from scipy import stats as sps

    a, b = _arr(x), _arr(y)
    d = a - b
    nz = d[d != 0]
    out: dict[str, Any] = {
        "statistic": None,
        "p_value": None,
        "p_value_text": None,
        "z_statistic": None,
        "n": int(d.size),
        "n_nonzero": int(nz.size),
        "median_difference": float(np.median(d)) if d.size else None,
    }
    if d.size < 2 or not nz.size:
        return out
    res = sps.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    out["statistic"] = float(res.statistic)
    out["p_value"] = float(res.pvalue)
    out["p_value_text"] = format_p(out["p_value"])
    # scipy's z of W+ is signed when one-sided (the two-sided one uses min(W+, W-), so always <= 0)
    approx = sps.wilcoxon(a, b, zero_method="wilcox", alternative="greater", method="approx", correction=False)
    out["z_statistic"] = float(approx.zstatistic)
    return out


def mcnemar_exact(b: int, c: int) -> dict[str, Any]:
    """Exact McNemar test: two-sided binomial test of ``b`` vs ``c`` discordant pairs at p = 1/2.

    ``b``: pairs where only the first system is right, ``c``: only the second. Returns ``{b, c,
    n_discordant, p_value, p_value_text}``; no discordant pairs give p = 1.0.
    """
    from scipy.stats import binomtest

    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative")
    n = b + c
    p = 1.0 if n == 0 else min(1.0, float(binomtest(b, n, 0.5).pvalue))
    return {"b": b, "c": c, "n_discordant": n, "p_value": p, "p_value_text": format_p(p)}


def holm(pvalues: Mapping[str, float | None]) -> dict[str, float | None]:
    """Holm–Bonferroni adjusted p-values, same keys and order.

    ``p_(i) -> max_{j <= i} min(1, (m - j + 1) · p_(j))`` over the m p-values sorted ascending (ties
    in input order); ``None`` (or NaN) stays ``None`` and does not count towards m.
    """
    keys = [k for k, p in pvalues.items() if p is not None and not math.isnan(p)]
    for k in keys:
        if not 0.0 <= float(pvalues[k]) <= 1.0:  # type: ignore[arg-type]
            raise ValueError(f"p-value of {k!r} is not in [0, 1]: {pvalues[k]}")
    out: dict[str, float | None] = {k: None for k in pvalues}
    m = len(keys)
    running = 0.0
    for rank, k in enumerate(sorted(keys, key=lambda k: float(pvalues[k]))):  # type: ignore[arg-type]
        running = max(running, min(1.0, (m - rank) * float(pvalues[k])))  # type: ignore[arg-type]
        out[k] = running
    return out


Level = Literal["nominal", "ordinal", "interval", "ratio"]


def krippendorff_alpha(ratings: Any, level: Level = "nominal") -> dict[str, Any]:
    """Krippendorff's alpha (``krippendorff`` package) of a raters × units table; missing = None/NaN.

    Returns ``{value, level, n_raters, n_units, n_pairable, reason}``: ``n_units`` columns, of which
    the values in units with at least two ratings (``n_pairable``) enter alpha. ``value`` is ``None``
    with a ``reason`` when alpha is undefined: fewer than two pairable values, or a single value in
    all pairable data (no expected disagreement). Nominal ratings may be labels (strings); other
    levels need numbers. ``level``: nominal, ordinal, interval or ratio.
    """
    import krippendorff

    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"unknown level of measurement: {level!r}")
    raw = np.asarray(ratings, dtype=object)
    if raw.ndim != 2:
        raise ValueError("ratings must be a raters × units table")
    missing = np.vectorize(lambda v: v is None or (isinstance(v, float) and math.isnan(v)), otypes=[bool])(raw)
    try:
        data = np.where(missing, np.nan, raw).astype(np.float64)
    except (TypeError, ValueError):
        if level != "nominal":
            raise ValueError(f"{level} ratings must be numbers") from None
        labels = {v: i for i, v in enumerate(sorted({str(v) for v in raw[~missing]}))}
        data = np.full(raw.shape, np.nan)
        data[~missing] = [labels[str(v)] for v in raw[~missing]]
    n_raters, n_units = data.shape
    per_unit = (~np.isnan(data)).sum(axis=0)
    pairable = data[:, per_unit >= 2]
    pairable_values = pairable[~np.isnan(pairable)]
    out: dict[str, Any] = {
        "value": None,
        "level": level,
        "n_raters": int(n_raters),
        "n_units": int(n_units),
        "n_pairable": int(pairable_values.size),
        "reason": None,
    }
    if pairable_values.size < 2:
        out["reason"] = "fewer than two pairable values (no unit rated at least twice)"
        return out
    if np.unique(pairable_values).size < 2:
        out["reason"] = "a single value in all pairable ratings: no expected disagreement, alpha undefined"
        return out
    value = float(krippendorff.alpha(reliability_data=data, level_of_measurement=cast(Level, level)))
    if not math.isfinite(value):
        out["reason"] = "alpha undefined (no expected disagreement)"
        return out
    out["value"] = value
    return out


def fleiss_kappa(table: Sequence[Sequence[int]] | np.ndarray) -> dict[str, Any]:
    """Fleiss' kappa of a units × categories table of counts (each unit rated by the same number of raters).

    Returns ``{value, n_units, n_raters, n_categories, reason}``; ``value`` is ``None`` with a
    ``reason`` when kappa is undefined: no units, fewer than two raters per unit, units with different
    numbers of raters (use :func:`krippendorff_alpha`), or all ratings in one category (P_e = 1).
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or (t.size and (np.any(t < 0) or np.any(t != np.round(t)))):
        raise ValueError("table must be a units × categories table of non-negative counts")
    n_units, n_cat = t.shape
    per_unit = t.sum(axis=1)
    out: dict[str, Any] = {
        "value": None,
        "n_units": int(n_units),
        "n_raters": int(per_unit[0]) if n_units else 0,
        "n_categories": int(n_cat),
        "reason": None,
    }
    if n_units == 0:
        out["reason"] = "no units"
        return out
    if np.any(per_unit != per_unit[0]):
        out["n_raters"] = None
        out["reason"] = "units have different numbers of raters (Fleiss' kappa needs the same number)"
        return out
    r = float(per_unit[0])
    if r < 2:
        out["reason"] = "fewer than two raters per unit"
        return out
    p_unit = (np.sum(t * t, axis=1) - r) / (r * (r - 1))
    p_cat = t.sum(axis=0) / (n_units * r)
    p_bar, p_e = float(p_unit.mean()), float(np.sum(p_cat * p_cat))
    if _is_zero_spread(1.0 - p_e, 1.0):
        out["reason"] = "all ratings in one category: chance agreement is 1, kappa undefined"
        return out
    out["value"] = (p_bar - p_e) / (1.0 - p_e)
    return out
