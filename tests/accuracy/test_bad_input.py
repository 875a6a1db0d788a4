"""Bad input: one ``error:`` line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.accuracy.helpers import assert_one_line_error, row, write_preds

GOOD = [row("a", "A"), row("b", "B", answer="Cat meowing"), row("c", "C", answer="Bird singing")]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return write_preds(tmp_path / "audio.parquet", GOOD), write_preds(tmp_path / "noise.parquet", GOOD)


def run(run_cli, tmp_path: Path, *args: object):
    out = tmp_path / "out.json"
    res = run_cli("accuracy", "-o", out, "-q", "--extractor", "none", "--items", tmp_path / "items.csv", *args)
    assert not out.exists() and not (tmp_path / "items.csv").exists()
    return res


@pytest.mark.parametrize("missing", ["choices", "answer"])
def test_files_without_choices_or_answer(run_cli, tmp_path, files, missing) -> None:
    audio, _ = files
    rows = [{k: v for k, v in r.items() if k != missing} for r in GOOD]
    noise = write_preds(tmp_path / "n.parquet", rows)
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise)
    assert_one_line_error(res, "n.parquet", f"missing column(s) {missing}", "similarity needs only the answers")


def test_renamed_column_missing_everywhere(run_cli, tmp_path, files) -> None:
    audio, noise = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise, "--choices-column", "options")
    assert_one_line_error(res, "audio.parquet", "missing column(s) options", "columns present: id")


def test_choices_that_are_not_lists(run_cli, tmp_path, files) -> None:
    audio, _ = files
    rows = [{**r, "choices": "Dog barking|Cat meowing"} for r in GOOD]
    noise = write_preds(tmp_path / "n.parquet", rows)
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise)
    assert_one_line_error(res, "n.parquet", "'choices' must hold lists", "found str in 3 row(s)")


def test_duplicate_ids(run_cli, tmp_path, files) -> None:
    audio, _ = files
    noise = write_preds(tmp_path / "n.parquet", [*GOOD, row("a", "B")])
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise)
    assert_one_line_error(res, "n.parquet", "duplicate 'id'", "'a'")


def test_condition_given_twice(run_cli, tmp_path, files) -> None:
    audio, noise = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise, "--condition", f"noise={noise}")
    assert_one_line_error(res, "condition 'noise' is given twice")
    res = run(run_cli, tmp_path, "--audio-file", audio, "--condition", f"silence={noise}",
              "--condition", f"silence={audio}")  # fmt: skip
    assert_one_line_error(res, "condition 'silence' is given twice")


def test_fewer_than_two_conditions(run_cli, tmp_path, files) -> None:
    audio, noise = files
    assert_one_line_error(run(run_cli, tmp_path, "--audio-file", audio), "at least two conditions")
    assert_one_line_error(run(run_cli, tmp_path, "--noise-file", noise), "give --audio-file")


def test_one_file_under_two_conditions(run_cli, tmp_path, files) -> None:
    audio, _ = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", audio)
    assert_one_line_error(res, "name the same file")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--condition", "silence"], ["expected NAME=FILE"]),
        (["--condition", "sil ence=x.parquet"], ["condition name"]),
        (["--extractor", "magic"], ["--extractor 'magic'"]),
        (["--extractor", "llm"], ["needs --llm-model"]),
        (["--llm-model", "openai/x"], ["only with --extractor llm"]),
        (["--extractor", "llm", "--llm-model", "nope"], ["provider/model"]),
        (["--subset", "needs-audio"], ["expected LABEL=FILE"]),
        (["--subset", "deaf=ids.txt"], ["--subset deaf", "right-only-with-audio", "needs-audio"]),
        (["--subset", "needs-audio=ids.txt"], ["needs repeated runs", "--condition noise@1=FILE"]),
        (["--condition", "audio@1=x.parquet"], ["repeats of the reference"]),
        (["--condition", "silence@1=x.parquet"], ["repeats condition 'silence'", "--condition silence=FILE"]),
        (["--condition", "noise@0=x.parquet"], ["condition name", "NAME@k"]),
        (["--min-margin", "-0.1"], ["--min-margin"]),
        (["--min-similarity", "1.5"], ["--min-similarity"]),
    ],
)
def test_bad_flags(run_cli, tmp_path, files, args, fragments) -> None:
    audio, noise = files  # a later --extractor overrides run()'s "--extractor none"
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise, *args)
    assert_one_line_error(res, *fragments)


def test_items_needs_a_table_suffix(run_cli, tmp_path, files) -> None:
    audio, noise = files
    out = tmp_path / "out.json"
    res = run_cli("accuracy", "--audio-file", audio, "--noise-file", noise, "-o", out, "--items", tmp_path / "i.txt")
    assert_one_line_error(res, "--items", ".parquet or .csv")
    assert not out.exists()


def test_explicit_audio_column_must_exist(run_cli, tmp_path, files) -> None:
    audio, noise = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise, "--audio-column", "wav")
    assert_one_line_error(res, "missing column(s) wav")


def test_explicit_cluster_column_must_exist(run_cli, tmp_path, files) -> None:
    audio, noise = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise, "--cluster-column", "clip")
    assert_one_line_error(res, "missing column(s) clip")


def test_nothing_to_score(run_cli, tmp_path) -> None:
    rows = [row("a", "x", choices=["x"], answer="x"), row("b", "Horse", answer="Horse")]
    audio = write_preds(tmp_path / "a.parquet", rows)
    noise = write_preds(tmp_path / "n.parquet", rows)
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise)
    assert_one_line_error(res, "nothing to score", "1 fewer-than-two-choices", "1 answer-not-in-choices")


def test_no_ids_in_common(run_cli, tmp_path, files) -> None:
    audio, _ = files
    noise = write_preds(tmp_path / "n.parquet", [row("zz", "A")])
    assert_one_line_error(run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", noise), "no ids in common")


def test_existing_output_is_kept(run_cli, tmp_path, files) -> None:
    audio, noise = files
    out = tmp_path / "out.json"
    out.write_text("keep")
    res = run_cli("accuracy", "--audio-file", audio, "--noise-file", noise, "-o", out, "--extractor", "none")
    assert_one_line_error(res, "output exists", "--overwrite")
    assert out.read_text() == "keep"


def test_missing_file_and_not_a_table(run_cli, tmp_path, files) -> None:
    audio, _ = files
    res = run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", tmp_path / "nope.parquet")
    assert_one_line_error(res, "nope.parquet", "not found")
    bad = tmp_path / "bad.parquet"
    bad.write_text("id,model_output\n")
    assert_one_line_error(run(run_cli, tmp_path, "--audio-file", audio, "--noise-file", bad), "not a Parquet file")
