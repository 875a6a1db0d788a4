"""Items 6 and 7, and outputs at a file or a folder: every output is checked before any work (same file
twice, an output that is an input, a folder, a folder nobody may write) and a job's outputs are written
all or nothing."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE
from tests.hardening.helpers import CLIPS, run_cli_subprocess, unwritable_folder, write_baselines, write_clotho_csv

SIM = ["similarity", "--model", "mock:hash", "--bootstrap", "0", "--quiet"]
# A hub model that is not cached: loading it would fail, so an output error proves it came first.
NOT_CACHED = ["similarity", "--model", "nobody/not-cached-model", "--quiet"]


@pytest.fixture
def locked(tmp_path):
    folder = unwritable_folder(tmp_path)
    yield folder
    if folder.is_relative_to(tmp_path):
        folder.chmod(0o755)


def _one_error(code, err, *words):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "unexpected" not in err, err
    for w in words:
        assert w in err, err


def test_plot_equal_to_output_is_refused_before_work(tmp_path, run_cli):
    out = tmp_path / "r.json"
    code, _, err = run_cli(*NOT_CACHED, "--output", out, "--plot", out)
    _one_error(code, err, "--output and --plot name the same file")
    out.write_text("earlier result\n")
    code, _, err = run_cli(*NOT_CACHED, "--output", out, "--plot", tmp_path / "." / "r.json", "--overwrite")
    _one_error(code, err, "name the same file")
    assert out.read_text() == "earlier result\n"


def test_an_output_that_is_an_input_is_refused(tmp_path, run_cli):
    noise = tmp_path / "noise.parquet"
    noise.write_bytes(SAMPLE_NOISE.read_bytes())
    before = noise.read_bytes()
    for flag in ("--output", "--plot"):
        extra = ["--output", tmp_path / "r.json"] if flag == "--plot" else []
        files = ["--noise-file", noise, "--audio-file", SAMPLE_AUDIO]
        code, _, err = run_cli(*NOT_CACHED, *files, *extra, flag, noise, "--overwrite")
        _one_error(code, err, "is one of the inputs")
    assert noise.read_bytes() == before


def test_outputs_at_a_folder_or_inside_a_file_are_refused(tmp_path, run_cli):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    a_folder = tmp_path / "a_folder"
    a_folder.mkdir()
    code, _, err = run_cli(*NOT_CACHED, "--output", a_folder)
    _one_error(code, err, "is a folder; name a file")
    code, _, err = run_cli(*NOT_CACHED, "--output", a_file / "r.json")
    _one_error(code, err, "is a file, not a folder")
    code, _, err = run_cli(*NOT_CACHED, "--output", tmp_path / "r.json", "--plot", a_folder)
    _one_error(code, err, "--plot", "is a folder")
    # the commands writing into a folder
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--model", "mock:hash", "--output-dir", a_file, "--quiet")
    _one_error(code, err, "is a file, not a folder")
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "mock/echo",
        "--output-dir", a_file, "--quiet",
    )  # fmt: skip
    _one_error(code, err, "-o/--output", "is a file, not a folder")
    src = tmp_path / "runs"
    src.mkdir()
    code, _, err = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", a_file)
    _one_error(code, err, "-o/--output", "is a file, not a folder")
    assert a_file.read_text() == "x"


def test_a_folder_nobody_may_write_is_refused_before_any_model_is_loaded(tmp_path, locked, run_cli):
    code, _, err = run_cli(*NOT_CACHED, "--output", locked / "r.json")
    _one_error(code, err, "cannot write to", "permission denied")
    code, _, err = run_cli(*NOT_CACHED, "--output", tmp_path / "r.json", "--plot", locked / "sub" / "p.png")
    _one_error(code, err, "cannot write to", "permission denied")
    assert not (tmp_path / "r.json").exists()
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--model", "nobody/not-cached-model", "--output-dir", locked)
    _one_error(code, err, "permission denied")
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
        "--base-url", "http://127.0.0.1:9/v1", "--output-dir", locked / "rubrics", "--quiet",
    )  # fmt: skip
    _one_error(code, err, "permission denied")


def _limit_file_size(limit: int):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_plot_that_fails_to_write_leaves_no_json_either(tmp_path, run_cli):
    import pandas as pd

    rows = {"id": ["a", "b", "c", "d"], "category": ["sound"] * 4}
    inputs = tmp_path / "in"
    inputs.mkdir()
    pd.DataFrame({**rows, "model_output": ["dog", "rain", "car", "bird"]}).to_parquet(inputs / "n.parquet")
    pd.DataFrame({**rows, "model_output": ["a dog", "rain", "a car", "birds"]}).to_parquet(inputs / "a.parquet")
    sim = [*SIM, "--noise-file", inputs / "n.parquet", "--audio-file", inputs / "a.parquet"]
    ref_json, ref_png = tmp_path / "ref.json", tmp_path / "ref.png"
    code, _, err = run_cli(*sim, "--no-embedding-cache", "--output", ref_json, "--plot", ref_png)
    assert code == 0, err
    json_size, png_size = ref_json.stat().st_size, ref_png.stat().st_size
    assert json_size < png_size  # the JSON fits under the limit below, the PNG does not
    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    proc = run_cli_subprocess(
        *sim, "--no-embedding-cache", "--output", out, "--plot", plot,
        cwd=tmp_path, preexec=_limit_file_size((json_size + png_size) // 2),
    )  # fmt: skip
    _one_error(proc.returncode, proc.stderr, f"cannot write {plot}", "File too large", "no output was written")
    assert not out.exists() and not plot.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staged leftovers
    # and the rerun is not refused: nothing exists
    code, _, err = run_cli(*sim, "--no-embedding-cache", "--output", out, "--plot", plot)
    assert code == 0, err
    assert out.exists() and plot.exists()


def test_the_samples_are_never_an_output(run_cli):
    # the defaults are the bundled samples: naming one of them as output is caught like any input
    for sample in (SAMPLE_NOISE, SAMPLE_AUDIO):
        code, _, err = run_cli(*NOT_CACHED, "--output", Path(sample), "--overwrite")
        _one_error(code, err, "is one of the inputs")
