"""Per item: did the audio arrive? The flag of every record (:mod:`lalm_bench.audio.arrival`), its columns in
the output tables, and the per-run account in the serving canary."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from lalm_bench.audio.arrival import (
    ARRIVAL_COLUMN,
    EXPECTED_COLUMN,
    OBSERVED_COLUMN,
    REL_TOL,
    RULE,
    Arrival,
    classify,
    counts,
)
from lalm_bench.audio.tokens import AudioEncoder, encoder_for
from lalm_bench.predict.config import AUDIO_CONDITIONS, PredictConfig
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.tables import Column

#: A table rate whose median observed/expected ratio falls outside these bounds does not fit this server.
RATIO_BOUNDS = (0.8, 1.25)


def encoder_of(cfg: PredictConfig) -> AudioEncoder | None:
    return encoder_for(cfg.model, tokens_per_second=cfg.audio_tokens_per_second)


def _answered(r: PredictRecord | None) -> bool:
    return r is not None and r.status == "ok" and r.reply is not None


def item_arrivals(
    by_condition: Mapping[str, Mapping[str, PredictRecord]], encoder: AudioEncoder | None
) -> dict[str, dict[str, Arrival]]:
    """``{condition: {item id: Arrival}}`` for every answered item of every condition that sends audio."""
    none = by_condition.get("none", {})
    out: dict[str, dict[str, Arrival]] = {}
    for cond, records in by_condition.items():
        if cond not in AUDIO_CONDITIONS:
            continue
        flags: dict[str, Arrival] = {}
        for item_id, r in records.items():
            if not _answered(r) or r.failed_step == "audio":
                continue
            ref = none.get(item_id)
            assert r.reply is not None
            none_tokens = ref.reply.prompt_tokens if ref is not None and _answered(ref) and ref.reply else None
            flags[item_id] = classify(r.reply.prompt_tokens, none_tokens, [a.seconds for a in r.audio], encoder)
        out[cond] = flags
    return out


def arrival_summary(
    arrivals: Mapping[str, Mapping[str, Arrival]], encoder: AudioEncoder | None, *, has_none: bool
) -> dict[str, Any]:
    """Counts per flag and condition, the encoder used, warnings (dropped or cut items) and notes."""
    per: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    notes: list[str] = []
    for cond, flags in arrivals.items():
        c = counts(a.flag for a in flags.values())
        ratios = [
            a.observed / a.expected for a in flags.values() if a.flag == "ok" and a.observed is not None and a.expected
        ]
        ratio = statistics.median(ratios) if ratios else None
        per[cond] = c | {"checked": len(flags), "median_observed_over_expected": ratio}
        bad = [(f, c[f]) for f in ("dropped", "cut") if c[f]]
        if bad:
            examples = sorted(i for i, a in flags.items() if a.flag in ("dropped", "cut"))[:3]
            warnings.append(
                f"audio that never arrived under {cond}: "
                + ", ".join(f"{k} {f}" for f, k in bad)
                + f" of {len(flags)} items (e.g. {', '.join(examples)}; column {ARRIVAL_COLUMN}); accuracy and "
                "similarity leave them out unless --keep-unarrived"
            )
        if ratio is not None and encoder is not None and not RATIO_BOUNDS[0] <= ratio <= RATIO_BOUNDS[1]:
            warnings.append(
                f"under {cond} the server counts {ratio:.2f}x the audio tokens that {encoder.name}'s table implies: "
                "the table may not fit this model or server (give --audio-tokens-per-second)"
            )
    if arrivals and not has_none:
        notes.append("per-item audio check without none: add --condition none (text only, cheap) to see drops")
    if arrivals and encoder is None:
        notes.append(
            "no audio tokens per second known for this model: cuts cannot be seen (give --audio-tokens-per-second)"
        )
    return {
        "rule": RULE,
        "relative_tolerance": REL_TOL,
        "encoder": encoder.describe() if encoder is not None else None,
        "conditions": per,
        "warnings": warnings,
        "notes": notes,
    }


def arrival_columns(ids: list[str | None], flags: Mapping[str, Arrival] | None) -> list[Column]:
    """The flag, the observed and the expected audio tokens of each row (null where not judged, and for a
    row whose id is ``None``)."""
    got = [None if flags is None or i is None else flags.get(i) for i in ids]
    return [
        Column(ARRIVAL_COLUMN, [a.flag if a else None for a in got], "object"),
        Column(OBSERVED_COLUMN, [a.observed if a else None for a in got], "Int64"),
        Column(EXPECTED_COLUMN, [a.expected if a else None for a in got], "float64"),
    ]
