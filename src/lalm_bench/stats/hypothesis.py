"""Paired comparisons and p-values: paired differences, Wilcoxon, exact McNemar, Holm, p-values as text."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lalm_bench.stats.arrays import as_array
from lalm_bench.stats.ci import mean_ci
from lalm_bench.stats.summary import ci_key, mean


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
    a, b = as_array(x), as_array(y)
    if a.size != b.size:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    d = a - b
    ci = mean_ci(d, clusters=clusters, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return {
        "difference": mean(d),
        ci_key(confidence): None if ci["low"] is None else [ci["low"], ci["high"]],
        "ci_method": ci["method"],
        "ci_note": ci["reason"],
        "n": int(d.size),
        "n_clusters": ci["n_clusters"],
    }


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


#: scipy's ``wilcoxon`` runs an exhaustive permutation test up to this many pairs when there are ties or zeros
SCIPY_PERMUTATION_MAX_N = 13
#: ... and its exact null distribution (no ties, no zeros) up to this many pairs; the normal approximation above
SCIPY_EXACT_MAX_N = 50


def _mid_ranks(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranks of ``v`` (1-based, mid-ranks for ties) and the size of each group of tied values, computed the
    way ``scipy.stats.rankdata(method="average")`` does (stable argsort, float64), so sums of them are the
    same floats."""
    order = np.argsort(v, kind="stable")
    ordered = v[order]
    first = np.concatenate([[True], ordered[:-1] != ordered[1:]])
    starts = np.flatnonzero(first)
    counts = np.diff(starts, append=v.size)
    group_ranks = (starts + 1).astype(np.float64) + (counts.astype(np.float64) - 1) / 2
    ranks = np.empty(v.size, dtype=np.float64)
    ranks[order] = np.repeat(group_ranks, counts)
    return ranks, counts.astype(np.float64)


def _signed_rank_null(n: int) -> np.ndarray:
    """P(W+ = k), k = 0 … n(n+1)/2, of n untied non-zero differences under random signs (scipy's recursion)."""
    c = np.ones(1, dtype=np.float64)
    for k in range(1, n + 1):
        prev = c
        c = np.zeros(k * (k + 1) // 2 + 1, dtype=np.float64)
        c[: prev.size] = prev * 0.5
        c[-prev.size :] += prev * 0.5
    return c


def _signed_rank_exact_untied(w_plus: float, n: int) -> float:
    """Two-sided exact p of ``W+`` with ``n`` untied non-zero differences, as scipy's ``method="exact"``."""
    pmf = _signed_rank_null(n)
    mn = n * (n + 1) / 4

    def cdf(k: int) -> float:
        return float(pmf[: k + 1].sum()) if k <= mn else 1 - float(pmf[k + 1 :].sum())

    def sf(k: int) -> float:
        return float(pmf[k:].sum()) if k <= mn else 1 - float(pmf[:k].sum())

    p = 2 * min(sf(math.floor(w_plus)), cdf(math.ceil(w_plus)))
    return min(1.0, max(0.0, p))


def _signed_rank_exact(doubled: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """``(min(W+, W-), two-sided p)`` of the signed-rank test on non-zero differences with doubled mid-ranks
    ``doubled`` (integers) and signs ``positive``, exact under random signs: the value scipy's exhaustive
    permutation test gives (``wilcoxon`` with ties or zeros and at most 13 pairs), counted over the sums of
    doubled ranks instead of enumerating 2**n sign vectors (which took about a second per call)."""
    counts = np.zeros(int(doubled.sum()) + 1)
    counts[0] = 1.0
    for v in doubled:
        counts[v:] = counts[v:] + counts[:-v].copy()
    counts /= counts.sum()
    w = int(doubled[positive].sum())
    p = min(1.0, 2.0 * min(float(counts[w:].sum()), float(counts[: w + 1].sum())))
    return float(min(w, int(doubled.sum()) - w) / 2), p


def wilcoxon_paired(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *, zero_below: float = 0.0
) -> dict[str, Any]:
    """Two-sided paired Wilcoxon signed-rank test of x vs y (zero differences dropped), as scipy computes it.

    Returns ``{statistic, p_value, p_value_text, z_statistic, n, n_nonzero, median_difference}``:
    ``n`` pairs of which ``n_nonzero`` have a non-zero difference (the test uses only those).
    ``statistic`` (``min(W+, W-)``) and ``p_value`` are those of ``scipy.stats.wilcoxon(x, y)``: the exact
    null distribution for at most 50 pairs without ties or zeros, the exact distribution over random signs
    with mid-ranks for at most 13 pairs with ties or zeros, else the normal approximation with tie
    correction and no continuity correction. ``z_statistic`` is scipy's ``(W+ - E[W+]) / sd(W+)`` of that
    approximation, positive when x tends to exceed y. Statistic, p and z are ``None`` when the test is
    undefined (fewer than two pairs, or all differences zero).

    ``zero_below``: differences with ``|x - y| <= zero_below`` count as zero (the inputs' numerical
    resolution; scipy's documentation suggests rounding for the same reason). The test drops zeros and
    ranks the smallest differences first, so rounding noise that makes an exact zero 1e-8 moves every
    rank above it: with 0 (the default) the result is scipy's on the raw differences.

    Computed here with numpy and ``scipy.special`` rather than by calling ``scipy.stats.wilcoxon``:
    importing ``scipy.stats`` costs about a second, most of a warm ``similarity`` rerun. The same
    operations in the same order give the same floats; ``tests/stats`` checks equality with scipy's.
    """
    from scipy.special import ndtr

    a, b = as_array(x), as_array(y)
    raw = a - b
    d = np.where(np.abs(raw) <= zero_below, 0.0, raw) if zero_below > 0 else raw
    nz = d[d != 0]
    out: dict[str, Any] = {
        "statistic": None,
        "p_value": None,
        "p_value_text": None,
        "z_statistic": None,
        "n": int(d.size),
        "n_nonzero": int(nz.size),
        "zero_below": float(zero_below),
        "median_difference": float(np.median(raw)) if raw.size else None,
    }
    if d.size < 2 or not nz.size:
        return out
    ranks, ties = _mid_ranks(np.abs(nz))
    count = float(nz.size)
    w_plus = float(np.sum((nz > 0).astype(np.float64) * ranks))
    w_minus = float(np.sum((nz < 0).astype(np.float64) * ranks))
    mn = count * (count + 1.0) * 0.25
    se = math.sqrt((count * (count + 1.0) * (2.0 * count + 1.0) - float(np.sum(ties**3 - ties)) / 2) / 24)
    z = (w_plus - mn) / se
    has_ties = bool((ties > 1).any())
    if not has_ties and nz.size == d.size and d.size <= SCIPY_EXACT_MAX_N:
        out["statistic"], out["p_value"] = min(w_plus, w_minus), _signed_rank_exact_untied(w_plus, nz.size)
    elif d.size <= SCIPY_PERMUTATION_MAX_N:
        doubled = np.rint(2 * ranks).astype(np.int64)
        out["statistic"], out["p_value"] = _signed_rank_exact(doubled, nz > 0)
    else:
        out["statistic"], out["p_value"] = min(w_plus, w_minus), float(2 * ndtr(-abs(z)))
    out["p_value_text"] = format_p(out["p_value"])
    out["z_statistic"] = z
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


def holm_family(
    family: Mapping[str, dict[str, Any]], p_key: str, out_key: str, notes: Mapping[str, str | None]
) -> None:
    """Holm across one family of statistics, written into each: ``out_key`` (adjusted p), ``out_key + "_text"``
    and ``holm_family_size``. A statistic whose ``notes`` entry is a reason is not tested: it gets ``None``
    there and the reason as ``holm_note``, and does not count towards the family."""
    adj = holm({k: s[p_key] for k, s in family.items() if notes[k] is None})
    for k, s in family.items():
        s[out_key] = adj.get(k)
        s[out_key + "_text"] = format_p(adj.get(k))
        s["holm_family_size"] = len(adj) if notes[k] is None else None
        if notes[k] is not None:
            s["holm_note"] = notes[k]
