"""Terminal output of ``lalm-bench demo``: each model's verdict and where every file is."""

from __future__ import annotations

from typing import Any


def _span(values: dict[str, Any], key: str) -> str:
    ci = values.get(key)
    return f" [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]" if ci else ""


def print_summary(doc: dict[str, Any], summary_path: str) -> None:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    bench = doc["benchmark"]
    console.print(
        f"[bold]lalm-bench demo[/bold]: {bench['items']} items on {bench['clips']} synthesised clips "
        f"({', '.join(f'{k} {v}' for k, v in bench['categories'].items())}), seed {bench['seed']}"
    )
    for model, info in doc["models"].items():
        v = info["verdict"]
        style = {"listens": "green", "does not listen": "red"}.get(v["label"], "yellow")
        console.print(f"\n[bold]{model}[/bold]: [{style}]{v['label']}[/{style}]")
        console.print(f"  {v['line']}")
        drops = ", ".join(
            f"{name} {100 * d['difference']:+.1f}"
            + (f" [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]" if d.get("ci95") else "")
            for name, d in v["accuracy_drop"].items()
        )
        console.print(f"  accuracy difference vs audio (points, paired 95% CI): {drops}")
        kept = v.get("kept_without_audio") or {}
        if kept.get("raw") is not None:
            corrected = kept.get("chance_corrected")
            text = "–" if corrected is None else f"{100 * corrected:.0f}%{_span(kept, 'chance_corrected_ci95')}"
            raw = f"{100 * kept['raw']:.0f}%{_span(kept, 'ci95')}"
            console.print(f"  score kept without audio: {raw} raw, {text} chance-corrected")
        console.print(f"  files: {info['folder']}/ (predictions, similarity.json, accuracy.json, items.parquet)")
    console.print(f"\nbenchmark: {bench['path']}")
    if doc.get("report"):
        console.print(f"report: {doc['report']}")
    elif doc.get("report_note"):
        console.print(f"report: {doc['report_note']}")
    console.print(f"summary: {summary_path} ({doc['timings_s']['total']:.1f} s)")
