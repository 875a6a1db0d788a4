"""``similarity --condition noise@1=…``: the accuracy-style names of the repeats map onto the probe's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lalm_bench.errors import InputError
from lalm_bench.similarity.repeats import condition_files

NONE = {"noise_file_2": None, "audio_file_2": None, "mismatched_file": None}


def test_names_map_onto_the_files() -> None:
    out = condition_files(["noise@1=a.parquet", "audio@1=b.parquet", "mismatched=c.parquet"], dict(NONE))
    assert out == {"noise_file_2": Path("a.parquet"), "audio_file_2": Path("b.parquet"), "mismatched_file": Path("c.parquet")}
    # the older flag and the same file: fine
    assert condition_files(["noise@1=a.parquet"], {**NONE, "noise_file_2": Path("a.parquet")})["noise_file_2"] == Path("a.parquet")


@pytest.mark.parametrize(
    ("specs", "given", "message"),
    [
        (["noise@2=a"], {}, "one repeat of noise"),
        (["silence=a"], {}, "expected one of"),
        (["noise@1"], {}, "expected NAME=FILE"),
        (["noise@1=a", "noise@1=b"], {}, "given twice"),
        (["noise@1=a"], {"noise_file_2": Path("b")}, "disagree"),
    ],
)
def test_bad_conditions(specs: list[str], given: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        condition_files(specs, {**NONE, **given})
