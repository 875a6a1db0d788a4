"""The serving canary: signs that the server drops the audio or that the answers are cut or echoed.

Computed from the latest record of every selected item under each condition (failed items left out):

* **prompt tokens per condition** (mean with a 95% CI), and for each pair of conditions the share of items
  whose prompt-token counts are equal. Only items whose audio durations as sent differ by more than
  :data:`SAME_DURATION_S` are compared: audio encoders such as Qwen's emit a number of tokens that depends
  on the duration alone, so the real clip and same-length noise or silence *should* cost the same tokens.
  ``none`` (no audio) against any condition that sends audio, and ``mismatched`` (another clip's length)
  against ``audio``, are the informative pairs. Equal counts for most such items mean the server is
  probably dropping the audio. With ``none`` present, the extra prompt tokens per second of audio are
  estimated (25 for Qwen2-Audio/Qwen2.5-Omni, 13 for Qwen3-Omni: :mod:`lalm_bench.audio.tokens`).
* **byte-identical answers** under ``audio`` and each control for most items;
* answers that stopped at the token limit (``finish_reason`` ``length``), empty answers, and answers that
  repeat the prompt.

"Most" is more than :data:`MOST` of at least :data:`MIN_ITEMS` items.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from lalm_bench import stats
from lalm_bench.audio.sent import SILENT_CLIP_NOISE_DBFS, sends_audio
from lalm_bench.predict.config import CONDITIONS
from lalm_bench.predict.schema import PredictRecord

MOST = 0.5
MIN_ITEMS = 3
SAME_DURATION_S = 0.1


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def _norm(text: str) -> str:
    return " ".join(text.split())


def condition_stats(records: list[PredictRecord]) -> dict[str, Any]:
    ok = [r for r in records if r.status == "ok" and r.reply is not None]
    tokens = [float(r.reply.prompt_tokens) for r in ok if r.reply is not None]
    seconds = [s for r in ok if (s := r.audio_seconds) is not None]
    return {
        "items": len(records),
        "ok": len(ok),
        "failed": len(records) - len(ok),
        "mean_prompt_tokens": stats.mean(tokens),
        "prompt_tokens_ci": stats.mean_ci(tokens, seed=0),
        "mean_completion_tokens": stats.mean([float(r.reply.completion_tokens) for r in ok if r.reply is not None]),
        "mean_audio_seconds": stats.mean(seconds),
        "truncated_audio": sum(any(a.truncated for a in r.audio) for r in records),
        "silent_source_audio": sum(any(a.silent_source for a in r.audio) for r in records),
        "finish_length": sum(r.reply is not None and r.reply.finish_reason == "length" for r in ok),
        "empty_outputs": sum(not (r.model_output or "").strip() for r in ok),
        "echoed_prompt": sum(_norm(r.model_output or "") == _norm(r.prompt) for r in ok),
        "cached": sum(r.reply is not None and r.reply.cached for r in ok),
    }


def _pair(a: str, b: str, ra: Mapping[str, PredictRecord], rb: Mapping[str, PredictRecord]) -> dict[str, Any]:
    both = [
        (x, y)
        for i in ra
        if i in rb
        and (x := ra[i]).status == "ok"
        and (y := rb[i]).status == "ok"
        and x.reply is not None
        and y.reply is not None
    ]
    comparable = [
        (x, y)
        for x, y in both
        if x.audio_seconds is not None
        and y.audio_seconds is not None
        and abs(x.audio_seconds - y.audio_seconds) > SAME_DURATION_S
    ]
    same_tokens = sum(x.reply.prompt_tokens == y.reply.prompt_tokens for x, y in comparable)  # type: ignore[union-attr]
    identical = sum(x.model_output == y.model_output for x, y in both)
    out: dict[str, Any] = {
        "conditions": [a, b],
        "paired_ok": len(both),
        "token_comparable": len(comparable),
        "same_prompt_tokens": same_tokens,
        "share_same_prompt_tokens": _share(same_tokens, len(comparable)),
        "identical_outputs": identical,
        "share_identical_outputs": _share(identical, len(both)),
    }
    if b == "none" and sends_audio(a):
        rates = [
            (x.reply.prompt_tokens - y.reply.prompt_tokens) / x.audio_seconds  # type: ignore[union-attr,operator]
            for x, y in comparable
        ]
        out["audio_tokens_per_second_median"] = stats.quantiles(rates, [0.5])["q50"]
    return out


def serving_canary(by_condition: Mapping[str, Mapping[str, PredictRecord]]) -> dict[str, Any]:
    """The canary over ``{condition: {item id: latest record}}`` (see the module docstring)."""
    present = [c for c in CONDITIONS if c in by_condition] + sorted(set(by_condition) - set(CONDITIONS))
    per = {c: condition_stats(list(by_condition[c].values())) for c in present}
    pairs = [
        _pair(a, b, by_condition[a], by_condition[b])
        for a, b in itertools.combinations(present, 2)
        if sends_audio(a) or sends_audio(b)
    ]
    warnings: list[str] = []
    notes: list[str] = []
    # Token check: pairs with audio (or, without it, with none); identical answers: pairs with audio.
    anchor = "audio" if "audio" in present else "none"
    same_tokens, same_answers = [], []
    for p in pairs:
        a, b = p["conditions"]
        n, k = p["token_comparable"], p["same_prompt_tokens"]
        if anchor in (a, b) and n >= MIN_ITEMS and k > MOST * n:
            same_tokens.append(f"{a} vs {b} {k}/{n}")
        m, j = p["paired_ok"], p["identical_outputs"]
        if a == "audio" and b in CONDITIONS and m >= MIN_ITEMS and j > MOST * m:  # a long head may match
            same_answers.append(f"{b} {j}/{m}")
        rate = p.get("audio_tokens_per_second_median")
        if rate is not None and (a == "audio" or "audio" not in present):
            notes.append(f"{a} vs none: median {rate:.1f} extra prompt tokens per second of audio")
    if same_tokens:
        warnings.append(
            f"equal prompt-token counts for most items whose audio lengths differ ({', '.join(same_tokens)}): "
            "the server is probably dropping the audio"
        )
    if same_answers:
        warnings.append(
            f"answers under audio are byte-identical to those under {', '.join(same_answers)} items: the server may "
            "be dropping the audio (see the prompt tokens), or the model ignores it"
        )
    for c, s in per.items():
        if s["finish_length"]:
            warnings.append(
                f"{s['finish_length']} of {s['ok']} answers under {c} stopped at the token limit "
                "(finish_reason length): raise --max-tokens"
            )
        if s["empty_outputs"]:
            warnings.append(f"{s['empty_outputs']} of {s['ok']} answers under {c} are empty")
        if s["silent_source_audio"]:
            warnings.append(
                f"{s['silent_source_audio']} item(s) under {c} have a digitally silent clip (RMS 0): RMS-matched noise "
                f"would be silence again, so their noise was sent at {SILENT_CLIP_NOISE_DBFS:g} dBFS"
            )
        if s["ok"] >= MIN_ITEMS and s["echoed_prompt"] > MOST * s["ok"]:
            warnings.append(f"{s['echoed_prompt']} of {s['ok']} answers under {c} repeat the prompt verbatim")
    if not any(p["token_comparable"] for p in pairs):
        notes.append(
            "prompt tokens not checked: no pair of conditions sent audio of different lengths for the same items "
            "(add the none condition: it is text only and cheap)"
        )
    return {
        "rule": (
            f"warn when more than {MOST:.0%} of at least {MIN_ITEMS} items agree: equal prompt tokens where the "
            f"audio lengths sent differ by > {SAME_DURATION_S} s; byte-identical answers under audio and a control"
        ),
        "conditions": per,
        "pairs": pairs,
        "warnings": warnings,
        "notes": notes,
    }
