"""Model against model (``accuracy --run``): hand values of the difference-in-differences, the sign-flip test,
Holm and Cohen's kappa; ``mock/listener`` against ``mock/deaf`` on the demo benchmark through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lalm_bench import stats
from lalm_bench.accuracy import model_stats

# a tiny table: 4 items, two models, audio and noise (1 = right)
A_AUDIO = np.array([1, 1, 1, 0], dtype=bool)
A_NOISE = np.array([0, 1, 0, 0], dtype=bool)
B_AUDIO = np.array([1, 0, 1, 0], dtype=bool)
B_NOISE = np.array([1, 0, 1, 1], dtype=bool)


def test_difference_in_differences_on_a_tiny_table() -> None:
    # losses: A [1, 0, 1, 0] (mean 0.5), B [0, 0, 0, -1] (mean -0.25); per item DiD [1, 0, 1, 1], mean 0.75
    singles = np.array(["a", "b", "c", "d"], dtype=object)
    d = model_stats.did(A_AUDIO, A_NOISE, B_AUDIO, B_NOISE, singles, 1000, 0)
    assert d["loss_a"] == 0.5 and d["loss_b"] == -0.25 and d["did"] == 0.75
    assert (d["items_a_loses_more"], d["items_b_loses_more"]) == (3, 0)
    # t interval of [1, 0, 1, 1]: sd 0.5, se 0.25, t(3) = 3.18245
    assert d["ci_method"] == "t"
    assert d["ci95"] == pytest.approx([0.75 - 3.182446305 * 0.25, 0.75 + 3.182446305 * 0.25], abs=1e-6)
    # exact sign flip: three values of 1, |sum| >= 3 only for all + or all -: 2 / 8
    assert d["p"] == pytest.approx(0.25) and d["test"].startswith("sign-flip (exact")


def test_difference_in_differences_clustered() -> None:
    # clusters {0, 1} and {2, 3}: cluster totals 1 and 2; flips give |±1 ± 2| in {3, 1, 1, 3}: p = 2 / 4
    d = model_stats.did(A_AUDIO, A_NOISE, B_AUDIO, B_NOISE, np.array(["x", "x", "y", "y"], dtype=object), 1000, 0)
    assert d["did"] == 0.75 and d["p"] == pytest.approx(0.5)
    assert d["ci_method"] is None and "too few" in d["ci_note"]  # two clusters: no interval


def test_sign_flip_test_exact_and_monte_carlo() -> None:
    assert stats.sign_flip_test([0, 0, 0])["p_value"] == 1.0
    assert stats.sign_flip_test([1, -1])["p_value"] == 1.0
    assert stats.sign_flip_test([1] * 5)["p_value"] == pytest.approx(2 / 32)
    mc = stats.sign_flip_test([1] * 40, n_resamples=2000, seed=1)
    assert mc["method"].startswith("monte-carlo") and mc["p_value"] == pytest.approx(1 / 2001)


def test_holm_on_known_p_values() -> None:
    # textbook: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> monotone 0.06
    adj = stats.holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert adj == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06, "d": 0.02})


def test_holm_families_of_the_pairs() -> None:
    def stat(p: float, differs: int = 1) -> dict:
        return {"p": p, "count": 10, "a_only_right": differs, "b_only_right": 0,
                "items_a_loses_more": differs, "items_b_loses_more": 0}  # fmt: skip

    def group(p_audio: float, p_did: float, differs: int = 1) -> dict:
        return {"audio": stat(p_audio, differs), "controls": {"noise": {"did": stat(p_did, differs)}}}

    pairs = {
        "x vs y": {"overall": group(0.01, 0.02), "by_category": {"c1": group(0.01, 0.5), "c2": group(1.0, 1.0, 0)}},
        "x vs z": {"overall": group(0.04, 0.03), "by_category": {"c1": group(0.03, 0.5), "c2": group(0.005, 0.5)}},
    }
    model_stats.add_holm(pairs, ["noise"])
    assert pairs["x vs y"]["overall"]["audio"]["p_holm"] == pytest.approx(0.02)
    assert pairs["x vs z"]["overall"]["audio"]["p_holm"] == pytest.approx(0.04)
    assert pairs["x vs y"]["overall"]["controls"]["noise"]["did"]["p_holm"] == pytest.approx(0.04)
    # per category: pairs x categories, the untestable one (no item differs) left out: m = 3
    assert pairs["x vs z"]["by_category"]["c2"]["audio"]["p_holm"] == pytest.approx(0.015)
    assert pairs["x vs y"]["by_category"]["c1"]["audio"]["p_holm"] == pytest.approx(0.02)
    assert pairs["x vs z"]["by_category"]["c1"]["audio"]["p_holm"] == pytest.approx(0.03)
    untestable = pairs["x vs y"]["by_category"]["c2"]["audio"]
    assert untestable["p_holm"] is None and untestable["holm_note"] == "no item differs: no test"


def test_cohen_kappa_hand_value() -> None:
    k = stats.cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0])
    assert k["observed"] == 0.75 and k["expected"] == 0.5 and k["value"] == pytest.approx(0.5)
    assert stats.cohen_kappa([1, 1], [1, 1])["value"] is None


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo benchmark asked by mock/listener and mock/deaf under audio and noise, plus a second noise seed,
    in the layout ``lalm-bench demo`` writes (one folder per model)."""
    from lalm_bench.datasets.demo import write_demo_benchmark
    from lalm_bench.io import OutputOptions
    from lalm_bench.llm.options import LLMOptions
    from lalm_bench.predict.command import predict_command
    from lalm_bench.predict.config import PredictConfig

    root = tmp_path_factory.mktemp("models")
    bench = write_demo_benchmark(root / "benchmark").path
    llm = LLMOptions(use_cache=False)
    for model in ("listener", "deaf"):
        out = root / model
        runs = [("preds", ("audio", "noise", "silence"), 42), ("preds-seed2", ("noise",), 43)]
        if model == "listener":
            runs.append(("preds-seed3", ("noise",), 44))
        for stem, conditions, seed in runs:
            config = PredictConfig(benchmark=bench, model=f"mock/{model}", conditions=conditions, seed=seed, llm=llm)
            predict_command(config, OutputOptions(out / f"{stem}.parquet", quiet=True))
    return root


def test_listener_loses_far_more_than_deaf(demo_runs: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "models.json"
    items = tmp_path / "items.parquet"
    r = run_cli(
        "accuracy", "--run", f"listener={demo_runs / 'listener'}",
        "--run", f"deaf={demo_runs / 'deaf' / 'preds.parquet'}", "--extractor", "none", "-o", out, "--items", items,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "listening leaderboard" in r.stdout
    doc = json.loads(out.read_text())
    assert doc["format"] == "lalm-bench/accuracy-models/1"
    assert set(doc["models"]) == {"listener", "deaf"}
    listener = doc["models"]["listener"]
    assert {"noise@1", "noise@2"} <= set(listener["conditions"])  # the other seeds' outputs: repeats
    spread = listener["run_to_run"]["noise"]
    assert spread["repeats"] == ["noise", "noise@1", "noise@2"] and spread["difference_spread"]["min"] < -0.3
    assert listener["comparisons"]["noise"]["run_to_run_range"][1] < 0
    assert "noise@1" not in doc["models"]["deaf"]["conditions"]  # deaf given as preds.parquet: that output only
    assert doc["controls"] == ["noise", "silence"]
    pair = doc["pairs"]["listener vs deaf"]
    assert pair["items_compared"] == doc["models"]["deaf"]["scored"]
    did = pair["overall"]["controls"]["noise"]["did"]
    assert did["did"] > 0.4 and did["ci95"][0] > 0.25  # the listener loses far more than deaf
    assert did["loss_b"] == 0.0  # deaf loses nothing
    assert did["p_holm"] < 0.01 and did["ci_method"].startswith("cluster")
    assert pair["overall"]["audio_parsed"]["count"] <= pair["items_compared"]
    audio = pair["overall"]["audio"]
    assert audio["difference"] > 0.4 and audio["ci_method"] == "cluster-tango" and audio["p_holm"] < 0.01
    board = doc["leaderboard"]
    assert board["best"] == "listener" and [row["model"] for row in board["rows"]] == ["listener", "deaf"]
    assert board["rows"][1]["did_vs_best"] == pytest.approx(-did["did"])
    assert set(pair["by_category"]) == {r["category"] for r in doc["models"]["listener"]["items"]}
    import pandas as pd

    table = pd.read_parquet(items)
    assert table.columns[0] == "model" and set(table["model"]) == {"listener", "deaf"}


def test_runs_manifest_and_bad_input(demo_runs: Path, run_cli, tmp_path: Path) -> None:
    manifest = tmp_path / "runs.toml"
    manifest.write_text(
        "[runs]\n"
        f'listener = "{demo_runs / "listener"}"\n'
        "[runs.deaf]\n"
        f'audio = "{demo_runs / "deaf" / "preds_audio.parquet"}"\n'
        f'noise = "{demo_runs / "deaf" / "preds_noise.parquet"}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "m.json"
    r = run_cli("accuracy", "--runs", manifest, "--extractor", "none", "-o", out, "-q")
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["controls"] == ["noise"]
    for args, message in (
        (("--run", f"a={demo_runs / 'listener'}"), "at least two runs"),
        (("--run", f"a={demo_runs / 'listener'}", "--run", f"a={demo_runs / 'deaf'}"), "given twice"),
        (("--run", f"a={demo_runs / 'listener'}", "--run", f"b={tmp_path}"), "no predict output"),
        (("--run", f"a={demo_runs}", "--run", f"b={demo_runs / 'deaf'}"), "no predict output"),
        (("--run", "a", "--run", "b=x"), "expected NAME="),
        (("--run", f"a={demo_runs / 'listener'}", "--run", f"b={demo_runs / 'deaf'}", "--noise-file", out), "not with"),
    ):
        r = run_cli("accuracy", *args, "--extractor", "none", "-o", tmp_path / "x.json")
        assert r.exit_code == 2, (args, r.stdout)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (tmp_path / "x.json").exists()


def test_run_to_run_on_a_tiny_table() -> None:
    from lalm_bench.accuracy import repeats

    correct = {
        "audio": np.array([1, 1, 1, 1, 0, 0], dtype=bool),
        "noise": np.array([1, 0, 0, 1, 0, 0], dtype=bool),  # accuracy 2/6
        "noise@1": np.array([1, 1, 0, 0, 0, 0], dtype=bool),  # accuracy 2/6
        "noise@2": np.array([1, 0, 0, 0, 0, 1], dtype=bool),  # accuracy 2/6
    }
    choice = {k: np.where(v, 0, 1) for k, v in correct.items()}
    choice["noise@2"][1] = -1  # unparsed: left out of same_choice
    clusters = np.array(list("abcdef"), dtype=object)
    out = repeats.run_to_run({"noise": ["noise", "noise@1", "noise@2"]}, correct, choice, clusters)["noise"]
    assert out["accuracy_spread"] == {"min": 2 / 6, "max": 2 / 6, "range": 0.0, "sd": 0.0}
    pair = out["pairs"]["noise@1 - noise"]
    # same correctness on items 0, 2, 4, 5 of 6; kappa: po 4/6, pe (2/6·2/6 + 4/6·4/6) = 5/9 -> (2/3 - 5/9)/(4/9) = 1/4
    assert pair["same_correctness"] == pytest.approx(4 / 6) and pair["cohen_kappa"] == pytest.approx(0.25)
    assert pair["difference"] == 0.0 and pair["ci_method"] == "tango"
    assert out["pairs"]["noise@2 - noise"]["both_parsed"] == 5
    # items with the same correctness in all three runs: 0 (right), 2 and 4 (wrong)
    assert out["same_correctness_all"] == pytest.approx(3 / 6)
    groups = [
        {
            "comparisons": {
                "noise": {"difference": -0.3},
                "noise@1": {"difference": -0.1},
                "noise@2": {"difference": None},
            }
        }
    ]
    repeats.add_spread(groups, {"noise": ["noise", "noise@1", "noise@2"]})
    assert groups[0]["comparisons"]["noise"]["run_to_run_range"] == [-0.3, -0.1]


def test_the_report_reads_the_model_comparison(demo_runs: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "models.json"
    r = run_cli(
        "accuracy", "--run", f"listener={demo_runs / 'listener'}", "--run", f"deaf={demo_runs / 'deaf'}",
        "--extractor", "none", "-o", out, "-q",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    md = tmp_path / "tables.md"
    r = run_cli("report", demo_runs / "listener", out, "--format", "md", "-o", md, "-q")
    assert r.exit_code == 0, r.stderr
    text = md.read_text()
    assert "Model against model: listening leaderboard" in text
    rows = [line for line in text.splitlines() if line.startswith(("| listener | noise", "| deaf | noise"))]
    assert len(rows) == 2 and "(best)" in rows[0] and rows[1].split("|")[7].strip().startswith("-")


def test_similarity_takes_noise_repeats(demo_runs: Path, run_cli, tmp_path: Path) -> None:
    d = demo_runs / "listener"
    out = tmp_path / "sim.json"
    r = run_cli(
        "similarity", "--noise-file", d / "preds_noise.parquet", "--audio-file", d / "preds_audio.parquet",
        "--condition", f"noise@1={d / 'preds-seed2_noise.parquet'}", "--condition",
        f"noise@2={d / 'preds-seed3_noise.parquet'}", "--model", "mock:hash", "-o", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "run-to-run (3 noise runs" in r.stdout
    doc = json.loads(out.read_text())
    rr = doc["run_to_run"]
    assert rr["runs"] == ["noise", "noise@1", "noise@2"] and len(rr["noise_vs_noise"]) == 3
    assert doc["listening"]["available"]
    # every pair's listening gap is positive for a model that listens
    assert min(rr["listening_gap"].values()) > 0.05
