"""Model against model: paired accuracy differences and difference-in-differences on the items both scored.

For two models A and B on the items both scored (joined on the id):

* ``audio``: accuracy(A) − accuracy(B) with the real audio: Tango's score interval for paired 0/1 outcomes
  (``cluster-tango`` where items share a clip) and McNemar's exact test on the discordant items;
* per control C both models were run under: the same difference under C, and the
  **difference-in-differences** ``did`` = mean over items of (A_audio − A_C) − (B_audio − B_C): how much
  more accuracy A loses than B when the audio is replaced (positive: A relies more on the audio). Its CI is
  :func:`lalm_bench.stats.mean_ci` of the per-item values (t below 30 values or clusters, percentile
  bootstrap above; clustered by clip like every CI here), its p-value the sign-flip test
  (:func:`lalm_bench.stats.sign_flip_test`: exact up to 16 clusters with a non-zero total, else Monte Carlo),
  which swaps the two models on whole clips.

Holm's adjustment runs per statistic (``audio`` and ``did`` of each control): overall across the model
pairs, per category across pairs × categories with a testable comparison (two or more items and a non-zero
difference on some item), as in :func:`lalm_bench.accuracy.scoring.add_holm`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lalm_bench import stats

DID_DEFINITION = (
    "mean over the items both models scored of (A_audio - A_control) - (B_audio - B_control), 1 = right, "
    "0 = wrong or unparsed: positive when A loses more accuracy than B when the audio is replaced"
)


def _clusters_or_none(clusters: np.ndarray) -> np.ndarray | None:
    return None if len(set(clusters.tolist())) == clusters.size else clusters


def _difference(a: np.ndarray, b: np.ndarray, clusters: np.ndarray) -> dict[str, Any]:
    """A − B of paired 0/1 outcomes: Tango interval, McNemar p."""
    cl = _clusters_or_none(clusters)
    d = stats.paired_binary_difference(a.astype(np.float64), b.astype(np.float64), clusters=cl)
    mc = stats.mcnemar_exact(d["b"], d["c"])
    return {
        "count": int(a.size),
        "accuracy_a": float(a.mean()) if a.size else None,
        "accuracy_b": float(b.mean()) if b.size else None,
        "difference": d["difference"],
        "ci95": d["ci95"],
        "ci_method": d["ci_method"],
        "ci_note": d["ci_note"],
        "design_effect": d["design_effect"],
        "a_only_right": d["b"],
        "b_only_right": d["c"],
        "p": mc["p_value"] if a.size else None,
        "p_text": mc["p_value_text"] if a.size else None,
        "test": "McNemar exact",
    }


def did(
    a_audio: np.ndarray,
    a_control: np.ndarray,
    b_audio: np.ndarray,
    b_control: np.ndarray,
    clusters: np.ndarray,
    bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Difference-in-differences of two models' accuracy loss under one control (module docstring)."""
    loss_a = a_audio.astype(np.float64) - a_control.astype(np.float64)
    loss_b = b_audio.astype(np.float64) - b_control.astype(np.float64)
    d = loss_a - loss_b
    n = int(d.size)
    cl = _clusters_or_none(clusters)
    out: dict[str, Any] = {
        "count": n,
        "loss_a": float(loss_a.mean()) if n else None,
        "loss_b": float(loss_b.mean()) if n else None,
        "did": float(d.mean()) if n else None,
        "ci95": None,
        "ci_method": None,
        "ci_note": None,
        "items_a_loses_more": int((d > 0).sum()),
        "items_b_loses_more": int((d < 0).sum()),
        "p": None,
        "p_text": None,
        "test": None,
    }
    if not n:
        out["ci_note"] = "no items"
        return out
    ci = stats.mean_ci(d, clusters=cl, n_resamples=bootstrap, seed=seed, bounds=(-2.0, 2.0))
    out["ci95"] = None if ci["low"] is None else [ci["low"], ci["high"]]
    out["ci_method"] = ci["method"]
    out["ci_note"] = ci["reason"]
    if cl is None and clusters.size:
        out["ci_note"] = out["ci_note"] or "every item is its own cluster (no shared audio)"
    test = stats.sign_flip_test(d, clusters=cl, n_resamples=max(bootstrap, 1000) * 10, seed=seed)
    out["p"] = test["p_value"]
    out["p_text"] = stats.format_p(test["p_value"])
    out["test"] = f"sign-flip ({test['method']}, {'clusters' if cl is not None else 'items'} flipped)"
    out["n_clusters"] = test["n_clusters"]
    return out


def compare_pair(
    a: dict[str, np.ndarray],
    b: dict[str, np.ndarray],
    controls: list[str],
    clusters: np.ndarray,
    bootstrap: int,
    seed: int,
    parsed: np.ndarray | None = None,
) -> dict[str, Any]:
    """Model A against model B on the same items: ``a``/``b`` map condition → correct (bool per item);
    ``parsed`` (both models' audio answers parsed) adds ``audio_parsed``, the difference between picks."""
    out: dict[str, Any] = {"count": int(clusters.size), "audio": _difference(a["audio"], b["audio"], clusters)}
    if parsed is not None:
        out["audio_parsed"] = _difference(a["audio"][parsed], b["audio"][parsed], clusters[parsed])
    out["controls"] = {
        c: {
            "difference": _difference(a[c], b[c], clusters),
            "did": did(a["audio"], a[c], b["audio"], b[c], clusters, bootstrap, seed),
        }
        for c in controls
    }
    return out


def _testable(stat: dict[str, Any], key: str) -> str | None:
    if stat.get("p") is None:
        return "no items"
    if stat.get("count", 0) < 2:
        return "fewer than two items: reported, not adjusted"
    nonzero = (
        stat["a_only_right"] + stat["b_only_right"]
        if key == "audio"
        else stat["items_a_loses_more"] + stat["items_b_loses_more"]
    )
    if nonzero == 0:
        return "no item differs: no test"
    return None


def _stat(group: dict[str, Any], key: str) -> dict[str, Any]:
    return group["audio"] if key == "audio" else group["controls"][key]["did"]


def add_holm(pairs: dict[str, dict[str, Any]], controls: list[str]) -> None:
    """``p_holm`` on every ``audio`` and ``did`` statistic: overall across pairs, per category across pairs ×
    categories (testable ones; the others get ``None`` and ``holm_note``)."""
    for key in ["audio", *controls]:
        overall = {name: _stat(p["overall"], key) for name, p in pairs.items()}
        by_cat = {f"{name}|{cat}": _stat(g, key) for name, p in pairs.items() for cat, g in p["by_category"].items()}
        for family in (overall, by_cat):
            notes = {k: _testable(s, "audio" if key == "audio" else "did") for k, s in family.items()}
            stats.holm_family(family, "p", "p_holm", notes)


def leaderboard(
    models: dict[str, dict[str, Any]], pairs: dict[str, dict[str, Any]], control: str | None
) -> dict[str, Any]:
    """Models ranked by the accuracy they lose when the audio is replaced by ``control`` (their own paired
    difference), with the difference-in-differences against the top model and its Holm-adjusted p."""
    if control is None:
        return {"control": None, "rows": [], "note": "no control shared by every model"}
    rows = []
    for name, doc in models.items():
        cond = doc["conditions"]
        cmp = doc["comparisons"].get(control) or {}
        ci = cmp.get("ci95")
        rows.append(
            {
                "model": name,
                "accuracy_audio": cond["audio"]["accuracy"],
                "accuracy_audio_ci95": cond["audio"].get("ci95"),
                "accuracy_control": cond[control]["accuracy"],
                "accuracy_control_ci95": cond[control].get("ci95"),
                "drop": None if cmp.get("difference") is None else 0.0 - cmp["difference"],
                "drop_ci95": None if ci is None else [0.0 - ci[1], 0.0 - ci[0]],
                "drop_ci_method": cmp.get("ci_method"),
                # with repeats of the control: the drop under each repeat, [smallest, largest]
                "drop_run_to_run_range": None
                if not cmp.get("run_to_run_range")
                else [0.0 - cmp["run_to_run_range"][1], 0.0 - cmp["run_to_run_range"][0]],
                "scored": doc["scored"],
            }
        )
    rows.sort(key=lambda r: (-(r["drop"] if r["drop"] is not None else -9.0), r["model"]))
    best = rows[0]["model"] if rows else None
    for row in rows:
        row["did_vs_best"] = row["did_vs_best_ci95"] = row["did_vs_best_p_holm"] = None
        if row["model"] == best:
            continue
        for pair in pairs.values():
            if set(pair["models"]) == {best, row["model"]}:
                d = pair["overall"]["controls"].get(control, {}).get("did")
                if d is None:
                    break
                sign = 1.0 if pair["models"][0] == row["model"] else -1.0  # did is A − B; show model − best
                ci = d.get("ci95")
                row["did_vs_best"] = None if d["did"] is None else sign * d["did"]
                row["did_vs_best_ci95"] = None if ci is None else sorted([sign * ci[0], sign * ci[1]])
                row["did_vs_best_p_holm"] = d.get("p_holm")
                row["did_vs_best_items"] = d["count"]
    return {
        "control": control,
        "best": best,
        "rows": rows,
        "definition": f"ranked by drop = accuracy(audio) - accuracy({control}) of each model on its own scored "
        f"items (paired Tango CI); did_vs_best = drop(model) - drop({best}) on the items both scored "
        "(negative: the model loses less than the best when the audio is replaced), p Holm-adjusted across the "
        "model pairs",
    }
