"""The difference of two paired proportions (0/1 outcomes of one item under two conditions) with its CI.

:func:`paired_binary_difference` estimates ``Δ = mean(x) − mean(y) = (b − c) / n`` from the discordant
counts (``b``: x right and y wrong, ``c``: the reverse) and gives

* ``"tango"``: Tango's score interval (Tango 1998, *Stat Med* 17:891–908): the Δ for which the
  score statistic ``(b − c − nΔ) / √(n(2·p̃₂₁ + Δ(1 − Δ)))``, with ``p̃₂₁`` the maximum-likelihood
  estimate of the second discordant cell under Δ, stays within ±z. It lies inside [−1, 1] by
  construction, is never of zero width (no discordant pair gives about ±z²/(n + z²)), and keeps
  its level at small n and rare discordance (Fagerland, Lydersen & Laake 2014, "Recommended tests and
  confidence intervals for paired binomial proportions", *Stat Med* 33:2850–2875);
* ``"cluster-tango"`` where items share a cluster (the questions of one audio clip): the same
  interval on counts divided by the design effect of the paired difference (the Rao–Scott
  adjustment, Rao & Scott 1992, *Biometrics* 48:577–585; for matched pairs Durkalski et al. 2003,
  *Stat Med* 22:2417–2428), ``deff = V_cluster / V_iid`` of the mean difference (CR1 ratio variance of
  the cluster totals over the same estimator with every item its own cluster; floored at 1, since a
  design effect below 1 estimated from few clusters is noise), with the t(G − 1) quantile in place of
  z as in the cluster-Wilson interval (Korn & Graubard 1998).

:func:`tango_interval` is the vectorised interval on counts (floats allowed: the design-effect
counts are not whole), used by the coverage simulations in ``tests/core``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lalm_bench.stats.arrays import as_array

_BISECTIONS = 60  # [−1, 1] halved 60 times: far below float resolution of a reported percentage


def _score(delta: np.ndarray, b: np.ndarray, c: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Tango's score statistic at ``delta`` (decreasing in delta); ±inf where its variance is 0."""
    a = 2.0 * n
    bb = -b - c + (2.0 * n - b + c) * delta
    cc = -c * delta * (1.0 - delta)
    p21 = np.maximum((np.sqrt(np.maximum(bb * bb - 4.0 * a * cc, 0.0)) - bb) / (2.0 * a), 0.0)
    var = n * (2.0 * p21 + delta * (1.0 - delta))
    num = b - c - n * delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / np.sqrt(np.maximum(var, 0.0))
    edge = np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0))
    return np.where(var > 0, z, edge)


def tango_interval(
    b: float | np.ndarray, c: float | np.ndarray, n: float | np.ndarray, crit: float | np.ndarray = 1.959963984540054
) -> tuple[np.ndarray, np.ndarray]:
    """Tango's score interval for ``Δ = (b − c) / n`` (arrays broadcast): ``(low, high)`` arrays.

    ``b`` and ``c`` are the discordant counts, ``n`` the number of pairs (all may be non-integer),
    ``crit`` the critical value (z or t). The bounds come from bisection of the monotone score
    statistic on [−1, Δ̂] and [Δ̂, 1], so they never leave [−1, 1]."""
    b, c, n, crit = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (b, c, n, crit)))
    if np.any(n <= 0):
        raise ValueError("tango_interval needs n > 0")
    est = (b - c) / n
    lo, hi = np.full(est.shape, -1.0), est.copy()
    for _ in range(_BISECTIONS):  # low: the smallest Δ with score <= crit
        mid = 0.5 * (lo + hi)
        above = _score(mid, b, c, n) > crit
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    low = np.where(est <= -1.0, -1.0, hi)
    lo, hi = est.copy(), np.full(est.shape, 1.0)
    for _ in range(_BISECTIONS):  # high: the largest Δ with score >= −crit
        mid = 0.5 * (lo + hi)
        below = _score(mid, b, c, n) < -crit
        lo, hi = np.where(below, lo, mid), np.where(below, mid, hi)
    high = np.where(est >= 1.0, 1.0, lo)
    return np.minimum(low, est), np.maximum(high, est)


def design_effect(totals: np.ndarray, sizes: np.ndarray, discordant: np.ndarray | float) -> np.ndarray:
    """Design effect of the mean paired difference, batched over the leading axes.

    ``totals`` and ``sizes`` (last axis: clusters; clusters of size 0 are padding and ignored) hold
    each cluster's sum of differences (−1, 0 or 1 per pair) and its number of pairs; ``discordant``
    the number of pairs with a non-zero difference (``b + c``). The CR1 ratio variance of the cluster
    totals over the same estimator with every pair its own cluster, floored at 1; 1 where either
    variance is 0 or there are fewer than two clusters or pairs."""
    totals = np.asarray(totals, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    n = sizes.sum(axis=-1)
    g = (sizes > 0).sum(axis=-1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = totals.sum(axis=-1) / n
        v_iid = n / (n - 1.0) * (np.asarray(discordant, dtype=np.float64) - n * r * r)
        resid = totals - r[..., None] * sizes
        v_cl = g / (g - 1.0) * np.sum(resid * resid, axis=-1)
        ratio = v_cl / v_iid
    ok = (n >= 2) & (g >= 2) & (v_iid > 1e-12 * n) & (v_cl > 0)
    return np.where(ok, np.maximum(ratio, 1.0), 1.0)


def paired_binary_difference(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    clusters: Sequence[Any] | np.ndarray | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """``mean(x) − mean(y)`` of paired 0/1 outcomes with Tango's score interval (clustered where needed).

    Returns ``{difference, ci95, ci_method, ci_note, n, n_clusters, b, c, design_effect}``: ``b`` pairs
    with only x right, ``c`` with only y right. ``clusters`` (one label per pair): when some label holds
    two or more pairs the interval is ``"cluster-tango"`` (module docstring); when every label is
    distinct it is the plain ``"tango"`` interval, said in ``ci_note``. No pairs: no interval."""
    from scipy.stats import norm, t

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a, o = as_array(x), as_array(y)
    if a.size != o.size:
        raise ValueError(f"paired samples differ in length: {a.size} vs {o.size}")
    if not (np.all((a == 0) | (a == 1)) and np.all((o == 0) | (o == 1))):
        raise ValueError("paired_binary_difference needs 0/1 values")
    key = f"ci{round(confidence * 100)}"
    n = int(a.size)
    b = int(((a == 1) & (o == 0)).sum())
    c = int(((a == 0) & (o == 1)).sum())
    out: dict[str, Any] = {
        "difference": (b - c) / n if n else None,
        key: None,
        "ci_method": None,
        "ci_note": None,
        "n": n,
        "n_clusters": None,
        "b": b,
        "c": c,
        "design_effect": None,
    }
    if n == 0:
        out["ci_note"] = "no pairs"
        return out
    deff, g = 1.0, n
    crit = float(norm.ppf(0.5 + confidence / 2.0))
    method = "tango"
    if clusters is not None:
        labels = np.asarray(clusters, dtype=object).ravel()
        if labels.size != n:
            raise ValueError(f"clusters has {labels.size} labels for {n} pairs")
        _, inverse = np.unique(labels.astype(str), return_inverse=True)
        g = int(inverse.max()) + 1
        out["n_clusters"] = g
        if g == n:
            out["ci_note"] = "every item is its own cluster (no shared audio): plain Tango interval"
        elif g < 2:
            out["ci_note"] = "all pairs in one cluster: no interval"
            return out
        else:
            method = "cluster-tango"
            d = a - o
            totals = np.bincount(inverse, weights=d, minlength=g)
            sizes = np.bincount(inverse, minlength=g)
            deff = float(design_effect(totals, sizes, b + c))
            crit = float(t.ppf(0.5 + confidence / 2.0, g - 1))
            out["design_effect"] = deff
    low, high = tango_interval(b / deff, c / deff, n / deff, crit)
    out[key] = [float(low), float(high)]
    out["ci_method"] = method
    if b + c == 0:
        out["ci_note"] = "no discordant pair: the interval is the score interval around 0"
    return out


def benjamini_hochberg(pvalues: Sequence[float] | np.ndarray) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (q-values), in input order: ``min_{j >= i} m·p_(j)/j`` capped at 1."""
    p = as_array(pvalues)
    if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
        raise ValueError("p-values must be in [0, 1]")
    m = p.size
    if not m:
        return []
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return [float(v) for v in out]
