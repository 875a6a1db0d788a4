"""Terminal output of ``report``: each model's verdict line and what was written."""

from __future__ import annotations

from typing import Any


def print_summary(data: dict[str, Any], written: list[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    for label, m in data["models"].items():
        v = m["verdict"]
        console.print(f"[bold]{escape(label)}[/bold]: {escape(v['line'])}")
    players = data.get("audio") or {}
    if players:
        ok = sum(1 for p in players.values() if p.get("src"))
        console.print(f"audio: {ok} verified player(s), {len(players) - ok} not offered")
    for note in data.get("audio_notes") or []:
        console.print(f"note: {escape(note)}")
    console.print("wrote " + ", ".join(written))
