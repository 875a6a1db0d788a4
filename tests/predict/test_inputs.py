"""Benchmark files and flags: formats, column names, bad inputs (one line or a per-item failure), outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.predict.helpers import synthetic_benchmark, write_jsonl, write_wav


def _predict(run_cli, bench: Path, out: Path, *extra: object, model: str = "mock/echo"):
    return run_cli("predict", "--benchmark", bench, "--model", model, "--output", out, "--quiet", *extra)


def _one_line_error(res, code: int = 2) -> str:
    assert res.exit_code == code, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [line for line in res.stderr.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, res.stderr
    return lines[0]


def _rows(n: int = 3) -> list[dict]:
    return [
        {"id": f"i{k}", "audio_path": f"clip{k:03d}.wav", "question": f"Question {k}?", "choices": ["x", "y"]}
        for k in range(n)
    ]


def test_parquet_json_and_jsonl_give_the_same_rows(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 4)
    rows = [json.loads(x) for x in (tmp_path / "bench.jsonl").read_text().splitlines()]
    pd.DataFrame(rows).to_parquet(tmp_path / "bench.parquet")
    (tmp_path / "bench.json").write_text(json.dumps(rows))
    (tmp_path / "cols.json").write_text(json.dumps({k: [r[k] for r in rows] for k in rows[0]}))
    outputs = {}
    for k, name in enumerate(("bench.jsonl", "bench.parquet", "bench.json", "cols.json")):
        res = _predict(run_cli, tmp_path / name, tmp_path / f"out{k}.parquet", "--audio-root", tmp_path / "audio")
        assert res.exit_code == 0, res.stderr
        outputs[name] = pd.read_parquet(tmp_path / f"out{k}_audio.parquet")
    first = outputs["bench.jsonl"].drop(columns=["latency_s", "cached"])
    for df in outputs.values():
        pd.testing.assert_frame_equal(df.drop(columns=["latency_s", "cached"]), first)
    assert list(first.columns[:6]) == ["id", "audio_path", "question", "choices", "category", "answer"]


def test_renamed_columns_and_the_real_mmau_pro_shape(run_cli, tmp_path, shared_data):
    real = pd.read_parquet(shared_data / "mmau_pro_predictions" / "predictions_with_noise.parquet").head(12)
    real = real.rename(columns={"id": "uid", "question": "q"})
    real.to_parquet(tmp_path / "mmau.parquet")
    res = _predict(
        run_cli, tmp_path / "mmau.parquet", tmp_path / "m.parquet", "--condition", "none",
        "--id-column", "uid", "--question-column", "q",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "model_output -> benchmark_model_output" in res.stderr  # the file already had answers
    df = pd.read_parquet(tmp_path / "m_none.parquet")
    assert list(df["uid"]) == list(real["uid"]) and list(df["benchmark_model_output"]) == list(real["model_output"])
    assert df["model_output"].notna().all() and (df["audio_parts"] == 0).all()
    assert [list(c) if c is not None else None for c in df["choices"]] == [
        list(c) if c is not None else None for c in real["choices"]
    ]
    by_id = dict(zip(df["uid"], df["model_output"], strict=True))
    for row in real.itertuples():  # items with fewer than two choices are asked as open questions
        if row.choices is None or len(row.choices) < 2:
            assert by_id[row.uid] == row.q.strip()
        else:
            assert "(A) " in by_id[row.uid] and "(B) " in by_id[row.uid]
    # the real file's audio is not here: every selected item lacks it, so nothing runs
    err = _one_line_error(_predict(run_cli, tmp_path / "mmau.parquet", tmp_path / "m2.parquet",
                                   "--id-column", "uid", "--question-column", "q"))  # fmt: skip
    assert "none of the 12 items to ask has its audio under --audio-root" in err


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ([{"id": "a", "audio_path": "x.wav"}], (), "missing column(s) question"),
        (_rows() + [{**_rows()[0]}], (), "1 duplicate 'id' value(s) (e.g. 'i0')"),
        ([{**r, "id": None} for r in _rows()], (), "3 row(s) have no 'id'"),
        ([{**_rows()[0], "question": ""}], (), "item 'i0' has no 'question'"),
        (_rows(), ("--choices-column", "opts"), "missing column(s) opts"),
        ([{**_rows()[0], "choices": "not a list"}], (), "'choices' must be a list"),
        ([{**_rows()[0], "audio_path": 3}], (), "'audio_path' must be a path or a list of paths"),
        (_rows(1), ("--condition", "mismatched"), "needs at least two items"),
        (_rows(), ("--condition", "audio,loud"), "--condition 'loud': unknown"),
        (_rows(), ("--condition", "audio,audio"), "a condition is given twice"),
        (_rows(), ("--noise-dbfs", "3"), "--noise-dbfs must be a finite level <= 0"),
        (_rows(), ("--max-audio-seconds", "0"), "--max-audio-seconds must be positive"),
        (_rows(), ("--start", "5"), "no items selected"),
    ],
)
def test_bad_inputs_are_one_line_errors_before_any_request(run_cli, tmp_path, rows, extra, message):
    synthetic_benchmark(tmp_path, 3)
    bench = write_jsonl(tmp_path / "bad.jsonl", rows)
    err = _one_line_error(_predict(run_cli, bench, tmp_path / "p.parquet", "--audio-root", tmp_path / "audio", *extra))
    assert message in err
    assert not list(tmp_path.glob("p_*")) and not (tmp_path / "p.runs").exists()


def test_files_that_are_not_benchmarks(run_cli, tmp_path):
    (tmp_path / "b.csv").write_text("id,question\n")
    assert "unsupported benchmark format '.csv'" in _one_line_error(
        _predict(run_cli, tmp_path / "b.csv", tmp_path / "p.parquet")
    )
    (tmp_path / "b.jsonl").write_text('{"id": 1}\nnot json\n')
    assert "line 2 is not valid JSON" in _one_line_error(
        _predict(run_cli, tmp_path / "b.jsonl", tmp_path / "p.parquet")
    )
    (tmp_path / "b.parquet").write_text("not parquet")
    assert "not a Parquet file" in _one_line_error(_predict(run_cli, tmp_path / "b.parquet", tmp_path / "p.parquet"))
    assert "not found" in _one_line_error(_predict(run_cli, tmp_path / "missing.json", tmp_path / "p.parquet"))
    synthetic_benchmark(tmp_path, 2)
    err = _one_line_error(_predict(run_cli, tmp_path / "bench.jsonl", tmp_path / "p.csv"))
    assert "--output" in err and ".parquet" in err


def test_missing_unreadable_and_outside_audio_fail_only_their_items(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 3)
    root = tmp_path / "audio"
    (root / "broken.wav").write_text("this is not audio")
    write_wav(tmp_path / "outside.wav", 0.5)
    rows = _rows(3) + [
        {"id": "missing", "audio_path": "nope.wav", "question": "Q?", "choices": ["a", "b"]},
        {"id": "broken", "audio_path": "broken.wav", "question": "Q?", "choices": ["a", "b"]},
        {"id": "escape", "audio_path": "../outside.wav", "question": "Q?", "choices": ["a", "b"]},
        {"id": "absolute_out", "audio_path": str(tmp_path / "outside.wav"), "question": "Q?", "choices": ["a", "b"]},
        {"id": "absolute_in", "audio_path": str(root / "clip001.wav"), "question": "Q?", "choices": ["a", "b"]},
        {"id": "no_audio", "audio_path": [], "question": "Q?", "choices": ["a", "b"]},
    ]
    bench = write_jsonl(tmp_path / "b.jsonl", rows)
    res = _predict(run_cli, bench, tmp_path / "p.parquet", "--audio-root", root, "--condition", "noise,none")
    assert res.exit_code == 0, res.stderr
    assert "warning: 4 of 9 items to ask lack audio" in res.stderr  # found before any request
    df = pd.read_parquet(tmp_path / "p_noise.parquet").set_index("id")
    failed = df[df["error"].notna()]
    assert sorted(failed.index) == ["absolute_out", "broken", "escape", "missing", "no_audio"]
    assert failed["model_output"].isna().all() and failed["audio_seconds"].isna().all()
    assert "unreadable audio file" in failed.loc["broken", "error"]
    assert "not under the audio root" in failed.loc["escape", "error"]
    assert "not under the audio root" in failed.loc["absolute_out", "error"]
    assert "(not found)" in failed.loc["missing", "error"] and "no audio file" in failed.loc["no_audio", "error"]
    assert pd.isna(df.loc["absolute_in", "error"]) and df.loc["absolute_in", "audio_parts"] == 1
    sent = json.loads(df.loc["absolute_in", "audio_sent"])
    assert sent[0]["source"] == "clip001.wav"
    none = pd.read_parquet(tmp_path / "p_none.parquet")
    assert none["error"].isna().all()  # without audio, every item runs


def test_prompt_templates(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 2)
    bench, root = tmp_path / "bench.jsonl", ("--audio-root", tmp_path / "audio")
    tpl = tmp_path / "t.txt"
    tpl.write_text('Category {category}. {question}\nOptions:\n{choices}\nReply in JSON like {"answer": "A"}.')
    res = _predict(
        run_cli, bench, tmp_path / "p.parquet", "--prompt-template", tpl, "--system-prompt", "Be brief.", *root
    )
    assert res.exit_code == 0, res.stderr
    df = pd.read_parquet(tmp_path / "p_audio.parquet")
    assert df["model_output"][0] == (
        "Category cat0. Question number 0: what is heard?\nOptions:\n(A) a tone\n(B) a voice\n(C) silence\n"
        'Reply in JSON like {"answer": "A"}.'
    )
    manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
    assert manifest["prompt"]["text"] == tpl.read_text() and manifest["prompt"]["version"].startswith("sha256:")
    assert [i["path"] for i in manifest["inputs"]] == [str(bench), str(tpl)]
    assert manifest["system_prompt"] == "Be brief."
    # a changed template is another run
    tpl.write_text("{question}\n{choices}\n=== without choices ===\n{question}")
    err = _one_line_error(_predict(run_cli, bench, tmp_path / "p.parquet", "--prompt-template", tpl,
                                   "--system-prompt", "Be brief.", *root))  # fmt: skip
    assert "other settings (prompt_sha256" in err and "--overwrite" in err
    tpl.write_text("{question} {choise}")
    err = _one_line_error(_predict(run_cli, bench, tmp_path / "q.parquet", "--prompt-template", tpl, *root))
    assert "unknown placeholder(s) {choise}" in err
    write_jsonl(tmp_path / "open.jsonl", [{"id": "o", "audio_path": "clip000.wav", "question": "What?"}])
    tpl.write_text("{question}\n{choices}")
    err = _one_line_error(_predict(run_cli, tmp_path / "open.jsonl", tmp_path / "q.parquet", "--prompt-template",
                                   tpl, *root))  # fmt: skip
    assert "fewer than 2 choices" in err and "=== without choices ===" in err


def test_outputs_are_checked_before_any_request_and_resumes_need_no_overwrite(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 3)
    bench, root = tmp_path / "bench.jsonl", ("--audio-root", tmp_path / "audio")
    (tmp_path / "p_noise.parquet").write_text("someone else's file")
    err = _one_line_error(_predict(run_cli, bench, tmp_path / "p.parquet", "--condition", "audio,noise", *root))
    assert "output exists" in err and "p_noise.parquet" in err
    assert not (tmp_path / "p_audio.parquet").exists()
    res = _predict(run_cli, bench, tmp_path / "p.parquet", "--condition", "audio,noise", "--overwrite", *root)
    assert res.exit_code == 0, res.stderr
    before = pd.read_parquet(tmp_path / "p_noise.parquet")
    res = _predict(run_cli, bench, tmp_path / "p.parquet", "--condition", "audio,noise", *root)  # resume: rewrite
    assert res.exit_code == 0, res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p_noise.parquet"), before)
    err = _one_line_error(_predict(run_cli, bench, tmp_path / "p.parquet", "--condition", "noise",
                                   "--noise-dbfs", "-40", *root))  # fmt: skip
    assert "other settings (noise_dbfs: None -> -40.0)" in err
    # other conditions are unaffected by a noise setting; --start/--limit choose items of the same run
    res = _predict(run_cli, bench, tmp_path / "p.parquet", "--condition", "audio", "--noise-dbfs", "-40",
                   "--limit", "2", *root)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert len(pd.read_parquet(tmp_path / "p_audio.parquet")) == 3  # windows merge: the 3 logged items stay
    assert "holds 3 items: the 2 of this call's window and 1 logged by earlier calls" in res.stderr
    err = _one_line_error(_predict(run_cli, bench, bench, *root))
    assert "--output" in err
