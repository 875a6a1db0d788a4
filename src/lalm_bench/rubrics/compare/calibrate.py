"""The matching threshold of an embedding model, chosen on the shipped paraphrase calibration set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.rubrics.compare.config import DEFAULT_MODEL
from lalm_bench.rubrics.compare.match import Encoder, encode_texts, match_ratio, normalize_text

CALIBRATION_FILE = "calibration.json"
CALIBRATION_FORMAT = "lalm-bench/compare-calibration/1"
CALIBRATION_LABELS = ("paraphrase", "hard_negative", "unrelated")
CV_FOLDS = 5
MIN_AUC = 0.7  # paraphrase vs hard negative: below it a model's matches are topic-level
STRONGER_MODEL = DEFAULT_MODEL  # the fix named by the warning: the default of `rubrics compare`


def load_calibration(path: str | Path | None = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The calibration pairs (``a``, ``b``, ``label``) and a description of the file (name, sha256)."""
    if path is None:
        from importlib.resources import files

        raw = (files("lalm_bench.rubrics.compare") / CALIBRATION_FILE).read_bytes()
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


def auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """Area under the ROC curve of ``score`` separating ``pos`` from ``neg``: P(pos > neg) + P(pos = neg)/2
    (the Mann-Whitney statistic over all pairs); ``None`` when either side is empty."""
    if not len(pos) or not len(neg):
        return None
    diff = np.asarray(pos, dtype=np.float64)[:, None] - np.asarray(neg, dtype=np.float64)[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def cross_validate(pos: np.ndarray, neg: np.ndarray, folds: int = CV_FOLDS, seed: int = 0) -> dict[str, Any] | None:
    """Stratified k-fold cross-validation of the threshold choice (:func:`_youden`).

    Paraphrase and hard-negative pairs are each shuffled from ``seed`` and dealt round-robin into ``folds``
    folds; each fold's pairs are classified at the threshold chosen on the other folds. ``youden_j`` is the
    held-out J of the pooled held-out predictions (TPR - FPR over every pair, each judged by a threshold it
    did not help choose); ``auc`` the mean of the held-out folds' AUC (the cosine itself is not fitted, so it
    differs from the whole-set AUC only by the split). ``None`` when a side has fewer pairs than folds."""
    k = min(folds, len(pos), len(neg))
    if k < 2:
        return None
    rng = np.random.default_rng(seed)
    fold_p = np.arange(len(pos))[rng.permutation(len(pos))] % k
    fold_n = np.arange(len(neg))[rng.permutation(len(neg))] % k
    tp = fp = 0
    thresholds, aucs = [], []
    for f in range(k):
        t, _ = _youden(pos[fold_p != f], neg[fold_n != f])
        thresholds.append(round(t, 4))
        tp += int((pos[fold_p == f] >= t).sum())
        fp += int((neg[fold_n == f] >= t).sum())
        aucs.append(auc(pos[fold_p == f], neg[fold_n == f]))
    return {
        "folds": k,
        "seed": seed,
        "stratified": True,
        "youden_j": round(tp / len(pos) - fp / len(neg), 4),
        "recall": round(tp / len(pos), 4),
        "false_positive_rate": round(fp / len(neg), 4),
        "auc": round(float(np.mean([a for a in aucs if a is not None])), 4),
        "fold_thresholds": thresholds,
    }


def _pair_cosines(embedder: Encoder, pairs: list[dict[str, str]]) -> np.ndarray:
    """The cosine of every calibration pair (texts normalised, each distinct text embedded once)."""
    keys = list(dict.fromkeys(normalize_text(t) for p in pairs for t in (p["a"], p["b"])))
    vecs = encode_texts(embedder, keys)
    row = {k: i for i, k in enumerate(keys)}
    a = vecs[[row[normalize_text(p["a"])] for p in pairs]]
    b = vecs[[row[normalize_text(p["b"])] for p in pairs]]
    cos = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return np.clip(cos, -1.0, 1.0)


def _figures_at(t: float, pos: np.ndarray, hard: np.ndarray, unrel: np.ndarray) -> dict[str, Any]:
    """J, recall, precision, F1 and false-positive rates on the whole set at threshold ``t``."""
    tp = int((pos >= t).sum())
    fp_hard, fp_unrel = int((hard >= t).sum()), int((unrel >= t).sum())
    recall = tp / len(pos)
    precision = match_ratio(tp, tp + fp_hard + fp_unrel)
    return {
        "youden_j": round(recall - fp_hard / len(hard), 4),
        "recall": round(recall, 4),
        "precision": None if precision is None else round(precision, 4),
        "f1": round(2 * tp / (2 * tp + (len(pos) - tp) + fp_hard + fp_unrel), 4),
        "false_positive_rate": {
            "hard_negative": round(fp_hard / len(hard), 4),
            "unrelated": round(fp_unrel / len(unrel), 4) if len(unrel) else None,
        },
    }


def _bootstrap(pos: np.ndarray, hard: np.ndarray, resamples: int, seed: int) -> dict[str, list[float] | None]:
    """Stratified bootstrap 95% intervals of the chosen threshold and of the AUC."""
    if resamples <= 0:
        return {"threshold": None, "auc": None}
    rng = np.random.default_rng(seed)
    ts, aucs = [], []
    for _ in range(resamples):
        p, n = rng.choice(pos, len(pos)), rng.choice(hard, len(hard))
        ts.append(_youden(p, n)[0])
        aucs.append(float(auc(p, n) or 0.0))  # never None: both sides are non-empty
    return {
        "threshold": [round(float(q), 4) for q in np.percentile(ts, [2.5, 97.5])],
        "auc": [round(float(q), 4) for q in np.percentile(aucs, [2.5, 97.5])],
    }


def _summary(x: np.ndarray) -> dict[str, Any]:
    if not len(x):
        return {"n": 0, "mean": None, "min": None, "median": None, "max": None}
    return {
        "n": len(x),
        "mean": round(float(x.mean()), 4),
        "min": round(float(x.min()), 4),
        "median": round(float(np.median(x)), 4),
        "max": round(float(x.max()), 4),
    }


def weak_model_warning(area: float | None, model: str | None = None) -> str | None:
    """The warning when the model separates paraphrases from hard negatives poorly (AUC below :data:`MIN_AUC`)."""
    if area is None or area >= MIN_AUC:
        return None
    name = f"{model} " if model else "the embedding model "
    return (
        f"{name}separates paraphrased criteria from same-topic, different-requirement ones poorly on the "
        f"calibration set (AUC {area:.2f} < {MIN_AUC}): its matches are topic-level and the chosen threshold "
        f"fits noise. Use a stronger model (e.g. the default {STRONGER_MODEL}: --model {STRONGER_MODEL}), or "
        "check the matches by eye"
    )


def calibrate_threshold(
    embedder: Encoder,
    path: str | Path | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
    details: bool = False,
    folds: int = CV_FOLDS,
) -> dict[str, Any]:
    """The matching threshold for ``embedder``'s cosine scale, chosen on a paraphrase calibration set.

    The threshold maximises Youden's J (true-positive rate on paraphrase pairs minus false-positive
    rate on hard negatives: same topic, different requirement); unrelated pairs are not used to choose
    it (they are rarely anyone's best match) but their false-positive rate is reported. J does not
    depend on how many pairs of each kind the set holds, unlike F1 or precision. Returned: the
    threshold (rounded to 4 decimals; every figure is computed at the rounded value), J, recall,
    precision and F1 on the whole set (in-sample: optimistic), the paraphrase vs hard-negative AUC,
    false-positive rates per negative kind, stratified bootstrap 95% intervals of the threshold and the
    AUC, a stratified k-fold cross-validated J and AUC (:func:`cross_validate`, the honest figures), a
    ``warning`` when the AUC is below :data:`MIN_AUC`, cosine summaries per kind, and the set's name and
    sha256; with ``details``, every pair with its cosine and whether it counts as a match.
    """
    pairs, meta = load_calibration(path)
    cos = _pair_cosines(embedder, pairs)
    label = np.array([p["label"] for p in pairs])
    pos, hard, unrel = cos[label == "paraphrase"], cos[label == "hard_negative"], cos[label == "unrelated"]
    t = round(_youden(pos, hard)[0], 4)
    intervals = _bootstrap(pos, hard, bootstrap, seed)
    area = auc(pos, hard)
    model = getattr(embedder, "model", None)
    out: dict[str, Any] = {
        "threshold": t,
        "method": "max Youden's J (paraphrase TPR - hard-negative FPR) on the calibration set",
        **_figures_at(t, pos, hard, unrel),
        "auc": None if area is None else round(area, 4),
        "auc_ci95": intervals["auc"],
        "cross_validated": cross_validate(pos, hard, folds, seed),
        "warning": weak_model_warning(area, model if isinstance(model, str) else None),
        "threshold_ci95": intervals["threshold"],
        "bootstrap": {"resamples": bootstrap, "seed": seed, "stratified": True} if bootstrap > 0 else None,
        "cosine": {"paraphrase": _summary(pos), "hard_negative": _summary(hard), "unrelated": _summary(unrel)},
        "calibration_set": meta,
    }
    if details:
        out["pairs"] = [
            {**p, "cosine": round(float(c), 6), "match": bool(c >= t)} for p, c in zip(pairs, cos, strict=True)
        ]
    return out
