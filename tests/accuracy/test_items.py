"""Which items are scored, how list cells are read, and how files join."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from lalm_bench.accuracy.config import AccuracyConfig
from lalm_bench.accuracy.items import _cluster_keys, _NotAList, as_list, connected_clusters, load_items
from tests.accuracy.helpers import row, write_preds


def test_list_cells() -> None:
    assert as_list(np.array(["a", "b"], dtype=object)) == ["a", "b"]
    assert as_list(("a", 1)) == ["a", 1]
    assert as_list('["a", "b"]') == ["a", "b"]  # JSON text (CSV, or predict's encoded columns)
    assert as_list(None) is None and as_list(float("nan")) is None and as_list("  ") is None
    assert isinstance(as_list("a|b"), _NotAList) and isinstance(as_list('{"a": 1}'), _NotAList)
    assert isinstance(as_list("[not json"), _NotAList) and isinstance(as_list(3), _NotAList)


def test_cluster_keys_are_the_sorted_set_of_paths() -> None:
    assert _cluster_keys(np.array(["b.wav", "a.wav"])) == _cluster_keys(["a.wav", "b.wav"]) == ["a.wav", "b.wav"]
    assert _cluster_keys("a.wav") == ["a.wav"]
    assert _cluster_keys(None) == [] and _cluster_keys([]) == [] and _cluster_keys([None, ""]) == []


def test_clusters_are_connected_components_over_shared_files() -> None:
    # i1 [x, y] and i3 [z] are linked through i2 [y, z]; i4 [w] alone; i5 has no file
    keys = [["x", "y"], ["y", "z"], ["z"], ["w"], []]
    labels = connected_clusters(keys, ["i1", "i2", "i3", "i4", "i5"])
    assert labels[0] == labels[1] == labels[2] == '["x", "y", "z"]'
    assert labels[3] == '["w"]'
    assert labels[4] == "item:'i5'"
    # order of the items does not change the components
    assert connected_clusters(keys[::-1], ["i5", "i4", "i3", "i2", "i1"]) == labels[::-1]


def test_scoring_rules(tmp_path: Path) -> None:
    rows = [
        row("ok", "A", answer="  dog   BARKING "),  # whitespace and case do not matter
        row("open", "x", choices=["x"], answer="x"),
        {**row("none", "x", answer="x"), "choices": None},
        row("blank", "A", answer=" "),
        row("twice", "A", choices=["Yes", "yes", "No"], answer="YES"),
        row("other", "A", answer="Horse"),
    ]
    audio = write_preds(tmp_path / "a.parquet", rows)
    noise = write_preds(tmp_path / "n.parquet", rows)
    items = load_items(AccuracyConfig(audio_file=audio, noise_file=noise))
    assert items.ids == ["ok"] and items.gold == [0]
    assert items.not_scored == {
        "fewer-than-two-choices": 2,
        "no-answer": 1,
        "answer-matches-several-choices": 1,
        "answer-not-in-choices": 1,
    }
    assert items.questions == ["What is the sound?"]
    assert items.clusters == ['["clips/ok.wav"]']


def test_predict_failures_are_unparsed_answers(run_cli, tmp_path: Path) -> None:
    """``predict`` keeps a failed item with ``model_output`` null: read as unparsed (``empty``), counted."""
    audio = write_preds(tmp_path / "a.parquet", [row("a", "A"), row("b", "B", answer="Cat meowing")])
    rows = [{**row("a", None), "condition": "silence", "error": "HTTP 500"}, {**row("b", "B", answer="Cat meowing")}]
    silence = write_preds(tmp_path / "s.parquet", rows)
    out = tmp_path / "a.json"
    res = run_cli("accuracy", "--audio-file", audio, "--condition", f"silence={silence}", "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    import json

    doc = json.loads(out.read_text())
    s = doc["conditions"]["silence"]
    assert s["missing_answers"] == 1 and s["unparsed_reasons"] == {"empty": 1} and s["accuracy"] == 0.5
    assert doc["extraction"]["fallback"]["answers_sent"] == 0  # an empty answer is not sent to the fallback


def test_int_ids_and_help_is_light(tmp_path: Path) -> None:
    rows = [{**row("x", "A"), "id": 7}, {**row("y", "B", answer="Cat meowing"), "id": 8}]
    audio = write_preds(tmp_path / "a.parquet", rows)
    noise = write_preds(tmp_path / "n.parquet", rows)
    items = load_items(AccuracyConfig(audio_file=audio, noise_file=noise))
    assert items.ids == [7, 8] and all(isinstance(i, int) for i in items.ids)
    code = (
        "import sys\nfrom lalm_bench.cli import main\n"
        "try:\n    main(['accuracy', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'pandas', 'numpy', 'openai', 'scipy', 'sentence_transformers') "
        "if m in sys.modules]\nassert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
