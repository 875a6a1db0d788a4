"""The report shows the probes where accuracy has them: the accuracy curve against the seconds kept and the
option-order table, on the demo benchmark with ``mock/listener`` and ``mock/first-option``."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CONDITIONS = ("audio", "none", "head-0p25", "head-1")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from lalm_bench.cli import main
    from lalm_bench.datasets.demo import write_demo_benchmark

    base = tmp_path_factory.mktemp("report-probes")
    demo = write_demo_benchmark(base / "bench")
    out = {}
    for model in ("mock/listener", "mock/first-option"):
        folder = base / model.split("/")[1]
        folder.mkdir()
        calls = [
            ["predict", "--benchmark", str(demo.path), "--model", model, "--condition", "audio,none,head:0.25,head:1",
             "--permute-choices", "2", "--output", str(folder / "preds.parquet"), "--quiet"],
            ["accuracy", "--audio-file", str(folder / "preds_audio.parquet"),
             *(x for c in CONDITIONS[1:] for x in ("--condition", f"{c}={folder / f'preds_{c}.parquet'}")),
             "--extractor", "none", "--output", str(folder / "accuracy.json"), "--quiet"],
        ]  # fmt: skip
        for args in calls:
            try:
                main(args)
            except SystemExit as exc:
                assert exc.code in (0, None), (args[0], exc.code)
        out[model] = folder
    return out


def test_the_page_draws_the_head_curve_and_the_option_order_tables(folders, tmp_path):
    from lalm_bench.io import OutputOptions
    from lalm_bench.report.command import report_command
    from lalm_bench.report.config import ReportConfig

    page = tmp_path / "report.html"
    result = report_command(
        ReportConfig(paths=(folders["mock/listener"], folders["mock/first-option"]), audio="none"),
        OutputOptions(page, quiet=True),
    )
    curves = [f for f in result.figures if f["kind"] == "partial_audio"]
    assert len(curves) == 2  # one per model (pad only)
    for f in curves:
        svg = ET.fromstring(f["svg"])  # well-formed
        ticks = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "tick"]
        assert ticks == ["0.25 s", "1 s", "whole clip"]
    rows = {r["model"]: r for r in result.tables["option_order"] if r["condition"] == "audio"}
    first = next(r for label, r in rows.items() if "first" in label)
    listener = next(r for label, r in rows.items() if "listener" in label)
    assert first["first_position"] == 1.0 and first["consistency"] == 0.0
    assert first["first_ci_low"] > 1 / int(first["first_position_n_choices"])
    assert listener["consistency"] >= 0.95 and listener["first_position"] < 0.6
    heads = [r for r in result.tables["partial_audio"] if "listener" in r["model"]]
    assert [r["seconds"] for r in heads] == [0.25, 1.0, None]
    assert heads[0]["accuracy"] < heads[1]["accuracy"] < heads[2]["accuracy"]
    assert {r["category"] for r in result.tables["option_order_categories"]} >= {"pitch", "count"}
    html = page.read_text(encoding="utf-8")
    assert "Option order: the same choice under every order, and position bias" in html
    assert "How much of the clip: accuracy against the seconds kept" in html
    assert "accuracy against the seconds kept (rest silenced; 95% CI)" in html
    assert not re.search(r"\bNaN\b", json.dumps(result.data))


def test_the_markdown_tables_hold_the_probes(folders, tmp_path):
    from lalm_bench.io import OutputOptions
    from lalm_bench.report.command import report_command
    from lalm_bench.report.config import ReportConfig

    out = tmp_path / "tables.md"
    report_command(ReportConfig(paths=(folders["mock/first-option"],), format="md"), OutputOptions(out, quiet=True))
    text = out.read_text(encoding="utf-8")
    assert "### Option order: the same choice under every order, and position bias" in text
    assert "### Option order per category" in text and re.search(r"n=\d: 100\.0 \[[\d.]+, 100\.0\] \(base \d+\)", text)
