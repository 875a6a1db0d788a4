"""Matching the criteria of two rubrics: criteria and their texts, embeddings, one-to-one matches, pair metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.rubrics.common.rubric_files import weight_problem


class Encoder(Protocol):
    """Anything with ``encode(texts)`` returning an array ``(n, dim)`` or an object with ``.embeddings``
    (as :class:`lalm_bench.embeddings.Embedder` does)."""

    def encode(self, texts: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class Item:
    """One criterion: its text as given, the normalised text that is embedded, and its weight."""

    text: str
    key: str
    weight: float


Match = tuple[int, int, float]


# ---- inputs -------------------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """Case-folded, with runs of whitespace collapsed to one space and the ends stripped."""
    return " ".join(str(text).casefold().split())


def as_items(rubric: Sequence[Any] | Sequence[Item]) -> list[Item]:
    """Criteria from ``(text, weight)`` pairs, objects with ``.criterion`` and ``.weight``
    (``RubricItem``), or dicts with those keys."""
    out: list[Item] = []
    for n, x in enumerate(rubric, 1):
        if isinstance(x, Item):
            out.append(x)
            continue
        if isinstance(x, Mapping):
            text, weight = x.get("criterion"), x.get("weight")
        elif hasattr(x, "criterion") and hasattr(x, "weight"):
            text, weight = x.criterion, x.weight
        elif isinstance(x, (tuple, list)) and len(x) == 2:
            text, weight = x
        else:
            raise InputError(f"criterion {n}: expected (text, weight) or an object with criterion and weight")
        if not isinstance(text, str) or not normalize_text(text):
            raise InputError(f"criterion {n}: the text must be a non-empty string")
        problem = weight_problem(weight)
        if problem is not None:
            raise InputError(f"criterion {n} ({text[:80]!r}): {problem}")
        out.append(Item(text=text, key=normalize_text(text), weight=weight))  # type: ignore[arg-type]
    return out


def encode_texts(embedder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Embeddings of ``texts`` as a float64 array ``(len(texts), dim)``."""
    if not texts:
        return np.zeros((0, 1))
    result = embedder.encode(list(texts))
    arr = np.asarray(getattr(result, "embeddings", result), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(texts):
        raise ValueError(f"the encoder returned shape {arr.shape} for {len(texts)} texts")
    return arr


def embed_rubrics(rubrics: Mapping[str, Sequence[Item]], embedder: Encoder) -> dict[str, np.ndarray]:
    """Embeddings per rubric (rows in criterion order); each distinct normalised text is encoded once."""
    keys = list(dict.fromkeys(it.key for items in rubrics.values() for it in items))
    vectors = encode_texts(embedder, keys)
    row = {k: i for i, k in enumerate(keys)}
    return {
        label: vectors[[row[it.key] for it in items]] if items else np.zeros((0, vectors.shape[1]))
        for label, items in rubrics.items()
    }


# ---- matching -----------------------------------------------------------------------------------
def cosine_matrix(emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray:
    """Cosine of every row of ``emb_a`` with every row of ``emb_b`` (rows need not be normalised)."""
    a = np.asarray(emb_a, dtype=np.float64)
    b = np.asarray(emb_b, dtype=np.float64)
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]))

    def unit(x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)

    sim = np.clip(unit(a) @ unit(b).T, -1.0, 1.0)
    # Equal vectors have cosine 1, not 0.99999994 (float rounding): each distinct normalised criterion
    # text is embedded once (embed_rubrics), so equal rows mean identical criteria, which always match.
    rows_b: dict[bytes, list[int]] = {}
    for j, row in enumerate(b):
        rows_b.setdefault(row.tobytes(), []).append(j)
    for i, row in enumerate(a):
        for j in rows_b.get(row.tobytes(), ()):
            if np.any(row):
                sim[i, j] = 1.0
    return sim


def check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not math.isfinite(t):
        raise InputError(f"--threshold must be a finite number, got {threshold!r}")
    return t


def match_similarity(sim: np.ndarray, threshold: float) -> list[Match]:
    """One-to-one matches ``(i, j, sim[i, j])`` with ``sim[i, j] >= threshold``, sorted by ``i``.

    Hungarian assignment (``scipy.optimize.linear_sum_assignment``) on ``1 - sim`` in which a criterion
    may stay unmatched at cost ``(1 - threshold) / 2`` instead of being force-matched. Equivalently: the
    matching that maximises the total excess ``sim - threshold`` of its pairs; a pair below the
    threshold is never part of it, and a pair at exactly the threshold is kept. A pair at cosine 1
    (identical criteria, see :func:`cosine_matrix`) is kept whatever the threshold, ``--threshold 1``
    or above included.
    """
    t = check_threshold(threshold)
    sim = np.asarray(sim, dtype=np.float64)
    if sim.size == 0:
        return []
    allowed = (sim >= t) | (sim >= 1.0)  # cosine 1 (identical criteria) matches whatever the threshold
    if not allowed.any():
        return []
    from scipy.optimize import linear_sum_assignment

    # a pair below the threshold gains nothing (= both criteria unmatched); the tiny bonus keeps a pair
    # at exactly the threshold and, between equal totals, prefers more pairs
    gain = np.where(allowed, np.maximum(sim - t, 0.0) + 1e-9, 0.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return [(int(i), int(j), float(sim[i, j])) for i, j in zip(rows, cols, strict=True) if allowed[i, j]]


def match_rubrics(emb_a: np.ndarray, emb_b: np.ndarray, threshold: float) -> list[Match]:
    """One-to-one matches ``(i, j, cosine)`` of the criteria embedded in ``emb_a`` and ``emb_b``, kept at
    ``cosine >= threshold`` (see :func:`match_similarity`)."""
    return match_similarity(cosine_matrix(emb_a, emb_b), threshold)


# ---- statistics ---------------------------------------------------------------------------------
def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho, or None when undefined (fewer than 2 pairs, or constant values on a side)."""
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    from scipy.stats import spearmanr

    rho = float(spearmanr(x, y)[0])
    return round(rho, 12) if math.isfinite(rho) else None  # 1.0, not 0.9999999999999999


def match_ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def pair_metrics(a: Sequence[Any], b: Sequence[Any], matches: Sequence[Match]) -> dict[str, Any]:
    """Agreement of rubric ``b`` with rubric ``a`` given their matches ``(i, j, cosine)``.

    ``matched``; ``precision = matched / |b|``; ``recall = matched / |a|``; ``f1 = 2 matched /
    (|a| + |b|)`` (their harmonic mean); ``jaccard = matched / (|a| + |b| - matched)``;
    ``weight_spearman``: Spearman's rho of the weights of matched criteria (None with fewer than 2
    matches or constant weights on a side); ``weight_coverage``: matched weight of both sides over
    the total weight of both; ``matches``: the matched pairs (indices, texts, weights, cosine).
    A ratio whose denominator is 0 is None.
    """
    ia, ib = as_items(a), as_items(b)
    m, na, nb = len(matches), len(ia), len(ib)
    if len({i for i, _, _ in matches}) != m or len({j for _, j, _ in matches}) != m:
        raise ValueError("matches must be one-to-one")
    if any(not (0 <= i < na and 0 <= j < nb) for i, j, _ in matches):
        raise ValueError("a match index is out of range")
    ordered = sorted(matches)
    wa = [ia[i].weight for i, _, _ in ordered]
    wb = [ib[j].weight for _, j, _ in ordered]
    total = sum(it.weight for it in ia) + sum(it.weight for it in ib)
    return {
        "matched": m,
        "precision": match_ratio(m, nb),
        "recall": match_ratio(m, na),
        "f1": match_ratio(2 * m, na + nb),
        "jaccard": match_ratio(m, na + nb - m),
        "weight_spearman": _spearman(wa, wb),
        "weight_coverage": match_ratio(sum(wa) + sum(wb), total),
        "matches": [
            {
                "a_index": i,
                "b_index": j,
                "a_criterion": ia[i].text,
                "b_criterion": ib[j].text,
                "a_weight": ia[i].weight,
                "b_weight": ib[j].weight,
                "cosine": round(c, 6),
            }
            for i, j, c in ordered
        ],
    }
