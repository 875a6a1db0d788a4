"""The matching threshold of an embedding model, chosen on the shipped paraphrase calibration set."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.rubrics.compare.match import Encoder, _ratio, encode_texts, normalize_text

CALIBRATION_FILE = "calibration.json"
CALIBRATION_FORMAT = "lalm-bench/compare-calibration/1"
CALIBRATION_LABELS = ("paraphrase", "hard_negative", "unrelated")


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
