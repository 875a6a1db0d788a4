"""Agreement between raters: Krippendorff's alpha and Fleiss' kappa."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np

from lalm_bench.stats.arrays import is_zero_spread

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
    if is_zero_spread(1.0 - p_e, 1.0):
        out["reason"] = "all ratings in one category: chance agreement is 1, kappa undefined"
        return out
    out["value"] = (p_bar - p_e) / (1.0 - p_e)
    return out


def cohen_kappa(x: Sequence[Any] | np.ndarray, y: Sequence[Any] | np.ndarray) -> dict[str, Any]:
    """Cohen's kappa of two paired ratings (any hashable labels): ``{value, observed, expected, n, reason}``.

    ``observed`` is the share of pairs with the same label, ``expected`` the agreement expected from the
    two marginals; ``value`` is ``None`` with a ``reason`` without pairs or when ``expected`` is 1 (both
    raters always give one and the same label)."""
    a, b = np.asarray(x, dtype=object).ravel(), np.asarray(y, dtype=object).ravel()
    if a.size != b.size:
        raise ValueError(f"paired ratings differ in length: {a.size} vs {b.size}")
    n = int(a.size)
    out: dict[str, Any] = {"value": None, "observed": None, "expected": None, "n": n, "reason": None}
    if n == 0:
        out["reason"] = "no pairs"
        return out
    observed = float(np.mean(a == b))
    labels = set(a.tolist()) | set(b.tolist())
    expected = float(sum(np.mean(a == v) * np.mean(b == v) for v in labels))
    out.update(observed=observed, expected=expected)
    if is_zero_spread(1.0 - expected, 1.0):
        out["reason"] = "both ratings always the same single label: chance agreement is 1, kappa undefined"
        return out
    out["value"] = (observed - expected) / (1.0 - expected)
    return out
