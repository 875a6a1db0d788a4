"""The baselines of the listening probe, per item and deterministic (no seed).

With unit vectors the cosine is a dot product, so the mean similarity of one noise answer ``x_i``
to the audio answers ``y_j`` of the other members of its group is
``(x_i · Σ_{j in g} y_j - x_i · y_i) / (m_g - 1)``: one sum per group and two dot products per item,
never a group × group matrix (MMAU-Pro's largest category has 1,418 items).

* floor: groups are the categories. Each item's noise answer against the audio answers of every
  other item of its category, averaged: what an answer unrelated to this item's audio and question
  (but of the same kind) scores.
* same question: groups are the items sharing a question text (whitespace-normalised, exact). The
  same average over the other items with the same question: what an answer to the same question
  about other audio scores.
* listening: with a second noise run, ``noise_vs_noise = cos(noise_i, noise2_i)`` (what a model that
  ignores the audio produces), ``audio_vs_noise = (cos(audio_i, noise_i) + cos(audio_i, noise2_i)) / 2``
  (both noise runs play the same role, so swapping them changes nothing) and
  ``listening_gap = noise_vs_noise - audio_vs_noise``.
"""

from __future__ import annotations

import numpy as np

from lalm_bench import stats

CHUNK = 16384  # rows gathered at once (float64 rows of the embedding width)


def group_codes(labels: np.ndarray) -> np.ndarray:
    """Integer group of each row (``-1`` where the label is ``None``), codes in order of first appearance."""
    codes = np.full(len(labels), -1, dtype=np.int64)
    seen: dict[object, int] = {}
    for k, lab in enumerate(labels.tolist()):
        if lab is not None:
            codes[k] = seen.setdefault(lab, len(seen))
    return codes


def mean_to_others(
    u: np.ndarray, x_rows: np.ndarray, y_rows: np.ndarray, groups: np.ndarray, chunk: int = CHUNK
) -> tuple[np.ndarray, np.ndarray]:
    """For each item i: the mean over the other items j of its group of ``cos(x_i, y_j)``, clipped to [-1, 1].

    ``u``: (k, d) unit vectors of the distinct texts; ``x_rows``, ``y_rows``: (n,) rows of ``u`` holding
    ``x_i`` and ``y_i``; ``groups``: (n,) integer codes, ``-1`` for no group. Returns ``(values, sizes)``:
    ``values[i]`` is NaN where i's group has fewer than two items (or i has none), ``sizes[i]`` the
    number of items of i's group (0 for none). Memory: one float64 sum per group plus ``chunk`` rows.
    """
    x_rows, y_rows = np.asarray(x_rows, dtype=np.int64), np.asarray(y_rows, dtype=np.int64)
    n = len(groups)
    values = np.full(n, np.nan)
    sizes = np.zeros(n, dtype=np.int64)
    inside = np.flatnonzero(groups >= 0)
    if not inside.size:
        return values, sizes
    g = groups[inside]
    count = np.bincount(g)
    sums = np.zeros((count.size, u.shape[1]), dtype=np.float64)
    for lo in range(0, inside.size, chunk):
        part = inside[lo : lo + chunk]
        np.add.at(sums, g[lo : lo + chunk], u[y_rows[part]].astype(np.float64))
    total = np.empty(inside.size)
    own = np.empty(inside.size)
    for lo in range(0, inside.size, chunk):
        part = inside[lo : lo + chunk]
        xi = u[x_rows[part]].astype(np.float64)
        total[lo : lo + chunk] = np.einsum("ij,ij->i", xi, sums[g[lo : lo + chunk]])
        own[lo : lo + chunk] = np.einsum("ij,ij->i", xi, u[y_rows[part]], dtype=np.float64)
    m = count[g]
    others = np.maximum(m - 1, 1)
    values[inside] = np.where(m >= 2, (total - own) / others, np.nan)
    sizes[inside] = m
    return stats.clamp_cosine(values), sizes


def pair_cosines(u: np.ndarray, a_rows: np.ndarray, b_rows: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """``cos(u[a_rows[k]], u[b_rows[k]])`` with float64 sums, clipped to [-1, 1]."""
    a_rows, b_rows = np.asarray(a_rows, dtype=np.int64), np.asarray(b_rows, dtype=np.int64)
    out = np.empty(a_rows.size)
    for lo in range(0, a_rows.size, chunk):
        out[lo : lo + chunk] = np.einsum(
            "ij,ij->i", u[a_rows[lo : lo + chunk]], u[b_rows[lo : lo + chunk]], dtype=np.float64
        )
    return np.asarray(stats.clamp_cosine(out))


def listening(
    u: np.ndarray, noise_rows: np.ndarray, audio_rows: np.ndarray, noise2_rows: np.ndarray
) -> dict[str, np.ndarray]:
    """Per item (rows of ``u`` for its three answers): ``noise_vs_noise``, ``audio_vs_noise_2``,
    ``audio_vs_noise`` (mean of the audio answer's similarity to both noise answers) and ``listening_gap``."""
    nn = pair_cosines(u, noise_rows, noise2_rows)
    an1 = pair_cosines(u, audio_rows, noise_rows)
    an2 = pair_cosines(u, audio_rows, noise2_rows)
    avn = (an1 + an2) / 2.0
    return {"noise_vs_noise": nn, "audio_vs_noise_2": an2, "audio_vs_noise": avn, "listening_gap": nn - avn}
