"""Helpers for the similarity tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_preds(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path
