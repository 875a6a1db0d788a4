from __future__ import annotations

from pathlib import Path

import pytest
from tests.similarity._data import write_preds


@pytest.fixture
def small_pair(tmp_path: Path) -> tuple[Path, Path]:
    """Six IDs over three categories (one of them with a single item)."""
    noise = [
        {"id": "a", "category": "sound", "model_output": "A dog is barking loudly."},
        {"id": "b", "category": "sound", "model_output": "Rain falls on a tin roof."},
        {"id": "c", "category": "music", "model_output": "(B) Jazz"},
        {"id": "d", "category": "music", "model_output": "A piano plays a slow melody."},
        {"id": "e", "category": "speech", "model_output": "The speaker sounds angry."},
        {"id": "x", "category": "sound", "model_output": "only in the noise file"},
    ]
    audio = [
        {"id": "a", "category": "sound", "model_output": "A dog is barking loudly."},
        {"id": "b", "category": "sound", "model_output": "Thunder and heavy rain."},
        {"id": "c", "category": "music", "model_output": "(B) Jazz"},
        {"id": "d", "category": "speech", "model_output": "Someone plays the piano."},
        {"id": "e", "category": "speech", "model_output": "A woman speaks calmly."},
        {"id": "y", "category": "sound", "model_output": "only in the audio file"},
    ]
    return write_preds(tmp_path / "noise.parquet", noise), write_preds(tmp_path / "audio.parquet", audio)
