"""`lalm-bench report` without a browser: recognition of each job's outputs, grouping and the mixed-input
errors, the verified audio (a tampered seed is caught), the verdicts, and the md/tex/csv tables."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from lalm_bench.report.config import ReportConfig
from lalm_bench.report.inputs import collect_inputs
from lalm_bench.report.render import json_for_script
from lalm_bench.report.run import run_report


def one_error(res) -> str:
    assert res.exit_code == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_recognises_predict_accuracy_and_similarity_outputs(runs):
    inputs = collect_inputs([runs["listener"]])
    assert list(inputs.models) == ["openai/listener"]
    m = inputs.models["openai/listener"]
    assert set(m.predict) == {"audio", "noise", "silence", "none", "noise-2"}  # the second seed is noise-2
    assert m.predict["noise-2"].parquet == runs["listener"] / "second" / "preds_noise.parquet"
    assert m.accuracy is not None and m.accuracy.path.name == "accuracy.json"
    assert m.similarity is not None and m.similarity.path.name == "similarity.json"
    # the same outputs named file by file, accuracy and similarity alone
    files = collect_inputs([runs["listener"] / "accuracy.json", runs["listener"] / "similarity.json"])
    assert list(files.models) == ["openai/listener"] or len(files.models) == 1
    only = next(iter(files.models.values()))
    assert only.accuracy and only.similarity and not only.predict
    assert set(only.prediction_files()) == {"audio", "noise", "silence", "none", "noise-2"}


def test_recognises_rubrics_and_clotho_refs_outputs(tmp_path, run_cli):
    from lalm_bench.llm.testserver import ScriptedOpenAIServer
    from lalm_bench.rubrics.common.fakes import JudgeLLM
    from tests.rubrics.compare.test_compare_cli import write_run
    from tests.rubrics.helpers import MADE_UP, write_clotho_csv

    clotho = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps([{"criterion": "The caption mentions that a dog barks.", "weight": 3}]))
    captions = tmp_path / "baseline.csv"
    names = list(MADE_UP)
    pd.DataFrame({"file_name": names[:2], "model_output": ["A dog barks.", "<b>x</b>"]}).to_csv(captions, index=False)
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        res = run_cli(
            "rubrics", "judge", "--rubric", rubric, "--captions", captions, "--name", "baseline", "--csv", clotho,
            "--judge-model", "openai/judge", "--base-url", server.base_url, "--output-dir", tmp_path / "judge",
            "--quiet",
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    a = write_run(tmp_path / "deter" / "run_0", [[("mentions rain", 3)], [("mentions rain", 3), ("a car", 2)]])
    b = write_run(tmp_path / "stoch" / "run_0", [[("mentions a car", 2)], [("mentions a car", 2)]])
    res = run_cli("rubrics", "compare", a, b, "--model", "mock:hash", "-o", tmp_path / "compare.json", "--quiet")
    assert res.exit_code == 0, res.stderr
    res = run_cli("clotho-refs", "--csv", clotho, "--model", "mock:hash", "--output-dir", tmp_path / "refs", "-q")
    assert res.exit_code == 0, res.stderr

    inputs = collect_inputs([tmp_path / "judge", tmp_path / "compare.json", tmp_path / "refs"])
    assert not inputs.models
    assert [j.path.name for j in inputs.judge] == ["summary.json"]
    assert [c.path.name for c in inputs.compare] == ["compare.json"]
    assert len(inputs.clotho_refs) == 1 and "summary" in inputs.clotho_refs[0].path.name
    out = tmp_path / "rubrics.html"
    res = run_cli("report", tmp_path / "judge", tmp_path / "compare.json", tmp_path / "refs", "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    page = out.read_text()
    assert "rubrics judge:" in page and "rubrics compare:" in page and "clotho-refs:" in page
    assert "<b>x</b>" not in page  # a caption is text


def test_mixed_inputs_are_one_error_naming_both_files(runs, run_cli, tmp_path):
    # two runs of different benchmarks under one label
    other = tmp_path / "other"
    shutil.copytree(runs["deaf"], other)
    manifest = other / "preds_noise.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["settings"]["benchmark_sha256"] = "0" * 64
    manifest.write_text(json.dumps(doc))
    res = run_cli("report", other / "preds_audio.parquet", manifest, "-o", tmp_path / "r.html")
    err = one_error(res)
    assert "different benchmarks" in err and str(other / "preds_audio.manifest.json") in err and str(manifest) in err
    # accuracy of one model and similarity of another under one label
    res = run_cli(
        "report", runs["listener"] / "accuracy.json", runs["deaf"] / "similarity.json",
        "--label", f"x={runs['listener'] / 'accuracy.json'}", "--label", f"x={runs['deaf'] / 'similarity.json'}",
        "-o", tmp_path / "r.html",
    )  # fmt: skip
    assert "given twice" in one_error(res)
    acc = tmp_path / "acc"
    acc.mkdir()
    shutil.copy(runs["listener"] / "accuracy.json", acc / "accuracy.json")
    shutil.copy(runs["deaf"] / "similarity.json", acc / "similarity.json")
    res = run_cli("report", acc, "--label", f"x={acc}", "-o", tmp_path / "r.html")
    err = one_error(res)
    assert "do not belong together" in err and str(acc / "accuracy.json") in err and str(acc / "similarity.json") in err
    assert not (tmp_path / "r.html").exists()
    # not an output at all
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    assert "not an output of a lalm-bench job" in one_error(run_cli("report", junk, "-o", tmp_path / "r.html"))
    assert "--audio 'loud'" in one_error(
        run_cli("report", runs["listener"], "--audio", "loud", "-o", tmp_path / "r.html")
    )


def _decode(src: str) -> tuple[np.ndarray, int]:
    data = base64.b64decode(src.split(",", 1)[1])
    samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    return samples, rate


def test_players_carry_exactly_the_audio_sent_and_a_tampered_seed_is_caught(runs, tmp_path):
    from lalm_bench.audio.conditions import build_condition_audio

    result = run_report(ReportConfig(paths=(runs["listener"],), audio_items=4))
    players = result.data["audio"]
    assert players and all(
        p["status"] == "verified" and p["src"].startswith("data:audio/flac;base64,") for p in players.values()
    )
    preds = pd.read_parquet(runs["listener"] / "preds_noise.parquet").set_index("id")
    rows = result.data["items"]["openai/listener"]["rows"]
    first = rows[0] if rows[0]["flip"] else next(r for r in rows if r["flip"])
    key = first["c"]["noise"]["au"][0]
    got, rate = _decode(players[key]["src"])
    parts, records = build_condition_audio(
        "noise", [json.loads(preds.loc[first["id"], "audio_sent"])[0]["source"]],
        root=runs["bench"].parent / "audio", seed=42, item_id=first["id"],
    )  # fmt: skip
    sent, sent_rate = sf.read(io.BytesIO(parts[0].data), dtype="int16", always_2d=True)
    assert rate == sent_rate and np.array_equal(got, sent)  # the samples the model got, bit for bit
    assert records[0].sha256 == preds.loc[first["id"], "audio_sha256"]

    # a tampered seed: the rebuilt noise differs from what was sent, so nothing is offered
    tampered = tmp_path / "tampered"
    shutil.copytree(runs["listener"], tampered)
    df = pd.read_parquet(tampered / "preds_noise.parquet")
    df["seed"] = 43
    df.to_parquet(tampered / "preds_noise.parquet", index=False)
    result = run_report(ReportConfig(paths=(tampered,), audio_items=4))
    noise = [p for k, p in result.data["audio"].items() if k.split("|")[2] == "noise"]
    assert noise and all(p["status"] == "mismatch" and "src" not in p for p in noise)
    assert all("not offered" in p["note"] for p in noise)
    others = [p for k, p in result.data["audio"].items() if k.split("|")[2] != "noise"]
    assert others and all(p["status"] == "verified" for p in others)


def test_link_mode_writes_verified_controls_beside_the_page(runs, run_cli, tmp_path):
    out = tmp_path / "page" / "r.html"
    res = run_cli("report", runs["listener"], "--audio", "link", "--audio-items", "2", "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    files = sorted((tmp_path / "page" / "r_audio").rglob("*.flac"))
    assert files  # noise and silence of two items
    page = out.read_text()
    assert "r_audio/" in page and "data:audio/flac" not in page


def test_verdicts_tell_the_listener_from_the_deaf_model(runs):
    result = run_report(ReportConfig(paths=(runs["listener"], runs["deaf"]), audio="none"))
    models = result.data["models"]
    listener, deaf = models["openai/listener"]["verdict"], models["openai/deaf"]["verdict"]
    assert listener["conclusion"] == "listens" and listener["line"].startswith("uses the audio")
    assert deaf["conclusion"] == "not-listening" and "not using the audio" in deaf["line"]
    assert listener["numbers"]["none"]["ci95"][1] < 0
    assert listener["numbers"]["listening_gap"]["ci95"][0] > 0
    kept = deaf["numbers"]["noise"]["kept"]
    assert kept["raw"] == 1.0  # the deaf model keeps its whole score without the audio
    assert list(result.data["items"]) == ["openai/listener", "openai/deaf"]


@pytest.mark.parametrize("fmt", ["md", "tex", "csv"])
def test_tables_against_the_json(runs, run_cli, tmp_path, fmt):
    out = tmp_path / f"tables.{fmt}"
    res = run_cli("report", runs["listener"], runs["deaf"], "--format", fmt, "-o", out, "-q")
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    acc = json.loads((runs["listener"] / "accuracy.json").read_text())
    noise = acc["conditions"]["noise"]
    diff = acc["comparisons"]["noise"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        row = next(r for r in rows if r["table"] == "conditions" and r["model"] == "openai/listener"
                   and r["condition"] == "noise")  # fmt: skip
        assert float(row["accuracy"]) == noise["accuracy"]
        assert [float(row["ci_low"]), float(row["ci_high"])] == noise["ci95"]
        assert float(row["change"]) == diff["difference"]
        assert [float(row["change_ci_low"]), float(row["change_ci_high"])] == diff["ci95"]
        cats = [r for r in rows if r["table"] == "categories" and r["model"] == "openai/listener"]
        assert {r["category"] for r in cats} == set(acc["by_category"])
        sim = json.loads((runs["listener"] / "similarity.json").read_text())
        srow = next(r for r in rows if r["table"] == "similarity" and r["model"] == "openai/listener"
                    and r["category"] == "(all)")  # fmt: skip
        assert float(srow["matched"]) == sim["overall"]["mean"]
        assert float(srow["listening_gap"]) == sim["listening"]["listening_gap"]["overall"]["mean_difference"]
    else:
        cell = f"{100 * noise['accuracy']:.1f} [{100 * noise['ci95'][0]:.1f}, {100 * noise['ci95'][1]:.1f}]"
        change = f"{100 * diff['difference']:+.1f} [{100 * diff['ci95'][0]:+.1f}, {100 * diff['ci95'][1]:+.1f}]"
        line = next(x for x in text.splitlines() if "openai/listener" in x and " noise " in x.replace("&", " ")
                    and "pitch" not in x)  # fmt: skip
        assert cell in line and change in line
        if fmt == "tex":
            assert "\\begin{tabular}" in text and "openai/listener" in text


def test_page_json_cannot_end_its_script(runs):
    text = json_for_script({"a": "</script><!-- \u2028 & >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- \u2028 & >"}
