"""Items whose audio never arrived (``predict``'s ``audio_arrival`` column: ``dropped`` or ``cut`` under any
condition) are counted per condition and left out of the statistics, unless ``--keep-unarrived``."""

from __future__ import annotations

import dataclasses
from typing import Any

from lalm_bench.accuracy.config import AccuracyConfig
from lalm_bench.accuracy.items import Items
from lalm_bench.audio.arrival import describe, unarrived
from lalm_bench.errors import InputError


def leave_out_unarrived(config: AccuracyConfig, items: Items) -> tuple[Items, dict[str, Any], list[str]]:
    """``(items kept, account, warnings)``; the account is the result's ``arrival`` field."""
    out, info = unarrived(config.files(), config.id_column, items.ids, keep=config.keep_unarrived)
    line = describe(info)
    warnings = [line] if line and info["flagged"] else []
    if not any(out):
        return items, info, warnings
    keep = [k for k, gone in enumerate(out) if not gone]
    if not keep:
        raise InputError(
            f"nothing to score: the audio of all {len(items)} items was flagged dropped or cut by predict "
            "(column audio_arrival); --keep-unarrived scores them anyway"
        )

    def pick(values: list[Any]) -> list[Any]:
        return [values[k] for k in keep]

    kept = dataclasses.replace(
        items,
        ids=pick(items.ids),
        categories=pick(items.categories),
        questions=None if items.questions is None else pick(items.questions),
        choices=pick(items.choices),
        gold=pick(items.gold),
        clusters=pick(items.clusters),
        answers={name: pick(values) for name, values in items.answers.items()},
        orders=_kept_orders(items.orders, keep),
    )
    info["excluded_ids"] = [items.ids[k] for k, gone in enumerate(out) if gone]
    return kept, info, warnings


def _kept_orders(
    orders: dict[str, list[tuple[int, int, list[int], str | None]]], keep: list[int]
) -> dict[str, list[tuple[int, int, list[int], str | None]]]:
    """The rows of the other option orders of the kept items, their item index renumbered."""
    where = {k: n for n, k in enumerate(keep)}
    return {c: [(where[r[0]], r[1], r[2], r[3]) for r in rows if r[0] in where] for c, rows in orders.items()}
