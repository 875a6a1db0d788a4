"""The baselines through the command: against an independent computation, small samples, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.similarity._data import write_preds
from tests.similarity.reference import per_item
from tests.similarity.standin import second_noise

from lalm_bench import stats
from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE


def _run(run_cli, out: Path, *args: object, model: str = "mock:hash") -> dict:
    res = run_cli("similarity", "--model", model, "-o", out, "-q", "--overwrite", *args)
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text)


def _one_line_error(res, *fragments: str) -> None:
    assert res.exit_code == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    for frag in fragments:
        assert frag in lines[0]


def check_family(fam: dict, a: pd.Series, b: pd.Series, cats: pd.Series, names: tuple[str, str]) -> None:
    """A comparison family against numpy: the items where both sides exist, means, difference, Holm."""
    ok = a.notna() & b.notna()
    o = fam["overall"]
    assert o["n"] == int(ok.sum())
    assert o[f"{names[0]}_mean"] == pytest.approx(a[ok].mean(), abs=1e-5)
    assert o[f"{names[1]}_mean"] == pytest.approx(b[ok].mean(), abs=1e-5)
    assert o["mean_difference"] == pytest.approx((a - b)[ok].mean(), abs=1e-5)
    ps = {}
    for cat, d in fam["by_category"].items():
        sel = ok & (cats == cat)
        assert d["n"] == int(sel.sum())
        if d["n"]:
            assert d["mean_difference"] == pytest.approx((a - b)[sel].mean(), abs=1e-5)
        if d["n"] >= 3:
            assert d["ci_method"] == ("t" if d["n"] < 30 else "bootstrap")
        else:
            assert d["ci95"] is None and d["ci_note"]
        ps[cat] = d["wilcoxon"]["p_value"]
    adjusted = stats.holm(ps)
    for cat, d in fam["by_category"].items():
        assert d["wilcoxon"]["p_holm"] == adjusted[cat]


def test_sample_with_second_noise_against_brute_force(run_cli, tmp_path: Path, minilm_path: str) -> None:
    noise2 = tmp_path / "noise2.parquet"
    second_noise(pd.read_parquet(SAMPLE_NOISE), pd.read_parquet(SAMPLE_AUDIO), seed=1).to_parquet(noise2)
    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    r = _run(run_cli, out, "--noise-file-2", noise2, "--plot", plot, "--bootstrap", "300", model=minilm_path)
    assert r["format"] == "lalm-bench/similarity/3"
    ref = per_item(SAMPLE_NOISE, SAMPLE_AUDIO, noise2, minilm_path)
    got = pd.DataFrame(r["detailed"]).set_index("id").loc[ref["id"]]
    for col, want in (
        ("similarity", "sim"),
        ("floor_similarity", "floor"),
        ("same_question_similarity", "same_q"),
        ("noise_vs_noise", "nn"),
        ("listening_gap", "gap"),
    ):
        g, w = got[col].astype(float).to_numpy(), ref[want].to_numpy()
        assert np.array_equal(np.isnan(g), np.isnan(w)), col
        np.testing.assert_allclose(g[~np.isnan(g)], w[~np.isnan(w)], atol=2e-5, err_msg=col)
    assert (got["chance_similarity"] == got["floor_similarity"]).all()  # the deprecated alias

    cats = ref["category"].reset_index(drop=True)
    sim, floor = ref["sim"].reset_index(drop=True), ref["floor"].reset_index(drop=True)
    check_family(r["comparison"], sim, floor, cats, ("matched", "floor"))
    sq = r["same_question"]
    assert sq["available"] and sq["column"] == "question"
    # the sample has two questions asked twice; one of the four items is only in the noise file
    assert sq["items"] == 2 and sq["groups"] == 1 and sq["largest_group"] == 2
    check_family(sq["comparison"], sim, ref["same_q"].reset_index(drop=True), cats, ("matched", "same_question"))
    lst = r["listening"]
    assert lst["available"] and lst["items"] == 64
    nn, gap = ref["nn"].reset_index(drop=True), ref["gap"].reset_index(drop=True)
    check_family(lst["listening_gap"], nn, nn - gap, cats, ("noise_vs_noise", "audio_vs_noise"))
    assert r["matching"]["noise_2"]["matched"] == 64 and r["matching"]["noise_2"]["missing"] == 0
    # the floor summary: every category has at least 10 items, so all items have a floor
    assert r["floor"]["items"] == 64 and r["floor"]["categories_without"] == []
    assert r["chance"]["overall"] == r["floor"]["overall"]
    assert r["floor"]["overall"]["mean"] == pytest.approx(floor.mean(), abs=1e-5)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert r["manifest"]["baselines"]["question_column"] == "question"
    assert [i["path"] for i in r["manifest"]["inputs"]][-1] == str(noise2)


def _rows(spec: dict[str, int], text: str = "answer {i} about {cat}") -> list[dict]:
    rows = []
    for cat, k in spec.items():
        rows += [
            {"id": f"{cat}{i}", "category": cat, "question": f"q{i % 2}", "model_output": text.format(i=i, cat=cat)}
            for i in range(k)
        ]
    return rows


def test_small_categories_get_t_intervals_or_nothing(run_cli, tmp_path: Path) -> None:
    rows = _rows({"big": 40, "seven": 7, "two": 2, "one": 1})
    noise = write_preds(tmp_path / "n.parquet", rows)
    audio = write_preds(tmp_path / "a.parquet", [{**r, "model_output": r["model_output"] + " loud"} for r in rows])
    r = _run(run_cli, tmp_path / "r.json", "--noise-file", noise, "--audio-file", audio)
    assert r["by_category"]["big"]["ci_method"] == "bootstrap"
    assert r["by_category"]["seven"]["ci_method"] == "t" and r["by_category"]["seven"]["count"] == 7
    two = r["by_category"]["two"]
    assert two["ci95"] is None and "2 values < 3" in two["ci_note"]
    one = r["floor"]["by_category"]["one"]
    assert one["count"] == 0 and one["mean"] is None and "one item" in one["note"]
    assert r["floor"]["categories_without"] == ["one"] and r["floor"]["items_without"] == 1
    cmp = r["comparison"]
    assert cmp["overall"]["n"] == 49  # the item of "one" has no floor and is left out of the comparison
    assert cmp["overall"]["matched_mean"] == pytest.approx(
        np.mean([d["similarity"] for d in r["detailed"] if d["category"] != "one"])
    )
    assert cmp["by_category"]["one"]["n"] == 0 and cmp["by_category"]["one"]["note"]
    assert cmp["by_category"]["one"]["wilcoxon"]["p_holm"] is None
    assert cmp["by_category"]["two"]["ci95"] is None
    # same question: q0 / q1 across categories; the item of "one" (q0) has partners in other categories
    sq = r["same_question"]
    assert sq["items"] == 50 and sq["groups"] == 2
    assert r["listening"] == {
        "available": False,
        "reason": "no second noise run (--noise-file-2): the ignores-audio reference needs one",
    }


def test_clustered_cis_report_the_clustering(run_cli, tmp_path: Path) -> None:
    r = _run(run_cli, tmp_path / "r.json", "--cluster-column", "question", "--bootstrap", "200")
    c = r["clustering"]
    assert c["column"] == "question" and c["n_clusters"] == 63 and c["items"] == 64
    assert c["items_without_label"] == 0 and c["largest_cluster"] == 2
    assert r["overall"]["n_clusters"] == 63 and r["overall"]["ci_method"] == "cluster-bootstrap"
    assert r["comparison"]["overall"]["n_clusters"] == 63
    assert r["by_category"]["music"]["ci_method"] == "cluster-t"
    labels = {d["cluster"] for d in r["detailed"]}
    assert len(labels) == 63


def test_question_column_absent_off_or_missing(run_cli, tmp_path: Path) -> None:
    rows = _rows({"a": 5})
    noise = write_preds(tmp_path / "n.parquet", [{k: v for k, v in r.items() if k != "question"} for r in rows])
    r = _run(run_cli, tmp_path / "r.json", "--noise-file", noise, "--audio-file", noise)
    assert r["same_question"]["available"] is False and "no question column" in r["same_question"]["reason"]
    assert "same_question_similarity" not in r["detailed"][0]
    r = _run(run_cli, tmp_path / "r.json", "--question-column", "")
    assert r["same_question"]["available"] is False and "turned off" in r["same_question"]["reason"]
    res = run_cli(
        "similarity",
        "--model",
        "mock:hash",
        "--noise-file",
        noise,
        "--audio-file",
        noise,
        "-o",
        tmp_path / "x.json",
        "--question-column",
        "question",
    )
    _one_line_error(res, "n.parquet", "missing column(s) question")
    res = run_cli("similarity", "--model", "mock:hash", "-o", tmp_path / "x.json", "--cluster-column", "clip")
    _one_line_error(res, "missing column(s) clip")
    assert not (tmp_path / "x.json").exists()


def test_second_noise_file_problems(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    base = ["similarity", "--model", "mock:hash", "-o", out]
    _one_line_error(run_cli(*base, "--noise-file-2", SAMPLE_NOISE), "is the --noise-file itself")
    other = write_preds(tmp_path / "other.parquet", [{"id": "zz", "model_output": "x"}])
    _one_line_error(run_cli(*base, "--noise-file-2", other), "other.parquet", "no IDs in common")
    n = pd.read_parquet(SAMPLE_NOISE)
    blank = n.copy()
    blank.loc[:2, "model_output"] = ["", None, "  "]
    bpath = tmp_path / "blank.parquet"
    blank.to_parquet(bpath)
    _one_line_error(run_cli(*base, "--noise-file-2", bpath), "blank.parquet", "3 matched row(s)", "--allow-empty")
    _one_line_error(run_cli(*base, "--noise-file-2", tmp_path / "none.parquet"), "none.parquet", "not found")
    assert not out.exists()
    # a partial second run: the listening numbers cover the items it has, and say so
    part = tmp_path / "part.parquet"
    n.iloc[10:].to_parquet(part)
    r = _run(run_cli, out, "--noise-file-2", part)
    assert r["matching"]["noise_2"] == {
        "rows": len(n) - 10,
        "matched": 54,
        "missing": 10,
        "only_in_noise_2": len(n) - 10 - 54,
        "empty_texts": 0,
        "identical_to_noise": 54,
    }
    assert r["listening"]["items"] == 54 and r["listening"]["listening_gap"]["overall"]["n"] == 54
    missing = [d for d in r["detailed"] if d["listening_gap"] is None]
    assert len(missing) == 10 and all(d["noise_2_tokens"] is None for d in missing)
    # identical second run (the stable stand-in): gap = 1 - matched similarity per item
    for d in r["detailed"]:
        if d["listening_gap"] is not None:
            assert d["noise_vs_noise"] == pytest.approx(1.0, abs=1e-6)
            assert d["listening_gap"] == pytest.approx(1.0 - d["similarity"], abs=1e-6)


def test_bootstrap_zero_gives_no_intervals_but_all_means(run_cli, tmp_path: Path) -> None:
    r = _run(run_cli, tmp_path / "r.json", "--bootstrap", "0")
    assert "ci95" not in r["overall"]
    assert r["comparison"]["overall"]["ci95"] is None and r["comparison"]["overall"]["ci_note"] == "disabled"
    assert r["comparison"]["overall"]["mean_difference"] is not None


def test_real_mmau_pro_subset_with_a_stand_in_second_run(
    run_cli, tmp_path: Path, minilm_path: str, shared_data: Path
) -> None:
    """Real answers: a few items of every category plus three whole shared-question groups, the documented
    null stand-in as the second noise run (tests/similarity/standin.py), clustered by question."""
    src = shared_data / "mmau_pro_predictions"
    noise_df = pd.read_parquet(src / "predictions_with_noise.parquet")
    audio_df = pd.read_parquet(src / "predictions_with_audio.parquet")
    q = noise_df["question"].map(lambda s: " ".join(str(s).split()))
    sizes = q.map(q.value_counts())
    groups = q[(sizes >= 5) & (sizes <= 12)].drop_duplicates().head(3)
    keep = set(noise_df.groupby("category").head(4)["id"]) | set(noise_df.loc[q.isin(groups), "id"])
    noise, audio, noise2 = tmp_path / "n.parquet", tmp_path / "a.parquet", tmp_path / "n2.parquet"
    noise_df[noise_df["id"].isin(keep)].to_parquet(noise)
    audio_df[audio_df["id"].isin(keep)].to_parquet(audio)
    second_noise(pd.read_parquet(noise), pd.read_parquet(audio), seed=0).to_parquet(noise2)
    r = _run(
        run_cli,
        tmp_path / "r.json",
        "--noise-file", noise, "--audio-file", audio, "--noise-file-2", noise2, "--cluster-column", "question",
        model=minilm_path,
    )  # fmt: skip
    ref = per_item(noise, audio, noise2, minilm_path)
    got = pd.DataFrame(r["detailed"]).set_index("id").loc[ref["id"]]
    for col, want in (("floor_similarity", "floor"), ("same_question_similarity", "same_q"), ("listening_gap", "gap")):
        g, w = got[col].astype(float).to_numpy(), ref[want].to_numpy()
        assert np.array_equal(np.isnan(g), np.isnan(w)), col
        np.testing.assert_allclose(g[~np.isnan(g)], w[~np.isnan(w)], atol=2e-5, err_msg=col)
    sq = r["same_question"]
    # groups hold one question and one choice set: fewer items share both than share the question
    assert sq["groups"] >= 3 and sq["items"] == int(ref["same_q"].notna().sum()) >= 6
    assert r["clustering"]["n_clusters"] == ref["question"].map(lambda s: " ".join(str(s).split())).nunique()
    assert r["comparison"]["overall"]["ci_method"] == "cluster-bootstrap"
    # the single small category (sound_music_speech has 7 items; 4 kept) gets a t-interval over its 4 clusters
    assert r["by_category"]["sound_music_speech"]["ci_method"] == "cluster-t"
