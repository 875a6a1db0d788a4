"""The similarity job end to end, checked against an independent numpy computation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE

ROOT = Path(__file__).resolve().parents[2]
SEED_SCRIPT = ROOT / "projects" / "audio_similarity" / "calculate_similarity.py"


def independent(noise: Path, audio: Path, model_path: str) -> pd.DataFrame:
    """What a careful user would compute by hand: join, encode, cosine (no lalm_bench code)."""
    from sentence_transformers import SentenceTransformer

    n = pd.read_parquet(noise)[["id", "category", "model_output"]]
    a = pd.read_parquet(audio)[["id", "model_output"]]
    m = n.merge(a, on="id", suffixes=("_n", "_a"))
    model = SentenceTransformer(model_path, device="cpu")
    en = model.encode(m["model_output_n"].tolist(), batch_size=32)
    ea = model.encode(m["model_output_a"].tolist(), batch_size=32)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    ea /= np.linalg.norm(ea, axis=1, keepdims=True)
    m["sim"] = (en * ea).sum(axis=1)
    m["tok_n"] = [len(x) for x in model.tokenizer(m["model_output_n"].tolist())["input_ids"]]
    m["tok_a"] = [len(x) for x in model.tokenizer(m["model_output_a"].tolist())["input_ids"]]
    m.attrs["max_seq_length"] = model.max_seq_length
    return m


def check_against(result: dict, ref: pd.DataFrame) -> None:
    got = pd.DataFrame(result["detailed"]).set_index("id")
    ref = ref.set_index("id")
    assert set(got.index) == set(ref.index)
    assert np.abs(got.loc[ref.index, "similarity"] - ref["sim"]).max() < 1e-5
    assert result["overall"]["count"] == len(ref)
    assert result["overall"]["mean"] == pytest.approx(ref["sim"].mean(), abs=1e-6)
    assert result["overall"]["std"] == pytest.approx(ref["sim"].std(ddof=1), abs=1e-6)
    for cat, grp in ref.groupby("category"):
        d = result["by_category"][cat]
        assert d["count"] == len(grp)
        assert d["mean"] == pytest.approx(grp["sim"].mean(), abs=1e-6)
        if len(grp) > 1:
            assert d["std"] == pytest.approx(grp["sim"].std(ddof=1), abs=1e-6)
        else:
            assert d["std"] is None
    limit = ref.attrs["max_seq_length"]
    trunc = result["manifest"]["truncation"]
    assert trunc["noise"] == int((ref["tok_n"] > limit).sum())
    assert trunc["audio"] == int((ref["tok_a"] > limit).sum())


def test_sample_data_end_to_end(run_cli, tmp_path: Path, minilm_path: str) -> None:
    out, plot = tmp_path / "res.json", tmp_path / "res.png"
    res = run_cli("similarity", "--model", minilm_path, "--output", out, "--plot", plot, "--bootstrap", "200")
    assert res.exit_code == 0, res.stderr
    assert "overall" in res.stdout  # the summary table
    text = out.read_text()
    assert "NaN" not in text
    result = json.loads(text)
    ref = independent(SAMPLE_NOISE, SAMPLE_AUDIO, minilm_path)
    check_against(result, ref)

    assert result["matching"]["only_in_noise"] == 1 and result["matching"]["only_in_audio"] == 1
    assert len(result["by_category"]) >= 4 and result["overall"]["count"] >= 60
    identical = ref[ref["model_output_n"] == ref["model_output_a"]]["id"]
    sims = {r["id"]: r["similarity"] for r in result["detailed"]}
    assert len(identical) >= 5 and all(sims[i] == pytest.approx(1.0, abs=1e-5) for i in identical)
    assert result["manifest"]["truncation"]["noise"] + result["manifest"]["truncation"]["audio"] > 0

    lo, hi = result["overall"]["ci95"]
    assert lo < result["overall"]["mean"] < hi
    assert result["chance"]["overall"]["mean"] < result["overall"]["mean"]
    assert result["comparison"]["overall"]["wilcoxon"]["p_value"] < 0.05

    manifest = result["manifest"]
    assert manifest["tool"] == "lalm-bench" and manifest["created_utc"].endswith("Z")
    assert [i["sha256"] for i in manifest["inputs"]] == [
        __import__("hashlib").sha256(p.read_bytes()).hexdigest() for p in (SAMPLE_NOISE, SAMPLE_AUDIO)
    ]
    assert manifest["model"]["path"] and manifest["model"]["max_seq_length"] == 256
    assert manifest["parameters"]["bootstrap"] == 200
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_is_reproducible(run_cli, tmp_path: Path, minilm_path: str) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert run_cli("similarity", "--model", minilm_path, "--output", out, "-q", "--seed", "3").exit_code == 0
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    for key in ("overall", "by_category", "chance", "comparison", "detailed"):
        assert ra[key] == rb[key]


def test_real_mmau_pro_subset(run_cli, tmp_path: Path, minilm_path: str, shared_data: Path) -> None:
    src = shared_data / "mmau_pro_predictions"
    noise_df = pd.read_parquet(src / "predictions_with_noise.parquet")
    audio_df = pd.read_parquet(src / "predictions_with_audio.parquet")
    # a stratified subset: a few items of every category, long answers included
    keep = noise_df.groupby("category", group_keys=False).head(10)["id"]
    noise, audio = tmp_path / "noise.parquet", tmp_path / "audio.parquet"
    noise_df[noise_df["id"].isin(keep)].to_parquet(noise)
    audio_df[audio_df["id"].isin(keep)].to_parquet(audio)
    out = tmp_path / "res.json"
    res = run_cli("similarity", "--noise-file", noise, "--audio-file", audio, "--model", minilm_path, "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    result = json.loads(out.read_text())
    assert len(result["by_category"]) == noise_df["category"].nunique()
    check_against(result, independent(noise, audio, minilm_path))


def test_seed_script_path(tmp_path: Path, minilm_path: str) -> None:
    out = tmp_path / "similarity_results.json"
    proc = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), "--model", minilm_path, "--batch-size", "64"]
        + ["--output", str(out), "--bootstrap", "0", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["overall"]["count"] == 64 and "ci95" not in result["overall"]
    # bad input through the seed path: one line, no traceback
    proc = subprocess.run(
        [sys.executable, str(SEED_SCRIPT), "--noise-file", str(tmp_path / "missing.parquet")]
        + ["--audio-file", str(tmp_path / "missing_too.parquet")]
        + ["--output", str(tmp_path / "other.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "missing.parquet" in proc.stderr


def test_help_is_light() -> None:
    code = (
        "import sys, lalm_bench.cli;"
        "heavy=[m for m in ('torch','pandas','sentence_transformers','openai','numpy','scipy') if m in sys.modules];"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
    proc = subprocess.run([sys.executable, "-m", "lalm_bench", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "similarity" in proc.stdout
