"""The "does it listen?" verdict: one quotable line per model from the numbers of ``accuracy`` and ``similarity``.

The inputs are the JSON documents those jobs write (plain mappings), so the report, the terminals of
``accuracy`` and ``similarity`` and any script print the same line. The evidence, strongest first:

* answers byte-identical under ``audio`` and a control for most items: the audio is not used;
* the accuracy change under each control (paired, with its CI from ``accuracy``);
* the share of items right only with the audio, beside the share right only under the control (what
  changing answers alone gives: McNemar's discordant pairs);
* the share of the full-audio score kept without audio, raw and chance-corrected
  ``(control − chance) / (audio − chance)``, with item-bootstrap CIs;
* the listening gap of ``similarity`` (noise-vs-noise − audio-vs-noise), when a second noise run exists.
  Matched − floor is *not* evidence: a model that ignores the audio scores high on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Share of byte-identical answers above which the audio is declared unused.
IDENTICAL_SHARE = 0.9
CONTROL_ORDER = ("none", "silence", "noise", "mismatched")


@dataclass(frozen=True)
class Verdict:
    """``line``: the sentence to quote; ``conclusion``: ``listens`` | ``not-listening`` | ``no-evidence`` |
    ``unknown``; ``evidence``: the numbers behind it, one line each; ``caveats``: what not to conclude."""

    line: str
    conclusion: str
    evidence: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "conclusion": self.conclusion,
            "evidence": list(self.evidence),
            "caveats": list(self.caveats),
            "numbers": self.numbers,
        }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _pts(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f} pts"


def _ci_pct(ci: Sequence[float] | None, pts: bool = False) -> str:
    if not ci:
        return "no CI"
    lo, hi = ci
    return f"{100 * lo:+.1f} to {100 * hi:+.1f}" if pts else f"{100 * lo:.1f}% to {100 * hi:.1f}%"


def kept_shares(
    correct_audio: Sequence[bool] | np.ndarray,
    correct_control: Sequence[bool] | np.ndarray,
    chance: Sequence[float] | np.ndarray,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The share of the full-audio score kept under a control: ``raw`` = acc(control) / acc(audio) and
    ``chance_corrected`` = (acc(control) − chance) / (acc(audio) − chance), each with a 95% percentile
    bootstrap CI over items (resampled jointly). ``None`` where the denominator is not positive."""
    ca = np.asarray(correct_audio, dtype=np.float64)
    cc = np.asarray(correct_control, dtype=np.float64)
    ch = np.asarray(chance, dtype=np.float64)
    n = int(ca.size)
    out: dict[str, Any] = {"n": n, "ci_method": "bootstrap (items)" if n >= 30 else None}

    def ratios(a: np.ndarray, c: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(a > 0, c / np.where(a > 0, a, 1), np.nan)
            den = a - h
            cor = np.where(den > 0, (c - h) / np.where(den > 0, den, 1), np.nan)
        return raw, cor

    if n == 0:
        return {**out, "raw": None, "raw_ci95": None, "chance_corrected": None, "chance_corrected_ci95": None}
    raw, cor = ratios(np.array([ca.mean()]), np.array([cc.mean()]), np.array([ch.mean()]))
    out["raw"] = None if np.isnan(raw[0]) else float(raw[0])
    out["chance_corrected"] = None if np.isnan(cor[0]) else float(cor[0])
    out["raw_ci95"] = out["chance_corrected_ci95"] = None
    if n >= 30 and n_resamples > 0:
        rng = np.random.default_rng(seed)
        sums = np.zeros((3, n_resamples))
        step = max(1, 4_000_000 // n)
        for start in range(0, n_resamples, step):
            stop = min(n_resamples, start + step)
            idx = rng.integers(0, n, size=(stop - start, n))
            sums[0, start:stop] = ca[idx].mean(axis=1)
            sums[1, start:stop] = cc[idx].mean(axis=1)
            sums[2, start:stop] = ch[idx].mean(axis=1)
        braw, bcor = ratios(sums[0], sums[1], sums[2])
        for key, vals, point in (("raw", braw, out["raw"]), ("chance_corrected", bcor, out["chance_corrected"])):
            ok = vals[~np.isnan(vals)]
            if point is not None and ok.size >= 0.95 * n_resamples:
                out[f"{key}_ci95"] = [float(np.quantile(ok, 0.025)), float(np.quantile(ok, 0.975))]
    else:
        out["ci_note"] = f"{n} items < 30: no bootstrap interval"
    return out


def _controls(names: Sequence[str]) -> list[str]:
    rank = {c: i for i, c in enumerate(CONTROL_ORDER)}
    return sorted((c for c in names if c != "audio"), key=lambda c: (rank.get(c, len(rank)), c))


def listening_verdict(
    accuracy: Mapping[str, Any] | None = None,
    similarity: Mapping[str, Any] | None = None,
    *,
    identical: Mapping[str, tuple[int, int]] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Verdict:
    """The verdict of one model from an ``accuracy`` document, a ``similarity`` document (either may be
    missing) and ``identical``: per control, (items with byte-identical answers under audio and the
    control, items compared)."""
    evidence: list[str] = []
    caveats: list[str] = []
    numbers: dict[str, Any] = {}
    identical, ident_share = _identical_evidence(similarity, identical, numbers, evidence)
    uses: list[str] = []  # controls under which the audio demonstrably helps
    flat: list[str] = []  # controls whose change has a CI that includes 0
    if accuracy is not None:
        _accuracy_evidence(accuracy, numbers, evidence, caveats, uses, flat, n_resamples, seed)
    gap_ok = _gap_evidence(similarity, numbers, evidence, caveats) if similarity is not None else None
    line, conclusion = _conclude(ident_share, uses, flat, gap_ok, numbers, caveats)
    return Verdict(line=line, conclusion=conclusion, evidence=evidence, caveats=caveats, numbers=numbers)


def _identical_evidence(
    similarity: Mapping[str, Any] | None,
    identical: Mapping[str, tuple[int, int]] | None,
    numbers: dict[str, Any],
    evidence: list[str],
) -> tuple[dict[str, tuple[int, int]], dict[str, float]]:
    """Byte-identical answers per control (from ``identical``, else from similarity format 3)."""
    if identical is None and similarity is not None:  # similarity format 3 counts them itself
        identical = {
            k.split("_vs_", 1)[1].replace("_", "-"): (int(d["identical"]), int(d["items"]))
            for k, d in (similarity.get("identical") or {}).items()
            if isinstance(d, dict) and k.startswith("audio_vs_") and d.get("items")
        }
    identical = dict(identical or {})
    ident_share = {c: k / n for c, (k, n) in identical.items() if n}
    numbers["identical"] = {
        c: {"identical": k, "items": n, "share": ident_share.get(c)} for c, (k, n) in identical.items()
    }
    for c in _controls(list(ident_share)):
        evidence.append(
            f"answers byte-identical under audio and {c}: {_pct(ident_share[c])} of {identical[c][1]} items"
        )

    return identical, ident_share


def _accuracy_evidence(
    accuracy: Mapping[str, Any],
    numbers: dict[str, Any],
    evidence: list[str],
    caveats: list[str],
    uses: list[str],
    flat: list[str],
    n_resamples: int,
    seed: int,
) -> None:
    """Per control: the paired change with its CI, the one-sided right counts and the share of score kept."""
    conds = accuracy.get("conditions", {})
    comps = accuracy.get("comparisons", {})
    chance = accuracy.get("chance_accuracy")
    items = accuracy.get("items") or []
    a = conds.get("audio", {})
    numbers["accuracy"] = {"audio": a.get("accuracy"), "audio_ci95": a.get("ci95"), "chance": chance}
    evidence.append(f"accuracy with audio {_pct(a.get('accuracy'))} ({_ci_pct(a.get('ci95'))}); chance {_pct(chance)}")
    for c in _controls(list(comps)):
        cmp = comps[c]
        ci = cmp.get("ci95")
        n = cmp.get("count") or 0
        only_a = cmp.get("audio_only_right", 0) / n if n else None
        only_c = cmp.get("control_only_right", 0) / n if n else None
        kept = None
        if items:
            ca = [bool(r.get("correct_audio")) for r in items]
            cc = [bool(r.get(f"correct_{c}")) for r in items]
            chance_i = [1.0 / r["n_choices"] if r.get("n_choices") else 0.0 for r in items]
            kept = kept_shares(ca, cc, chance_i, n_resamples=n_resamples, seed=seed)
        numbers[c] = {
            "accuracy": conds.get(c, {}).get("accuracy"),
            "difference": cmp.get("difference"),
            "ci95": ci,
            "ci_method": cmp.get("ci_method"),
            "right_only_with_audio": only_a,
            "right_only_under_control": only_c,
            "kept": kept,
        }
        line = (
            f"{c}: accuracy {_pct(conds.get(c, {}).get('accuracy'))}, change {_pts(cmp.get('difference'))} "
            f"(95% CI {_ci_pct(ci, pts=True)}, {cmp.get('ci_method') or 'no method'}); right only with audio "
            f"{_pct(only_a)} vs right only under {c} {_pct(only_c)} (what changing answers alone gives)"
        )
        if kept is not None:
            line += (
                f"; score kept without audio {_pct(kept['raw'])} ({_ci_pct(kept['raw_ci95'])}), "
                f"chance-corrected {_pct(kept['chance_corrected'])} ({_ci_pct(kept['chance_corrected_ci95'])})"
            )
        evidence.append(line)
        if ci and (ci[1] < 0 or ci[0] > 0):  # either sign: the answers depend on the audio
            uses.append(c)
        elif ci and ci[0] <= 0 <= ci[1]:
            flat.append(c)
    flip = (accuracy.get("reliance") or {}).get("expected_by_flipping")
    if isinstance(flip, dict) and flip.get("expected_each") is not None:
        numbers["expected_by_flipping"] = {k: v for k, v in flip.items() if k != "definition"}
        evidence.append(
            f"right with audio only (under every control): {flip['right_with_audio_only']} items, against "
            f"{flip['expected_each']:g} expected from changing answers alone (right without audio only: "
            f"{flip['right_without_audio_only']})"
        )
    if chance is not None and a.get("ci95") and a["ci95"][0] <= chance:
        caveats.append("accuracy with audio is not above chance: the benchmark may be too hard to tell")


def _gap_evidence(
    similarity: Mapping[str, Any], numbers: dict[str, Any], evidence: list[str], caveats: list[str]
) -> bool | None:
    """The listening gap: ``True`` when its CI lies above 0, ``False`` when it holds 0, ``None`` without it."""
    gap_ok: bool | None = None
    lst = similarity.get("listening", {})
    if lst.get("available"):
        g = lst["listening_gap"]["overall"]
        ci = g.get("ci95")
        numbers["listening_gap"] = {"gap": g.get("mean_difference"), "ci95": ci, "ci_method": g.get("ci_method")}
        gap = g.get("mean_difference")
        evidence.append(
            f"listening gap (noise-vs-noise − audio-vs-noise) {gap:+.3f} (95% CI "
            + (f"{ci[0]:+.3f} to {ci[1]:+.3f}" if ci else "none")
            + "): 0 means the answers move no more with the audio than with another noise draw"
            if gap is not None
            else "listening gap: undefined"
        )
        gap_ok = bool(ci and ci[0] > 0)
    else:
        caveats.append(
            "similarity without a second noise run: matched − floor is large even for a model that ignores the "
            "audio; it is not evidence of listening"
        )
    return gap_ok


def _conclude(
    ident_share: dict[str, float],
    uses: list[str],
    flat: list[str],
    gap_ok: bool | None,
    numbers: dict[str, Any],
    caveats: list[str],
) -> tuple[str, str]:
    """The verdict line and its conclusion, from the evidence in the order of :data:`VERDICT_RULE`."""
    top = max(ident_share.items(), key=lambda kv: kv[1], default=None)
    if top is not None and top[1] >= IDENTICAL_SHARE:
        conclusion = "not-listening"
        line = (
            f"answers identical under audio and {top[0]} for {_pct(top[1])} of items: this model is not using "
            "the audio (or the server drops it)"
        )
    elif uses or gap_ok:
        conclusion = "listens"
        parts = []
        for c in uses:
            n = numbers[c]
            parts.append(f"{_pts(n['difference'])} under {c} ({_ci_pct(n['ci95'], pts=True)})")
        first = uses[0] if uses else None
        kept = numbers[first]["kept"] if first else None
        more = f" (and {len(parts) - 2} more controls)" if len(parts) > 2 else ""
        line = "uses the audio: " + ("accuracy changes " + ", ".join(parts[:2]) + more if parts else "")
        if gap_ok:
            gap_txt = f"listening gap {numbers['listening_gap']['gap']:+.3f} with a CI above 0"
            line += ("; " if parts else "") + gap_txt
        if kept and kept.get("raw") is not None:
            line += f"; it keeps {_pct(kept['raw'])} of its score without audio ({first})"
        caveats.append("using the audio is not understanding it: read the per-category drops and the items")
    elif flat or gap_ok is False:
        conclusion = "no-evidence"
        what = f"the accuracy change under {', '.join(flat)}" if flat else "the listening gap"
        line = f"no evidence that it uses the audio: {what} has a 95% CI that includes 0"
        caveats.append("no evidence is not proof of deafness: the CI may be wide; add items or controls")
    else:
        conclusion = "unknown"
        line = "not enough to tell: give accuracy results, or similarity with a second noise run (--noise-file-2)"
    return line, conclusion
