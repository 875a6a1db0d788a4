"""Stability of rubrics across generation runs (the core of ``lalm-bench rubrics compare``).

Criteria of two rubrics are matched one-to-one by embedding cosine: a Hungarian assignment on
``1 - cosine`` in which a criterion may stay unmatched instead of being force-matched, so that the
matching maximises the total excess of cosine over the threshold, and no pair below it is kept.
From the matches of each pair of rubrics: precision, recall, F1, soft Jaccard, Spearman
correlation of the matched weights, and the weight mass covered. Across all
rubrics: clusters of criteria (at most one per rubric) and the ones that survive in every run.

Texts are compared case- and whitespace-insensitively (normalised before embedding, each distinct
text embedded once). Undefined statistics are ``None``, never NaN. The matching threshold depends
on the embedding model's cosine scale; :func:`calibrate_threshold` chooses it on the paraphrase
calibration set shipped as ``compare_calibration.json`` (see ``docs/rubrics-compare.md``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lalm_bench.errors import InputError

CALIBRATION_FILE = "compare_calibration.json"
CALIBRATION_FORMAT = "lalm-bench/compare-calibration/1"
CALIBRATION_LABELS = ("paraphrase", "hard_negative", "unrelated")
SURVIVAL_RULE = (
    "constrained single linkage: the pairwise matches (cosine >= threshold) are joined in order of "
    "descending cosine, and two clusters are joined only when they share no input, so a cluster holds "
    "at most one criterion per input; a survivor is a cluster that spans every input"
)


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
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise InputError(f"criterion {n} ({text!r}): the weight must be a finite number, got {weight!r}")
        if weight < 0:
            raise InputError(f"criterion {n} ({text!r}): negative weight {weight}")
        out.append(Item(text=text, key=normalize_text(text), weight=weight))
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

    return np.clip(unit(a) @ unit(b).T, -1.0, 1.0)


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not math.isfinite(t):
        raise InputError(f"--threshold must be a finite number, got {threshold!r}")
    return t


def match_similarity(sim: np.ndarray, threshold: float) -> list[Match]:
    """One-to-one matches ``(i, j, sim[i, j])`` with ``sim[i, j] >= threshold``, sorted by ``i``.

    Hungarian assignment (``scipy.optimize.linear_sum_assignment``) on ``1 - sim`` in which a criterion
    may stay unmatched at cost ``(1 - threshold) / 2`` instead of being force-matched. Equivalently: the
    matching that maximises the total excess ``sim - threshold`` of its pairs; a pair below the
    threshold is never part of it, and a pair at exactly the threshold is kept.
    """
    t = _check_threshold(threshold)
    sim = np.asarray(sim, dtype=np.float64)
    if sim.size == 0:
        return []
    allowed = sim >= t
    if not allowed.any():
        return []
    from scipy.optimize import linear_sum_assignment

    # a pair below the threshold gains nothing (= both criteria unmatched); the tiny bonus keeps a pair
    # at exactly the threshold and, between equal totals, prefers more pairs
    gain = np.where(allowed, sim - t + 1e-9, 0.0)
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


def _ratio(num: float, den: float) -> float | None:
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
        "precision": _ratio(m, nb),
        "recall": _ratio(m, na),
        "f1": _ratio(2 * m, na + nb),
        "jaccard": _ratio(m, na + nb - m),
        "weight_spearman": _spearman(wa, wb),
        "weight_coverage": _ratio(sum(wa) + sum(wb), total),
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


# ---- across all inputs --------------------------------------------------------------------------
def survival(
    rubrics: Mapping[str, Sequence[Any]],
    embeddings: Mapping[str, np.ndarray],
    threshold: float,
    matches: Mapping[tuple[str, str], Sequence[Match]] | None = None,
) -> dict[str, Any]:
    """Clusters of criteria across all inputs, and the criteria that survive in every input.

    The edges are the pairwise matches of :func:`match_rubrics` (computed here unless ``matches``
    gives them for each pair of labels in input order). They are joined strongest first, and two
    clusters are joined only when they share no input (a cluster holds at most one criterion per
    input: a chain a1~b1~a2 cannot put two criteria of one rubric together). A criterion that
    matches nothing is a cluster of span 1. Each cluster reports ``min_cosine`` (the lowest cosine
    between any two of its criteria) and ``all_pairs_matched`` (every two of its criteria were
    matched to each other, not only through a chain).
    """
    labels = list(rubrics)
    if not labels:
        raise InputError("survival needs at least one rubric")
    t = _check_threshold(threshold)
    items = {label: as_items(rubrics[label]) for label in labels}
    emb = {label: np.asarray(embeddings[label], dtype=np.float64) for label in labels}
    for label in labels:
        if emb[label].shape[0] != len(items[label]):
            raise ValueError(f"{label}: {emb[label].shape[0]} embeddings for {len(items[label])} criteria")

    edges: list[tuple[float, int, int, int, int]] = []
    for x in range(len(labels)):
        for y in range(x + 1, len(labels)):
            la, lb = labels[x], labels[y]
            ms = matches[(la, lb)] if matches is not None else match_rubrics(emb[la], emb[lb], t)
            edges += [(c, x, i, y, j) for i, j, c in ms]
    matched_pairs = {((x, i), (y, j)) for _, x, i, y, j in edges}

    parent: dict[tuple[int, int], tuple[int, int]] = {}
    inputs: dict[tuple[int, int], set[int]] = {}
    for x, label in enumerate(labels):
        for i in range(len(items[label])):
            parent[(x, i)] = (x, i)
            inputs[(x, i)] = {x}

    def find(node: tuple[int, int]) -> tuple[int, int]:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for _, x, i, y, j in sorted(edges, key=lambda e: (-e[0], *e[1:])):
        ra, rb = find((x, i)), find((y, j))
        if ra != rb and not inputs[ra] & inputs[rb]:
            parent[rb] = ra
            inputs[ra] |= inputs.pop(rb)

    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for node in parent:
        groups.setdefault(find(node), []).append(node)

    clusters: list[dict[str, Any]] = []
    # survivors first, then by weight, then by the first criterion's position (input order, index)
    for members in sorted(
        (sorted(m) for m in groups.values()),
        key=lambda m: (-len(m), -sum(items[labels[x]][i].weight for x, i in m), m[0]),
    ):
        cos = [
            float(cosine_matrix(emb[labels[x]][i : i + 1], emb[labels[y]][j : j + 1])[0, 0])
            for k, (x, i) in enumerate(members)
            for (y, j) in members[k + 1 :]
        ]
        complete = all((p, q) in matched_pairs for k, p in enumerate(members) for q in members[k + 1 :])
        clusters.append(
            {
                "id": len(clusters),
                "span": len(members),
                "criteria": {labels[x]: items[labels[x]][i].text for x, i in members},
                "weights": {labels[x]: items[labels[x]][i].weight for x, i in members},
                "indices": {labels[x]: i for x, i in members},
                "total_weight": sum(items[labels[x]][i].weight for x, i in members),
                "min_cosine": round(min(cos), 6) if cos else None,
                "all_pairs_matched": complete,
            }
        )

    k = len(labels)
    survivors = [c for c in clusters if c["span"] == k]
    per_rubric: dict[str, dict[str, Any]] = {}
    for label in labels:
        size = len(items[label])
        weight = sum(it.weight for it in items[label])
        kept = [items[label][c["indices"][label]].weight for c in survivors]
        per_rubric[label] = {
            "size": size,
            "surviving": len(kept),
            "surviving_share": _ratio(len(kept), size),
            "surviving_weight_share": _ratio(sum(kept), weight),
        }
    return {
        "rule": SURVIVAL_RULE,
        "n_inputs": k,
        "threshold": t,
        "n_clusters": len(clusters),
        "span_histogram": {str(s): sum(c["span"] == s for c in clusters) for s in range(1, k + 1)},
        "n_survivors": len(survivors),
        "n_survivors_all_pairs_matched": sum(c["all_pairs_matched"] for c in survivors),
        "per_rubric": per_rubric,
        "survivors": survivors,
        "clusters": clusters,
    }


def growth_curve(sizes_per_clip: Sequence[int]) -> dict[str, Any]:
    """Rubric size after each clip, with a saturation summary.

    ``window_clips`` = the last 25% of clips (at least 1); ``tail_new_per_clip`` = net criteria
    added per clip over that window (the size before the first clip is 0); ``overall_new_per_clip``
    = final size / clips; ``tail_to_overall`` = their ratio (about 1: still growing at its average
    pace, near 0: saturated, negative: shrinking); ``clips_to_90pct`` = the first clip (1-based)
    after which the size reaches 90% of the final size.
    """
    sizes = [int(s) for s in sizes_per_clip]
    n = len(sizes)
    if n == 0:
        return {"sizes": [], "n_clips": 0, "final_size": None, "max_size": None, "saturation": None}
    final = sizes[-1]
    window = max(1, math.ceil(n / 4))
    before = sizes[n - 1 - window] if n - 1 - window >= 0 else 0
    tail = (final - before) / window
    overall = final / n
    return {
        "sizes": sizes,
        "n_clips": n,
        "final_size": final,
        "max_size": max(sizes),
        "saturation": {
            "window_clips": window,
            "tail_new_per_clip": tail,
            "overall_new_per_clip": overall,
            "tail_to_overall": _ratio(tail, overall) if overall > 0 else None,
            "clips_to_90pct": (next(k for k, s in enumerate(sizes, 1) if s >= 0.9 * final) if final > 0 else None),
        },
    }


def compare_rubrics(
    rubrics: Mapping[str, Sequence[Any]],
    embedder: Encoder,
    threshold: float | str | None = "auto",
    sensitivity: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Compare two or more rubrics (label -> criteria): every pair of inputs in the given order, the
    F1 matrix, and survival. ``threshold``: a cosine, or ``"auto"``/None for :func:`calibrate_threshold`
    with this embedder (its result is returned under ``threshold.calibration``).

    ``threshold.sensitivity``: the mean F1, Jaccard and matched count over all pairs at the threshold
    and at each of ``sensitivity`` (default with ``auto``: the ends of the calibration's bootstrap 95%
    interval), to show how much the figures depend on the threshold."""
    labels = list(rubrics)
    if len(labels) < 2:
        raise InputError(f"compare needs two or more rubrics, got {len(labels)}")
    items = {label: as_items(rubrics[label]) for label in labels}
    if threshold is None or (isinstance(threshold, str) and threshold.strip().lower() == "auto"):
        calibrated = calibrate_threshold(embedder)
        calibration: dict[str, Any] | None = calibrated
        t, source = float(calibrated["threshold"]), "auto"
    else:
        try:
            t = _check_threshold(float(threshold))
        except ValueError as exc:
            raise InputError(f"--threshold must be a number or auto, got {threshold!r}") from exc
        calibration, source = None, "given"
    emb = embed_rubrics(items, embedder)

    pairs, matches = [], {}
    # the diagonal is 1 by construction (every criterion matches itself at cosine 1); None when empty
    f1: list[list[float | None]] = [
        [(1.0 if items[label] else None) if x == y else None for y in range(len(labels))]
        for x, label in enumerate(labels)
    ]
    for x in range(len(labels)):
        for y in range(x + 1, len(labels)):
            la, lb = labels[x], labels[y]
            matches[(la, lb)] = ms = match_rubrics(emb[la], emb[lb], t)
            metrics = pair_metrics(items[la], items[lb], ms)
            pairs.append({"a": la, "b": lb, **metrics})
            f1[x][y] = f1[y][x] = metrics["f1"]
    if sensitivity is None:
        sensitivity = (calibration or {}).get("threshold_ci95") or []
    checks = []
    for u in sorted({t, *(_check_threshold(x) for x in sensitivity)}):
        runs = [
            pair_metrics(items[la], items[lb], ms if u == t else match_rubrics(emb[la], emb[lb], u))
            for (la, lb), ms in matches.items()
        ]
        checks.append(
            {
                "threshold": u,
                "mean_f1": _mean([r["f1"] for r in runs]),
                "mean_jaccard": _mean([r["jaccard"] for r in runs]),
                "mean_matched": _mean([r["matched"] for r in runs]),
            }
        )
    return {
        "rubrics": [
            {"label": label, "size": len(items[label]), "total_weight": sum(it.weight for it in items[label])}
            for label in labels
        ],
        "pairs": pairs,
        "f1_matrix": {"labels": labels, "values": f1},
        "survival": survival(items, emb, t, matches=matches),
        "threshold": {"value": t, "source": source, "calibration": calibration, "sensitivity": checks},
    }


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


# ---- threshold calibration ----------------------------------------------------------------------
def load_calibration(path: str | Path | None = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The calibration pairs (``a``, ``b``, ``label``) and a description of the file (name, sha256)."""
    if path is None:
        from importlib.resources import files

        raw = (files("lalm_bench.rubrics") / CALIBRATION_FILE).read_bytes()
        name = f"lalm_bench.rubrics/{CALIBRATION_FILE} (package data)"
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"calibration set {path}: cannot read ({exc.strerror or exc})") from exc
        name = str(path)
    try:
        data = json.loads(raw)
        pairs = data["pairs"]
        if not isinstance(pairs, list):
            raise TypeError
        for p in pairs:
            if not (isinstance(p["a"], str) and isinstance(p["b"], str) and p["label"] in CALIBRATION_LABELS):
                raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"calibration set {name}: expected {{'pairs': [{{'a', 'b', 'label'}}]}} with labels "
            f"{', '.join(CALIBRATION_LABELS)}"
        ) from exc
    counts = {label: sum(p["label"] == label for p in pairs) for label in CALIBRATION_LABELS}
    if not counts["paraphrase"] or not counts["hard_negative"]:
        raise InputError(f"calibration set {name}: needs paraphrase and hard_negative pairs")
    meta = {"name": name, "sha256": hashlib.sha256(raw).hexdigest(), "format": data.get("format"), "counts": counts}
    return pairs, meta


def _youden(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """The threshold maximising TPR - FPR (``score >= t`` is positive), and that maximum.

    Candidates are the midpoints between consecutive distinct scores (and one step beyond each end);
    ties go to the candidate in the widest gap, then to the lowest.
    """
    scores = np.unique(np.concatenate([pos, neg]))
    if len(scores) == 1:
        return float(scores[0]), 0.0
    mids = (scores[:-1] + scores[1:]) / 2
    gaps = np.diff(scores)
    cands = np.concatenate([[scores[0] - gaps.max()], mids, [scores[-1] + gaps.max()]])
    widths = np.concatenate([[gaps.max()], gaps, [gaps.max()]])
    sp, sn = np.sort(pos), np.sort(neg)
    tpr = 1.0 - np.searchsorted(sp, cands, side="left") / len(sp)
    fpr = 1.0 - np.searchsorted(sn, cands, side="left") / len(sn)
    j = tpr - fpr
    best = np.flatnonzero(np.isclose(j, j.max(), rtol=0, atol=1e-12))
    k = best[np.argmax(widths[best])]  # argmax takes the first (lowest) among equal widths
    return float(cands[k]), float(j[k])


def calibrate_threshold(
    embedder: Encoder,
    path: str | Path | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    details: bool = False,
) -> dict[str, Any]:
    """The matching threshold for ``embedder``'s cosine scale, chosen on a paraphrase calibration set.

    The threshold maximises Youden's J (true-positive rate on paraphrase pairs minus false-positive
    rate on hard negatives: same topic, different requirement); unrelated pairs are not used to choose
    it (they are rarely anyone's best match) but their false-positive rate is reported. J does not
    depend on how many pairs of each kind the set holds, unlike F1 or precision. Returned: the
    threshold (rounded to 4 decimals; every figure is computed at the rounded value), J, recall,
    precision and F1 on the whole set, false-positive rates per negative kind, a stratified bootstrap
    95% interval of the chosen threshold, cosine summaries per kind, and the set's name and sha256;
    with ``details``, every pair with its cosine and whether it counts as a match.
    """
    pairs, meta = load_calibration(path)
    keys = list(dict.fromkeys(normalize_text(t) for p in pairs for t in (p["a"], p["b"])))
    vecs = encode_texts(embedder, keys)
    row = {k: i for i, k in enumerate(keys)}
    a = vecs[[row[normalize_text(p["a"])] for p in pairs]]
    b = vecs[[row[normalize_text(p["b"])] for p in pairs]]
    cos = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    cos = np.clip(cos, -1.0, 1.0)
    label = np.array([p["label"] for p in pairs])
    pos, hard, unrel = cos[label == "paraphrase"], cos[label == "hard_negative"], cos[label == "unrelated"]

    t, _ = _youden(pos, hard)
    t = round(t, 4)
    tp = int((pos >= t).sum())
    fp_hard, fp_unrel = int((hard >= t).sum()), int((unrel >= t).sum())
    recall = tp / len(pos)
    precision = _ratio(tp, tp + fp_hard + fp_unrel)
    f1 = 2 * tp / (2 * tp + (len(pos) - tp) + fp_hard + fp_unrel)

    ci: list[float] | None = None
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        draws = [_youden(rng.choice(pos, len(pos)), rng.choice(hard, len(hard)))[0] for _ in range(bootstrap)]
        ci = [round(float(q), 4) for q in np.percentile(draws, [2.5, 97.5])]

    def summary(x: np.ndarray) -> dict[str, Any]:
        if not len(x):
            return {"n": 0, "mean": None, "min": None, "median": None, "max": None}
        return {
            "n": len(x),
            "mean": round(float(x.mean()), 4),
            "min": round(float(x.min()), 4),
            "median": round(float(np.median(x)), 4),
            "max": round(float(x.max()), 4),
        }

    out: dict[str, Any] = {
        "threshold": t,
        "method": "max Youden's J (paraphrase TPR - hard-negative FPR) on the calibration set",
        "youden_j": round(recall - fp_hard / len(hard), 4),
        "recall": round(recall, 4),
        "precision": None if precision is None else round(precision, 4),
        "f1": round(f1, 4),
        "false_positive_rate": {
            "hard_negative": round(fp_hard / len(hard), 4),
            "unrelated": round(fp_unrel / len(unrel), 4) if len(unrel) else None,
        },
        "threshold_ci95": ci,
        "bootstrap": {"resamples": bootstrap, "seed": seed, "stratified": True} if bootstrap > 0 else None,
        "cosine": {"paraphrase": summary(pos), "hard_negative": summary(hard), "unrelated": summary(unrel)},
        "calibration_set": meta,
    }
    if details:
        out["pairs"] = [
            {**p, "cosine": round(float(c), 6), "match": bool(c >= t)} for p, c in zip(pairs, cos, strict=True)
        ]
    return out
