"""Helpers for the rubric tests: Clotho-like CSVs, baseline files, logs (imported, never via conftest)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.llm.helpers import make_wav

__all__ = [
    "FAST_OPTIONS",
    "MADE_UP",
    "REPO",
    "SHARED_CLOTHO",
    "make_wav",
    "read_jsonl",
    "write_baselines",
    "write_clotho_csv",
]

REPO = Path(__file__).resolve().parents[2]
SHARED_CLOTHO = REPO.parent / "shared" / "data" / "clotho"
# fast backoff so retry paths run quickly; same code as in production
FAST_OPTIONS = [
    "--llm-option", "backoff_initial_s=0.001", "--llm-option", "backoff_max_s=0.005",
    "--llm-option", "jitter_s=0",
]  # fmt: skip


def write_clotho_csv(path: Path, clips: dict[str, list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name"] + [f"caption_{i}" for i in range(1, 6)])
        for name, caps in clips.items():
            w.writerow([name, *caps])
    return path


MADE_UP = {
    f"clip {i:02d}, take {i}.wav": [f"Caption {j} of clip {i}: a {animal} barks near a {place}." for j in range(1, 6)]
    for i, (animal, place) in enumerate(
        [
            ("dog", "river"),
            ("fox", "road"),
            ("seal", "harbour"),
            ("wolf", "forest"),
            ("dog", "road"),
            ("crow", "field"),
        ]
    )
}


def write_baselines(path: Path, names, text=lambda n: f"Some noise is heard in {n}.") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name", "model_output"])
        for n in names:
            w.writerow([n, text(n)])
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
