"""Each command reads, by default, what the command before it wrote: ``rubrics generate`` -> ``rubrics
collect`` (no arguments) -> ``rubrics judge`` of ``predict``'s prediction files; and a generate run that
yields no criteria says why."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer, completion
from lalm_bench.rubrics.common.fakes import JudgeLLM
from tests.rubrics.helpers import FAST_OPTIONS, MADE_UP, make_wav, write_baselines

NAMES = list(MADE_UP)


@pytest.fixture
def clips_with_audio(tmp_path, small_clotho):
    """The made-up clips with a WAV each, where ``--audio-dir`` looks by default (``<csv folder>/<split>``)."""
    audio_dir = small_clotho.parent / "evaluation"
    audio_dir.mkdir()
    for i, name in enumerate(NAMES):
        (audio_dir / name).write_bytes(make_wav(0.2, freq=300.0 + 100 * i))
    return small_clotho


def test_generate_collect_and_judge_of_predict_files_chain_by_default(
    tmp_path, monkeypatch, run_cli, clips_with_audio, rubric_server
):
    csv = clips_with_audio
    monkeypatch.chdir(tmp_path)
    llm = ["--base-url", rubric_server.base_url, "--max-retries", "1", *FAST_OPTIONS]
    res = run_cli("rubrics", "generate", "--audio-model", "openai/omni", "--csv", csv, "--limit", "3", "-q", *llm)
    assert res.exit_code == 0, res.stderr
    assert (tmp_path / "rubrics" / "deter" / "run_0" / "log.jsonl").is_file()

    res = run_cli("rubrics", "collect")  # reads ./rubrics, where generate wrote
    assert res.exit_code == 0, res.stderr
    collected = tmp_path / "rubrics" / "collected" / "deter_run_0.json"
    assert json.loads(collected.read_text())["final_criteria"]

    bench = tmp_path / "bench.parquet"
    pd.DataFrame(
        {"id": NAMES[:3], "audio_path": [f"evaluation/{n}" for n in NAMES[:3]], "question": ["What barks?"] * 3}
    ).to_parquet(bench)
    res = run_cli("predict", "--benchmark", bench, "--model", "mock/echo", "-o", "preds.parquet", "-q")
    assert res.exit_code == 0, res.stderr
    preds = tmp_path / "preds_audio.parquet"
    assert {"id", "audio_path", "model_output"} <= set(pd.read_parquet(preds).columns)

    with ScriptedOpenAIServer(JudgeLLM()) as judge:
        for column, out in (("id", "judged_by_id"), ("audio_path", "judged_by_path")):
            res = run_cli(
                "rubrics", "judge", "--rubric", collected, "--captions", preds, "--id-column", column,
                "--csv", csv, "--judge-model", "openai/judge", "--base-url", judge.base_url, "-o", out, "-q",
                *FAST_OPTIONS,
            )  # fmt: skip
            assert res.exit_code == 0, res.stderr
            summary = json.loads((tmp_path / out / "summary.json").read_text())
            system = next(s for s in summary["systems"] if s["name"] == "preds_audio")
            assert system["inputs"]["judged_clips"] == 3, system


def test_judge_names_a_missing_id_column(tmp_path, run_cli, small_clotho):
    rubric = tmp_path / "rubric.json"
    rubric.write_text(json.dumps([{"criterion": "mentions a dog", "weight": 1}]))
    preds = tmp_path / "preds.parquet"
    pd.DataFrame({"id": [NAMES[0]], "model_output": ["a dog"]}).to_parquet(preds)
    res = run_cli(
        "rubrics", "judge", "--rubric", rubric, "--captions", preds, "--csv", small_clotho,
        "--judge-model", "mock/schema", "-o", tmp_path / "out", "-q",
    )  # fmt: skip
    assert res.exit_code == 2 and "file_name" in res.stderr and res.stderr.count("\n") == 1


def _generate(run_cli, tmp_path, csv, *model_args: object):
    baselines = write_baselines(tmp_path / "baselines.csv", NAMES)
    return run_cli(
        "rubrics", "generate", "--baseline-file", baselines, "--csv", csv, "--limit", "2",
        "-o", tmp_path / "out", "-q", *model_args,
    )  # fmt: skip


def test_generate_warns_when_the_model_proposes_nothing(tmp_path, run_cli, small_clotho):
    res = _generate(run_cli, tmp_path, small_clotho, "--rubric-model", "mock/schema")
    assert res.exit_code == 0, res.stderr
    warning = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "empty rubric" in warning[0] and "proposed no criteria" in warning[0]


def test_generate_warns_when_every_quote_is_rejected(tmp_path, run_cli, small_clotho):
    made_up = {"criteria": [{"criterion": "The caption mentions a piano.", "weight": 2, "quote": "a grand piano"}]}
    with ScriptedOpenAIServer(lambda req: completion(json.dumps(made_up))) as server:
        res = _generate(
            run_cli, tmp_path, small_clotho, "--rubric-model", "openai/m", "--base-url", server.base_url, *FAST_OPTIONS
        )
    assert res.exit_code == 0, res.stderr
    assert "all 2 proposed criteria were rejected: their quotes are not words of the reference" in res.stderr


def test_generate_with_every_clip_failed_is_one_error_line(tmp_path, run_cli, small_clotho):
    with ScriptedOpenAIServer(lambda req: completion("not JSON at all")) as server:
        res = _generate(
            run_cli, tmp_path, small_clotho, "--rubric-model", "openai/m", "--base-url", server.base_url,
            "--max-retries", "0", *FAST_OPTIONS,
        )  # fmt: skip
    assert res.exit_code == 3 and res.stderr.count("\n") == 1  # the error line says why; no warning besides
    assert res.stderr.startswith("error: all 2 clips processed failed")


def test_why_a_rubric_is_empty():
    from lalm_bench.rubrics.common.records import RunRecord
    from lalm_bench.rubrics.generate.report import why_empty

    def record(status: str, **fields) -> RunRecord:
        base = {"run": "run_0", "position": 0, "clip": "a.wav", "split": "evaluation", "reference_index": 0}
        return RunRecord(**base, reference="a dog", baseline_source="file", status=status, **fields)

    failed = record("failed", failed_step="extract", error="HTTP 500")
    assert why_empty([]) == "no clip was processed"
    assert why_empty([failed]).startswith("every one of the 1 clips failed (e.g. a.wav, step extract: HTTP 500)")
    merged_away = record("ok", new_criteria=[{"criterion": "mentions a dog", "weight": 2, "quote": "dog"}])
    assert (
        why_empty([merged_away, failed]) == "the merge step kept none of the 1 accepted criteria; 1 other clips failed"
    )
