"""Human-facing output of ``predict``: the summary table, the serving canary and its warnings."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lalm_bench.predict.outputs import PredictResult


def _num(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def text_tokens(c: dict[str, Any]) -> str:
    if c["mean_prompt_tokens"] is None:
        return "–"
    ci = c["prompt_tokens_ci"]
    span = "" if ci.get("low") is None else f" ({ci['low']:.0f}–{ci['high']:.0f})"
    return f"{c['mean_prompt_tokens']:.0f}{span}"


def print_summary(result: PredictResult) -> None:
    """Counts per condition with the canary's numbers, then the canary's comparisons, on stdout."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    canary = result.canary["conditions"]
    table = Table(title=f"predict {result.model}", box=box.SIMPLE_HEAD)
    headers = ("condition", "items", "ok", "failed", "new", "cached", "prompt tokens", "audio s", "cut")
    for header in headers:
        table.add_column(header, justify="left" if header == "condition" else "right", no_wrap=True)
    rows: list[tuple[Any, ...]] = [
        (r.condition, r.items, r.ok, r.failed, r.processed, r.cache_hits) for r in result.conditions
    ]
    rows += [
        (f"{c} (earlier)", canary[c]["items"], canary[c]["ok"], canary[c]["failed"], "", canary[c]["cached"])
        for c in result.canary.get("compared_from_earlier_calls") or []
    ]
    for cond, *counts in rows:
        c = canary.get(cond.split(" ")[0])
        if c is None:  # a repeat of --samples: the canary reads sample 0
            table.add_row(cond, *map(str, counts), "–", "–", "–")
            continue
        table.add_row(
            cond, *map(str, counts), text_tokens(c), _num(c["mean_audio_seconds"], "{:.1f}"), str(c["finish_length"])
        )
    console = Console()
    if not console.is_terminal:  # a log file: no need to squeeze into 80 columns
        console = Console(width=120)
    console.print(table)
    print("prompt tokens: mean (95% CI) over the answered items; cut: answers stopped at --max-tokens")
    pairs = [p for p in result.canary["pairs"] if "none" in p["conditions"] or p["conditions"][0] == "audio"]
    if pairs:
        canary_table = Table(title="serving canary", box=box.SIMPLE_HEAD)
        for header in ("pair", "other length", "same tokens", "answered", "same answer"):
            canary_table.add_column(header, justify="left" if header == "pair" else "right", no_wrap=True)
        for p in pairs:
            a, b = p["conditions"]
            canary_table.add_row(
                f"{a} vs {b}",
                str(p["token_comparable"]),
                str(p["same_prompt_tokens"]) if p["token_comparable"] else "–",
                str(p["paired_ok"]),
                str(p["identical_outputs"]) if a == "audio" else "–",
            )
        console.print(canary_table)
        print(
            "other length: items whose audio as sent differs in length (only these can show dropped audio); "
            "same tokens: of those, equal prompt tokens; same answer: byte-identical answers"
        )
    arrival = result.canary.get("arrival") or {}
    encoder = (arrival.get("encoder") or {}).get("name", "no encoder rate known")
    for cond, v in (arrival.get("conditions") or {}).items():
        print(
            f"audio arrival under {cond} ({encoder}): {v['ok']} ok, {v['cut']} cut, {v['dropped']} dropped, "
            f"{v['unknown']} unknown (column audio_arrival)"
        )
    for note in result.canary["notes"]:
        print(f"canary: {note}")
    for row in result.conditions:
        print(f"wrote {row.parquet} and {row.manifest}")


def print_warnings(result: PredictResult) -> None:
    """The canary's warnings on stderr (also with --quiet: they question the outputs)."""
    for msg in result.canary["warnings"]:
        print(f"warning: canary: {msg}", file=sys.stderr)
    for msg in result.warnings:
        if msg.startswith("benchmark columns"):
            print(f"warning: {msg}", file=sys.stderr)
    for msg in result.notes:
        print(f"note: {msg}", file=sys.stderr)
