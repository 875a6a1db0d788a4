"""``similarity --condition noise@1=…``: the accuracy-style names of the repeats map onto the probe's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lalm_bench.errors import InputError
from lalm_bench.similarity.repeats import condition_files

NONE = {"noise_file_2": None, "audio_file_2": None, "mismatched_file": None}


def test_names_map_onto_the_files() -> None:
    out = condition_files(["noise@1=a.parquet", "audio@1=b.parquet", "mismatched=c.parquet"], dict(NONE))
    assert out == {
        "noise_file_2": Path("a.parquet"),
        "audio_file_2": Path("b.parquet"),
        "mismatched_file": Path("c.parquet"),
    }
    # the older flag and the same file: fine
    assert condition_files(["noise@1=a.parquet"], {**NONE, "noise_file_2": Path("a.parquet")})["noise_file_2"] == Path(
        "a.parquet"
    )


@pytest.mark.parametrize(
    ("specs", "given", "message"),
    [
        (["noise@0=a"], {}, "noise@1, noise@2"),
        (["loud=a"], {}, "expected one of"),
        (["noise=a"], {}, "--noise-file"),
        (["head:x=a"], {}, "give the seconds"),
        (["noise@1"], {}, "expected NAME=FILE"),
        (["noise@1=a", "noise@1=b"], {}, "given twice"),
        (["noise@1=a"], {"noise_file_2": Path("b")}, "disagree"),
    ],
)
def test_bad_conditions(specs: list[str], given: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        condition_files(specs, {**NONE, **given})


def test_run_to_run_hand_values() -> None:
    import numpy as np

    from lalm_bench.similarity.repeats import run_to_run

    u = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    audio = np.array([0, 1, 0])
    runs = {"noise": np.array([0, 1, 1]), "noise@1": np.array([2, 2, -1])}  # item 2: no answer in noise@1
    out = run_to_run(u, audio, runs)
    assert out is not None and out["items"] == 2
    # audio vs noise: cos(u0, u0) = 1, cos(u1, u1) = 1 -> 1; vs noise@1: 0.6, 0.8 -> 0.7
    assert out["audio_vs_noise"] == pytest.approx({"noise": 1.0, "noise@1": 0.7})
    assert out["noise_vs_noise"]["noise vs noise@1"] == pytest.approx(0.7)
    assert out["listening_gap"]["noise vs noise@1"] == pytest.approx(0.7 - 0.85)
    assert out["audio_vs_noise_spread"]["range"] == pytest.approx(0.3)
    assert out["audio_vs_noise_spread"]["sd"] == pytest.approx(0.3 / np.sqrt(2))
    assert run_to_run(u, audio, {"noise": runs["noise"]}) is None


def test_noise_repeat_files_in_order() -> None:
    from lalm_bench.similarity.repeats import noise_repeat_files

    assert noise_repeat_files(["noise@3=c", "noise@1=a", "noise@2=b"]) == (Path("b"), Path("c"))
    with pytest.raises(InputError, match="noise@2 is missing"):
        noise_repeat_files(["noise@3=c"])
