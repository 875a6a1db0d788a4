"""Helpers for the accuracy tests: prediction files written from rows, one-line error checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

CHOICES = ["Dog barking", "Cat meowing", "Bird singing"]


def write_preds(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Rows as Parquet (``.parquet``), CSV (lists as JSON text) or JSON Lines, by suffix."""
    df = pd.DataFrame(rows)
    if path.suffix == ".csv":
        import json

        for col in df.columns:
            if df[col].map(lambda v: isinstance(v, list)).any():
                df[col] = df[col].map(lambda v: json.dumps(v) if isinstance(v, list) else v)
        df.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    else:
        df.to_parquet(path, index=False)
    return path


def row(
    item_id: str,
    output: str | None,
    *,
    category: str = "sound",
    choices: list[str] | None = None,
    answer: str = "Dog barking",
    audio: list[str] | None = None,
    question: str = "What is the sound?",
) -> dict[str, Any]:
    return {
        "id": item_id,
        "category": category,
        "question": question,
        "choices": list(CHOICES) if choices is None else choices,
        "answer": answer,
        "audio_path": [f"clips/{item_id}.wav"] if audio is None else audio,
        "model_output": output,
    }


def assert_one_line_error(res: Any, *fragments: str, code: int = 2) -> None:
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in res.stderr
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
