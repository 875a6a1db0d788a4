from pathlib import Path

import pytest

from lalm_bench.errors import InputError
from lalm_bench.similarity.probe import load_predictions, match_predictions


def _load(path: Path, require_category: bool = True):
    return load_predictions(path, "id", "model_output", "category", require_category)


def test_match_inner_join_and_report(small_pair: tuple[Path, Path]) -> None:
    noise, audio = small_pair
    merged, report = match_predictions(_load(noise), _load(audio, False))
    assert merged["id"].tolist() == ["a", "b", "c", "d", "e"]  # noise-file order
    assert report == {
        "noise_rows": 6,
        "audio_rows": 6,
        "matched": 5,
        "only_in_noise": 1,
        "only_in_audio": 1,
        "category_from": "audio",
        "category_mismatches": 1,  # d: music (noise) vs speech (audio)
    }
    assert merged.set_index("id").loc["d", "category"] == "speech"  # category from the audio file


def test_no_common_ids(tmp_path: Path) -> None:
    from tests.similarity._data import write_preds

    n = write_preds(tmp_path / "n.parquet", [{"id": 1, "category": "s", "model_output": "x"}])
    a = write_preds(tmp_path / "a.parquet", [{"id": "1", "category": "s", "model_output": "x"}])
    with pytest.raises(InputError, match="no IDs in common"):
        match_predictions(_load(n), _load(a))
