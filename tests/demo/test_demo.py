"""`lalm-bench demo` end to end in a temporary folder: the listener comes out listening, the deaf model not,
with CIs that say so; the usual output rules hold."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    from lalm_bench.cli import main

    out = tmp_path_factory.mktemp("demo") / "demo"
    try:
        models = ("mock/listener", "mock/deaf", "mock/presence")
        main(["demo", "-o", str(out), "-q", *(a for m in models for a in ("--model", m))])
    except SystemExit as exc:  # pragma: no cover - only on failure
        pytest.fail(f"demo exited {exc.code}")
    return out


def test_the_verdicts_are_known_answers(demo_run):
    doc = json.loads((demo_run / "demo.json").read_text())
    assert doc["format"] == "lalm-bench/demo/1"
    listener = doc["models"]["mock/listener"]["verdict"]
    deaf = doc["models"]["mock/deaf"]["verdict"]
    assert listener["label"] == "listens" and deaf["label"] == "does not listen"
    # the listener: every control's accuracy drop has a paired CI that excludes 0 (below it)
    for name, drop in listener["accuracy_drop"].items():
        assert drop["ci95"][1] < 0, name
    assert listener["listening_gap"]["ci95"][0] > 0
    assert listener["accuracy_audio"] >= 0.95
    # the deaf model: no control moves it; every CI holds 0; its answers are the same bytes everywhere
    for name, drop in deaf["accuracy_drop"].items():
        lo, hi = drop["ci95"]
        assert lo <= 0 <= hi and drop["difference"] == 0, name
    assert set(deaf["identical_to_audio"].values()) == {1.0}
    assert deaf["kept_without_audio"]["raw"] == 1.0 and deaf["kept_without_audio"]["ci95"] == [1.0, 1.0]
    kept = listener["kept_without_audio"]
    assert kept["ci95"][0] <= kept["raw"] <= kept["ci95"][1] < 0.7
    # the presence model moves with sound against silence, not with what the sound is
    presence = doc["models"]["mock/presence"]["verdict"]
    assert presence["label"] == "notices sound only"
    assert presence["accuracy_drop"]["noise"]["ci95"][1] < 0 and presence["listening_gap"]["ci95"][0] > 0
    assert presence["content"]["difference"] == 0 and presence["content"]["excluded_silent"] > 0
    assert listener["content"]["ci95"][1] < 0


def test_every_file_it_names_exists_and_the_jobs_agree(demo_run):
    doc = json.loads((demo_run / "demo.json").read_text())
    for info in doc["models"].values():
        for path in info["files"].values():
            assert Path(path).exists(), path
    acc = json.loads((demo_run / "listener" / "accuracy.json").read_text())
    assert set(acc["conditions"]) == {"audio", "noise", "silence", "none", "mismatched", "noise@1"}
    assert acc["clusters"]["clusters"] < acc["scored"]  # shared clips are clustered
    sim = json.loads((demo_run / "listener" / "similarity.json").read_text())
    assert sim["listening"]["available"] and sim["clustering"]
    preds = pd.read_parquet(demo_run / "listener" / "preds-seed2_noise.parquet")
    assert set(preds["seed"]) == {43}
    assert "NaN" not in (demo_run / "demo.json").read_text()


def test_an_existing_demo_is_not_replaced_without_overwrite(demo_run, run_cli):
    before = (demo_run / "demo.json").read_bytes()
    res = run_cli("demo", "-o", demo_run)
    assert res.exit_code == 2
    assert res.stderr.startswith("error: output exists:") and len(res.stderr.strip().splitlines()) == 1
    assert "--overwrite" in res.stderr
    assert (demo_run / "demo.json").read_bytes() == before


def test_bad_arguments_are_one_line_errors(tmp_path, run_cli):
    file = tmp_path / "a_file"
    file.write_text("x")
    res = run_cli("demo", "-o", file)
    assert res.exit_code == 2 and res.stderr.strip() == f"error: --output {file} is a file; name a folder"
    res = run_cli("demo", "-o", tmp_path / "d", "--model", "mock/deaf", "--model", "mock/deaf")
    assert res.exit_code == 2 and "give each model once" in res.stderr
    for bad in ("nope", "mock/gpt"):
        res = run_cli("demo", "-o", tmp_path / "d", "--model", bad)
        assert res.exit_code == 2 and res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
