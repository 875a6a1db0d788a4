"""Pure logic of the rubric pipeline: reference draws, quote checks, merges, logs, run folders, data."""

from __future__ import annotations

import json

import pytest

from lalm_bench.errors import InputError, OutputExistsError
from lalm_bench.rubrics.common.clips import Clip, ClipSet, load_baselines, load_clip_set, read_clip_audio
from lalm_bench.rubrics.common.records import Criterion, MergeItem, MergeReply, RubricItem, RunRecord, RunSettings
from lalm_bench.rubrics.generate.steps import MergeInvalid, apply_merge, check_quotes, draw_reference
from lalm_bench.runs import RunFolder, RunLog, read_records
from tests.rubrics.helpers import make_wav, write_baselines


def test_reference_draw_is_per_clip_and_seeded():
    clip = Clip("a.wav", ("one", "two", "three", "four", "five"))
    draws = {draw_reference(s, "evaluation", clip) for s in range(40)}
    assert {i for i, _ in draws} == {1, 2, 3, 4, 5}  # all five get drawn across seeds
    assert all(clip.captions[i - 1] == t for i, t in draws)
    # the draw depends only on (seed, split, clip): not on order or on other clips
    assert draw_reference(7, "evaluation", clip) == draw_reference(7, "evaluation", clip)
    empty = Clip("b.wav", ("", " ", "only", "", ""))
    assert draw_reference(3, "evaluation", empty) == (3, "only")


def test_quotes_must_occur_in_the_reference():
    ref = "A dog barks, then a car  drives by on wet pavement."
    good = Criterion(criterion="Mentions a car driving by", weight=3, quote="car drives by")
    loose = Criterion(criterion="Mentions wet pavement", weight=2, quote="Wet pavement.")
    bad = Criterion(criterion="Mentions rain", weight=4, quote="heavy rain")
    kept, rejected = check_quotes([good, loose, bad], ref)
    assert kept == [good, loose]
    assert [r["criterion"] for r in rejected] == ["Mentions rain"]
    assert rejected[0]["reason"] == "quote not found in the reference"


def _rubric():
    return [RubricItem(criterion="mentions a dog", weight=3), RubricItem(criterion="mentions rain", weight=2)]


def _new():
    return [
        Criterion(criterion="mentions a barking dog", weight=4, quote="dog"),
        Criterion(criterion="mentions a car", weight=1, quote="car"),
    ]


def test_merge_sums_weights_of_merged_items_and_keeps_the_rest():
    reply = MergeReply(
        rubric=[
            MergeItem(criterion="mentions a (barking) dog", sources=["R1", "n1"]),
            MergeItem(criterion="mentions rain", sources=["R2"]),
            MergeItem(criterion="mentions a car", sources=["N2"]),
        ]
    )
    out, warnings = apply_merge(_rubric(), _new(), reply)
    assert [(i.criterion, i.weight) for i in out] == [
        ("mentions a (barking) dog", 7),
        ("mentions rain", 2),
        ("mentions a car", 1),
    ]
    assert warnings == []


def test_merge_keeps_left_out_items_and_rejects_invented_or_reused_ids():
    out, warnings = apply_merge(_rubric(), _new(), MergeReply(rubric=[MergeItem(criterion="x", sources=["R1"])]))
    assert [i.criterion for i in out] == ["x", "mentions rain", "mentions a barking dog", "mentions a car"]
    assert sum(i.weight for i in out) == 3 + 2 + 4 + 1  # nothing lost
    assert len(warnings) == 3
    with pytest.raises(MergeInvalid, match="unknown id"):
        apply_merge(_rubric(), _new(), MergeReply(rubric=[MergeItem(criterion="new idea", sources=["N9"])]))
    with pytest.raises(MergeInvalid, match="more than once"):
        apply_merge(
            _rubric(),
            _new(),
            MergeReply(rubric=[MergeItem(criterion="a", sources=["R1"]), MergeItem(criterion="b", sources=["R1"])]),
        )


def _record(pos: int, clip: str) -> RunRecord:
    return RunRecord(
        run="run_0", position=pos, clip=clip, split="evaluation", status="ok", reference_index=1,
        reference="r", baseline="b", baseline_source="file",
        final_criteria=[RubricItem(criterion=f"c{pos}", weight=1)],
    )  # fmt: skip


def _read(log):
    return read_records(log, RunRecord, key=lambda r: r.position, what="rubric record")


def test_log_torn_last_line_is_ignored_and_truncated(tmp_path):
    log = tmp_path / "log.jsonl"
    with RunLog(log) as w:
        w.append(_record(0, "a.wav"))
        w.append(_record(1, "b.wav"))
    good = log.read_bytes()
    with open(log, "ab") as fh:
        fh.write(b'{"format": "lalm-bench/rubric-record/1", "run": "run_0", "posi')  # kill -9 mid-write
    records = _read(log)
    assert [r.clip for r in records] == ["a.wav", "b.wav"]
    assert log.read_bytes() == good
    log.write_bytes(good + b"not json\n")
    with pytest.raises(InputError, match="line 3 is not a valid rubric record"):
        _read(log)


def test_log_with_a_clip_written_twice_is_refused(tmp_path):
    log = tmp_path / "log.jsonl"
    with RunLog(log) as w:
        for rec in (_record(0, "a.wav"), _record(1, "b.wav"), _record(1, "b.wav")):
            w.append(rec)
    with pytest.raises(InputError, match=r"lines 2 and 3 hold the same rubric record.*two processes"):
        _read(log)


def _settings(**kw) -> RunSettings:
    base = dict(
        split="evaluation", start=0, limit=10, clips_csv_sha256="x", dataset_revision=None, audio_model=None,
        rubric_model="openai/m", baseline_file_sha256="y", rubric_with_audio=False, rubric_lag=0,
        mode="deterministic", temperature=0.0, top_p=None, max_tokens=1024, seed=42, prompt_version="p",
    )  # fmt: skip
    base.update(kw)
    return RunSettings(**base)


def test_run_folder_resume_extend_refuse_overwrite(tmp_path):
    from lalm_bench.rubrics.generate.job import _extends

    def check(settings, overwrite=False):
        return run.check(settings.model_dump(mode="json"), overwrite=overwrite, compatible=_extends)

    folder = tmp_path / "run_0"
    with RunFolder(folder) as run:
        assert check(_settings()) is False
        old = {**_settings().model_dump(mode="json"), "base_url": "http://127.0.0.1:8000/v1"}
        (folder / "run.json").write_text(json.dumps({"settings": old}))  # an address is not an identity
        (folder / "log.jsonl").write_text("")
        assert check(_settings()) is True
        assert check(_settings(limit=20)) is True  # extending a run
        with pytest.raises(OutputExistsError, match=r"limit: 10 -> 5"):
            check(_settings(limit=5))
        with pytest.raises(OutputExistsError, match=r"seed: 42 -> 7.*--overwrite.*--run-name"):
            check(_settings(seed=7))
        assert check(_settings(seed=7), overwrite=True) is False
        assert not (folder / "run.json").exists() and not (folder / "log.jsonl").exists()
    # the new run wrote nothing: the replaced one is back
    assert (folder / "run.json").exists() and (folder / "log.jsonl").exists()


def test_load_real_clotho_verbatim(clotho_eval):
    clips = load_clip_set("evaluation", csv=clotho_eval)
    assert len(clips.clips) == 1045
    names = [c.file_name for c in clips.clips]
    assert sum("," in n for n in names) > 0 and any("&amp;" in n for n in names)
    assert all(len(c.captions) == 5 for c in clips.clips)
    assert clips.audio_dir == clotho_eval.parent / "audio" / "evaluation"  # the shared data layout


def test_load_clotho_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(InputError, match=r"is not downloaded.*lalm-bench data download clotho"):
        load_clip_set("evaluation")
    with pytest.raises(InputError, match="unknown Clotho split 'test'"):
        load_clip_set("test")
    bad = tmp_path / "bad.csv"
    bad.write_text("file_name,caption_1\na.wav,x\n")
    with pytest.raises(InputError, match="missing column"):
        load_clip_set("evaluation", csv=bad)


def test_load_clotho_from_hub_cache_snapshot(tmp_path, monkeypatch, small_clotho):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "datasets--woongvy--clotho-v2.1"
    snap = repo / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snap / "clotho_captions_evaluation.csv").write_bytes(small_clotho.read_bytes())
    clips = load_clip_set("evaluation")
    assert clips.revision == "a" * 40 and clips.audio_dir == snap / "evaluation" and len(clips.clips) == 6


def test_baselines_and_audio_files(tmp_path):
    path = write_baselines(tmp_path / "b.csv", ["a.wav", "NA"], text=lambda n: "NA" if n == "NA" else " x ")
    assert load_baselines(path) == {"a.wav": " x ", "NA": "NA"}  # verbatim, no NA parsing
    dup = write_baselines(tmp_path / "d.csv", ["a.wav", "a.wav"])
    with pytest.raises(InputError, match="more than once"):
        load_baselines(dup)
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    clips = ClipSet("evaluation", [], tmp_path / "c.csv", audio_dir, None)

    def read(name: str):
        return read_clip_audio(clips, Clip(name, ("x",)))

    (audio_dir / "ok.wav").write_bytes(make_wav())
    assert read("ok.wav").data == (audio_dir / "ok.wav").read_bytes()
    with pytest.raises(InputError, match="not found"):
        read("missing.wav")
    (audio_dir / "bad.wav").write_bytes(b"this is not audio" * 10)
    with pytest.raises(InputError, match="unreadable audio file"):
        read("bad.wav")
    (tmp_path / "secret.wav").write_bytes(make_wav())  # outside the audio folder
    for name in ("../secret.wav", str(tmp_path / "secret.wav"), "../nothing-here.wav"):
        with pytest.raises(InputError, match="outside") as err:
            read(name)
        assert "nothing-here" in str(err.value) or "secret" in str(err.value)
