"""Generic multi-reference caption tables: wide and long layouts, skipped clips, bad tables."""

from __future__ import annotations

import pytest

from lalm_bench.datasets import load_caption_table
from lalm_bench.errors import InputError


def test_wide_with_missing_cells_keeps_caption_numbers_and_skips_thin_clips(tmp_path):
    path = tmp_path / "w.csv"
    path.write_text(
        "clip,caption_1,caption_2,caption_3,caption_10\n"
        "a,one,two,,ten\n"  # caption_3 empty: numbers 1, 2, 10 kept
        "b,only,,  ,\n"  # one caption: skipped and counted
        "c,x,y,z,w\n"
    )
    t = load_caption_table(path, clip_column="clip")
    assert t.layout == "wide"
    assert t.caption_columns == ["caption_1", "caption_2", "caption_3", "caption_10"]
    assert t.clips == ["a", "c"]
    assert t.caption_index == [[1, 2, 10], [1, 2, 3, 10]]
    assert t.captions[0] == ["one", "two", "ten"]
    assert t.skipped == ["b"]
    assert t.describe()["clips_skipped"] == 1 and t.n_captions == 7


def test_long_layout_groups_by_clip_in_file_order(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(
        b"audiocap_id,youtube_id,start_time,caption\r\n"
        b"7,y1,0,A dog barks\r\n"
        b"3,y2,0,Rain falls\r\n"
        b'7,y1,0,"A dog barks, then growls"\r\n'
        b"3,y2,0,Water drips\r\n"
        b"9,y3,0,Lonely caption\r\n"
    )
    t = load_caption_table(path, clip_column="audiocap_id", caption_column="caption")
    assert t.layout == "long"
    assert t.clips == ["7", "3"]
    assert t.captions == [["A dog barks", "A dog barks, then growls"], ["Rain falls", "Water drips"]]
    assert t.caption_index == [[1, 2], [1, 2]]
    assert t.skipped == ["9"]


def test_no_caption_columns_explains_both_layouts(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("file_name,text\na.wav,hello\n")
    with pytest.raises(InputError) as err:
        load_caption_table(path)
    msg = str(err.value)
    assert "no caption columns" in msg and "--caption-column" in msg
    assert "columns present: file_name, text" in msg


def test_missing_clip_or_caption_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,caption\n1,a\n")
    with pytest.raises(InputError, match=r"missing column\(s\) file_name"):
        load_caption_table(path, caption_column="caption")
    with pytest.raises(InputError, match=r"missing column\(s\) text"):
        load_caption_table(path, clip_column="id", caption_column="text")


def test_duplicate_clips_in_a_wide_table(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("file_name,caption_1,caption_2\na.wav,x,y\na.wav,z,w\n")
    with pytest.raises(InputError, match="occur more than once"):
        load_caption_table(path)


def test_no_clip_with_two_captions(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("file_name,caption_1,caption_2\na.wav,x,\nb.wav,,y\n")
    with pytest.raises(InputError, match="no clip has at least 2 non-empty captions"):
        load_caption_table(path)


def test_empty_clip_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("file_name,caption_1,caption_2\n,x,y\n")
    with pytest.raises(InputError, match="empty 'file_name'"):
        load_caption_table(path)


def test_real_audiocaps(shared_data):
    for split, clips in (("val", 495), ("test", 975)):
        t = load_caption_table(
            shared_data / "audiocaps" / f"{split}.csv", clip_column="youtube_id", caption_column="caption"
        )
        assert t.n_clips == clips and t.sizes == [5] * clips and not t.skipped
        assert not any(c.endswith("\r") for caps in t.captions for c in caps)
    with pytest.raises(InputError, match="is it a per-caption id rather than a clip id"):
        load_caption_table(shared_data / "audiocaps" / "val.csv", clip_column="audiocap_id", caption_column="caption")
