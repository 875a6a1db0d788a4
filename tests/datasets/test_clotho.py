"""Clotho captions: made-up files with every quirk of the real ones, the real CSVs, the hub cache path."""

from __future__ import annotations

import re

import pytest
from tests.datasets.fake_hub import REV_A  # the fake_hub default

from lalm_bench.datasets import clotho_csv_path, load_clotho
from lalm_bench.datasets.snapshots import DatasetNotFoundError
from lalm_bench.errors import InputError

HEADER = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5"
ROWS = [
    '"Rain, heavy.wav",Rain falls hard on a roof.,Heavy rain on a tin roof.,A storm pours rain.,'
    "Rain drums on metal.,Water falls from the sky. ",
    "Birds &amp; Bees.wav,Birds chirp  loudly.,Bees buzz near flowers.,Birds sing and bees hum.,"
    "Insects and birds outside.,Nature sounds &amp; buzzing.",
]


def write(path, rows, newline):
    path.write_bytes((newline.join([HEADER, *rows]) + newline).encode("utf-8"))
    return path


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_quirks_survive_verbatim(tmp_path, newline):
    table = load_clotho(write(tmp_path / "c.csv", ROWS, newline), "evaluation")
    assert table.clips == ["Rain, heavy.wav", "Birds &amp; Bees.wav"]
    assert table.clip_keys() == [("evaluation", "Rain, heavy.wav"), ("evaluation", "Birds &amp; Bees.wav")]
    assert table.captions[0][4] == "Water falls from the sky. "  # trailing space kept
    assert table.captions[1][0] == "Birds chirp  loudly."  # double space kept
    assert table.captions[1][4] == "Nature sounds &amp; buzzing."  # entity not unescaped
    assert not any("\r" in c for caps in table.captions for c in caps)
    assert table.caption_index == [[1, 2, 3, 4, 5]] * 2


def test_utf8_bom_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + ROWS[1] + "\n").encode())
    assert load_clotho(path).clips == ["Birds &amp; Bees.wav"]


def test_missing_caption_columns(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("file_name,caption_1,caption_2\na.wav,x,y\n")
    with pytest.raises(InputError) as err:
        load_clotho(path)
    assert "not a Clotho captions file: missing column(s) caption_3, caption_4, caption_5" in str(err.value)


def test_unknown_split():
    with pytest.raises(InputError, match=r"unknown Clotho split 'test'.*development, validation, evaluation"):
        clotho_csv_path("test")


def test_csv_in_the_cache_snapshot(fake_hub, tmp_path):
    csv = write(tmp_path / "c.csv", ROWS, "\n")
    fake_hub.add_snapshot({"clotho_captions_evaluation.csv": csv.read_bytes(), "clotho.zip": b"zip"})
    path = clotho_csv_path("evaluation")
    assert path == fake_hub.folder() / "snapshots" / REV_A / "clotho_captions_evaluation.csv"
    assert load_clotho(path, "evaluation").n_clips == 2


def test_snapshot_without_the_extracted_csv(fake_hub):
    fake_hub.add_snapshot({"clotho.zip": b"zip"})
    with pytest.raises(DatasetNotFoundError) as err:
        clotho_csv_path("validation")
    msg = str(err.value)
    assert "clotho_captions_validation.csv" in msg and "`lalm-bench data download clotho`" in msg
    assert "not extracted" in msg


def test_not_downloaded(fake_hub):
    with pytest.raises(DatasetNotFoundError) as err:
        clotho_csv_path("evaluation", revision="v2")
    msg = str(err.value)
    assert "`lalm-bench data download clotho --revision v2`" in msg and "--csv" in msg
    assert str(fake_hub.folder()) in msg


# --- the real Clotho v2.1 CSVs -------------------------------------------------------------------

SPLITS = {"development": 3839, "validation": 1045, "evaluation": 1045}


@pytest.fixture(scope="module")
def real_tables(shared_data):
    return {s: load_clotho(shared_data / "clotho" / f"clotho_captions_{s}.csv", s) for s in SPLITS}


def test_real_csvs_counts_and_quirks(real_tables, shared_data):
    for split, n in SPLITS.items():
        t = real_tables[split]
        assert t.n_clips == n and t.sizes == [5] * n and not t.skipped
        assert len(set(t.clips)) == n
    raw = {s: (shared_data / "clotho" / f"clotho_captions_{s}.csv").read_bytes() for s in SPLITS}
    assert b"\r\n" in raw["development"] and b"\r\n" in raw["validation"] and b"\r\n" not in raw["evaluation"]
    tables = real_tables.values()
    assert sum("," in c for t in tables for c in t.clips) == 203
    entity = re.compile(r"&#?\w+;")
    rows_with_entities = sum(
        bool(entity.search(c) or any(entity.search(x) for x in caps))
        for t in tables
        for c, caps in zip(t.clips, t.captions, strict=True)
    )
    assert rows_with_entities == 72
    captions = [c for t in tables for caps in t.captions for c in caps]
    assert sum(c != c.rstrip() for c in captions) == 14
    assert sum("  " in c for c in captions) == 129


def test_real_file_names_shared_between_splits_stay_distinct_keys(real_tables):
    keys = [k for t in real_tables.values() for k in t.clip_keys()]
    names = [name for _, name in keys]
    assert len(set(keys)) == len(keys) == 3839 + 1045 + 1045
    assert len(names) - len(set(names)) == 4


def test_real_csvs_through_a_fake_cache_snapshot(fake_hub, shared_data):
    files = {f"clotho_captions_{s}.csv": shared_data / "clotho" / f"clotho_captions_{s}.csv" for s in SPLITS}
    fake_hub.add_snapshot(files)
    for split, n in SPLITS.items():
        path = clotho_csv_path(split)
        assert path.is_symlink()
        assert load_clotho(path, split).n_clips == n
