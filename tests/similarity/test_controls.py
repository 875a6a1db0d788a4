"""``similarity --condition C=FILE`` for predict's controls (silence, none, head:S, reversed …): audio-vs-C and
(audio-vs-C) − (audio-vs-noise), on the demo benchmark answered by ``mock/listener`` and on a hand table."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lalm_bench.datasets.demo import write_demo_benchmark
from lalm_bench.similarity.controls import control_files, controls_doc
from lalm_bench.similarity.probe import Grouping

CONTROLS = ("head:0.25", "head:2", "reversed")


@pytest.fixture(scope="module")
def demo_preds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """predict on the demo benchmark with mock/listener under audio, noise and three partial controls."""
    from lalm_bench.cli import main

    folder = tmp_path_factory.mktemp("demo")
    bench = write_demo_benchmark(folder / "bench")
    args = ["predict", "--benchmark", bench.path, "--model", "mock/listener", "-q"]
    args += ["--condition", "audio,noise,head:0.25,head:2,reversed", "-o", folder / "preds.parquet"]
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert (folder / "preds_head-0p25.parquet").exists()
    return folder


def _files(d: Path) -> list[str]:
    return ["--audio-file", str(d / "preds_audio.parquet"), "--noise-file", str(d / "preds_noise.parquet")]


def _controls(d: Path) -> list[str]:
    # both spellings: head:0.25 (as predict is asked) and head-2 (as predict names the file)
    return [
        *("--condition", f"head:0.25={d / 'preds_head-0p25.parquet'}"),
        *("--condition", f"head-2={d / 'preds_head-2.parquet'}"),
        *("--condition", f"reversed={d / 'preds_reversed.parquet'}"),
    ]


def _similarity(run_cli, out: Path, *args: object, quiet: bool = True):
    res = run_cli("similarity", "--model", "mock:hash", "--bootstrap", 200, "-o", out, "--overwrite", *args)
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text), res


def _finite(doc: dict) -> None:
    for key in ("mean", "mean_difference", "audio_vs_control_mean", "audio_vs_noise_mean"):
        if key in doc and doc[key] is not None:
            assert math.isfinite(doc[key])
    for lo_hi in [doc.get("ci95")] if doc.get("ci95") else []:
        assert all(math.isfinite(v) for v in lo_hi)


def test_demo_partial_controls(run_cli, demo_preds: Path, tmp_path: Path) -> None:
    d = demo_preds
    doc, res = _similarity(run_cli, tmp_path / "sim.json", *_files(d), *_controls(d))
    controls = doc["controls"]
    assert controls["names"] == list(CONTROLS)
    by = controls["by_control"]
    cats = set(doc["by_category"])
    for name in CONTROLS:
        c = by[name]
        assert c["items"] == doc["overall"]["count"] == 66
        assert c["matching"]["matched"] == 66 and c["matching"]["only_in_control"] == 0
        assert set(c["audio_vs_control"]["by_category"]) == cats
        assert set(c["minus_noise"]["by_category"]) == cats
        for part in (c["audio_vs_control"], c["minus_noise"]):
            _finite(part["overall"])
            for v in part["by_category"].values():
                _finite(v)
        assert c["audio_vs_control"]["overall"]["ci_method"] == doc["overall"]["ci_method"]
        # the paired difference is the per-item difference of the rows the JSON lists
        rows = pd.DataFrame(doc["detailed"])
        diff = rows[f"audio_vs_{name}"] - rows["similarity"]
        assert c["minus_noise"]["overall"]["mean_difference"] == pytest.approx(diff.mean(), abs=1e-9)
        assert c["minus_noise"]["overall"]["audio_vs_noise_mean"] == pytest.approx(doc["overall"]["mean"], abs=1e-9)
        line = [ln for ln in res.stdout.splitlines() if ln.startswith(f"control {name} (")]
        assert len(line) == 1, res.stdout
    # the listener answers closer to its full-audio answer with more of the clip
    head = {s: by[s]["audio_vs_control"]["overall"]["mean"] for s in ("head:0.25", "head:2")}
    assert head["head:2"] > head["head:0.25"]
    assert by["head:2"]["minus_noise"]["overall"]["mean_difference"] > 0
    assert doc["manifest"]["baselines"]["controls"]
    assert {Path(x["path"]).name for x in doc["manifest"]["inputs"]} >= {
        "preds_head-2.parquet",
        "preds_reversed.parquet",
    }

    # without the controls, every existing field is the same (controls is new and optional)
    plain, _ = _similarity(run_cli, tmp_path / "plain.json", *_files(d))
    assert plain["controls"] is None
    for key in ("overall", "by_category", "floor", "comparison", "same_question", "identical", "matching"):
        assert plain[key] == doc[key] or key == "matching"
    assert {k: v for k, v in plain["matching"].items() if k != "audio_arrival"} == {
        k: v for k, v in doc["matching"].items() if k != "audio_arrival"
    }


def test_demo_controls_clustered_by_clip(run_cli, demo_preds: Path, tmp_path: Path) -> None:
    """Items that share a clip: the controls' CIs resample the same clusters as audio-vs-noise."""
    d = demo_preds
    doc, _ = _similarity(run_cli, tmp_path / "sim.json", *_files(d), *_controls(d), "--cluster-column", "audio_path")
    n_clusters = doc["clustering"]["n_clusters"]
    assert n_clusters < 66
    for name in CONTROLS:
        c = doc["controls"]["by_control"][name]
        assert c["audio_vs_control"]["overall"]["n_clusters"] == n_clusters
        assert c["minus_noise"]["overall"]["n_clusters"] == n_clusters
        assert c["audio_vs_control"]["overall"]["ci_method"] == doc["overall"]["ci_method"]


def test_unarrived_items_leave_the_controls_too(run_cli, demo_preds: Path, tmp_path: Path) -> None:
    """An item predict flagged dropped under a control leaves every comparison, unless --keep-unarrived."""
    head2 = tmp_path / "head2.parquet"
    frame = pd.read_parquet(demo_preds / "preds_head-2.parquet")
    frame["audio_arrival"] = frame["audio_arrival"].astype(object)
    frame.loc[0, "audio_arrival"] = "dropped"
    gone = frame.loc[0, "id"]
    frame.to_parquet(head2, index=False)
    args = [*_files(demo_preds), "--condition", f"head:2={head2}"]
    doc, _ = _similarity(run_cli, tmp_path / "sim.json", *args)
    assert gone not in {r["id"] for r in doc["detailed"]}
    assert doc["controls"]["by_control"]["head:2"]["items"] == 65
    assert doc["matching"]["audio_arrival"]["by_condition"]["head:2"]["dropped"] == 1
    kept, _ = _similarity(run_cli, tmp_path / "kept.json", *args, "--keep-unarrived")
    assert gone in {r["id"] for r in kept["detailed"]}
    assert kept["controls"]["by_control"]["head:2"]["items"] == 66


def _one_line_error(res, fragment: str) -> None:
    assert res.exit_code == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("head:abc=x.parquet", "give the seconds"),
        ("loud=x.parquet", "expected one of"),
        ("reversed:2=x.parquet", "reversed takes no seconds"),
        ("noise=x.parquet", "--noise-file"),
        ("head:2={missing}", "missing.parquet"),
        ("silence={audio}", "is the --noise-file or --audio-file itself"),
    ],
)
def test_bad_controls(run_cli, demo_preds: Path, tmp_path: Path, spec: str, fragment: str) -> None:
    spec = spec.format(missing=tmp_path / "missing.parquet", audio=demo_preds / "preds_audio.parquet")
    res = run_cli(
        "similarity", "--model", "mock:hash", "-o", tmp_path / "s.json", *_files(demo_preds), "--condition", spec
    )
    _one_line_error(res, fragment)
    assert not (tmp_path / "s.json").exists()


def test_same_control_twice_in_two_spellings(run_cli, demo_preds: Path, tmp_path: Path) -> None:
    shutil.copy(demo_preds / "preds_head-2.parquet", tmp_path / "b.parquet")
    specs = [
        "--condition",
        f"head:2={demo_preds / 'preds_head-2.parquet'}",
        "--condition",
        f"head-2={tmp_path / 'b.parquet'}",
    ]
    res = run_cli("similarity", "--model", "mock:hash", "-o", tmp_path / "s.json", *_files(demo_preds), *specs)
    _one_line_error(res, "given twice")


def test_names_parse_like_predict() -> None:
    specs = ["head-0p5=a", "tail:1.5:cut=b", "SHUFFLED-1=c", "silence=d", "none=e", "noise@1=f", "mismatched=g"]
    assert control_files(specs) == (
        ("head:0.5", Path("a")),
        ("tail:1.5:cut", Path("b")),
        ("shuffled:1", Path("c")),
        ("silence", Path("d")),
        ("none", Path("e")),
    )


def test_paired_difference_hand_table() -> None:
    """Four items in two categories; the control did not answer item 4.

    item  cat  audio-vs-C  audio-vs-noise  difference
    1     a    1.0         0.5             +0.5
    2     a    0.8         0.8              0.0
    3     b    0.6         0.9             -0.3
    4     b    –           0.7              –
    overall: n = 3, audio-vs-C 0.8, audio-vs-noise 0.7333, difference 0.0667, t CI (2 df):
    sd = 0.40415, se = 0.23333, t = 4.30265 -> [-0.93727, 1.07061]
    """
    cats = np.array(["a", "a", "b", "b"], dtype=object)
    avc = np.array([1.0, 0.8, 0.6, np.nan])
    avn = np.array([0.5, 0.8, 0.9, 0.7])
    per_item: dict[str, np.ndarray] = {}
    doc = controls_doc(Grouping(cats, None, 200, 0), avn, {"head:1": (Path("h.parquet"), avc, {})}, per_item)
    assert doc is not None
    c = doc["by_control"]["head:1"]
    assert c["items"] == 3 and c["slug"] == "head-1"
    assert c["audio_vs_control"]["overall"]["mean"] == pytest.approx(0.8)
    assert c["audio_vs_control"]["by_category"]["b"]["count"] == 1
    o = c["minus_noise"]["overall"]
    assert o["n"] == 3
    assert o["audio_vs_control_mean"] == pytest.approx(0.8)
    assert o["audio_vs_noise_mean"] == pytest.approx(2.2 / 3)
    assert o["mean_difference"] == pytest.approx(0.2 / 3)
    assert o["ci_method"] == "t"
    assert o["ci95"] == pytest.approx([-0.93727, 1.07061], abs=1e-4)
    a, b = c["minus_noise"]["by_category"]["a"], c["minus_noise"]["by_category"]["b"]
    assert (a["n"], a["mean_difference"], a["ci95"]) == (2, pytest.approx(0.25), None)
    assert (b["n"], b["mean_difference"]) == (1, pytest.approx(-0.3))
    assert np.array_equal(per_item["audio_vs_head:1"], avc, equal_nan=True)
    assert controls_doc(Grouping(cats, None, 200, 0), avn, {}, {}) is None
