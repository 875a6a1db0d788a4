"""Float arrays and the float-noise rule shared by the statistics modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

REL_TOL = 1e-12  # spreads at or below REL_TOL * max|x| are float noise, i.e. zero


def as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def is_zero_spread(spread: float, scale: float) -> bool:
    """True when ``spread`` is zero up to float noise relative to the data's scale ``max|x|``."""
    return not spread > REL_TOL * scale
