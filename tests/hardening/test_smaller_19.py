"""Issue 19, item 10: predict windows merge; ``predict -o`` needs a .parquet name; an LLM pick of ``true``
is no option; a 200 reply with ``content: null`` is a failed item; identical criteria always match.
(The lock message of ``predict`` and ``judge``: ``test_locks_everywhere.py``.)"""

from __future__ import annotations

import json

import pandas as pd

from lalm_bench.llm.testserver import ScriptedOpenAIServer, completion
from tests.accuracy.test_command import FAST, run, strict, tiny
from tests.predict.helpers import synthetic_benchmark


def _predict(run_cli, bench, out, *extra):
    return run_cli("predict", "--benchmark", bench, "--model", "mock/echo", "--audio-root", bench.parent / "audio",
                   "-o", out, *extra)  # fmt: skip


def test_predict_windows_merge_into_one_table_and_say_so(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 6)
    out = tmp_path / "p.parquet"
    table = tmp_path / "p_audio.parquet"
    first = _predict(run_cli, bench, out, "--start", "0", "--limit", "2", "--quiet")
    assert first.exit_code == 0, first.stderr
    assert list(pd.read_parquet(table)["id"]) == ["item000", "item001"]
    second = _predict(run_cli, bench, out, "--start", "4", "--limit", "2", "--quiet")  # no --overwrite needed
    assert second.exit_code == 0, second.stderr
    df = pd.read_parquet(table)
    assert list(df["id"]) == ["item000", "item001", "item004", "item005"]  # the first window is kept
    assert df["model_output"].notna().all()
    assert (
        f"note: audio: {table} holds 4 items: the 2 of this call's window and 2 logged by earlier calls "
        "(windows are merged; --overwrite starts over)"
    ) in second.stderr
    manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
    assert manifest["counts"]["items"] == 4 and manifest["selection"]["items"] == 2
    again = _predict(run_cli, bench, out, "--start", "1", "--limit", "1", "--overwrite", "--quiet")
    assert again.exit_code == 0, again.stderr
    assert list(pd.read_parquet(table)["id"]) == ["item001"]  # --overwrite starts the run over


def test_predict_output_without_a_parquet_suffix_is_refused(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 2)
    (tmp_path / "results").mkdir()
    for out in (tmp_path / "results", tmp_path / "preds"):
        res = _predict(run_cli, bench, out, "--quiet")
        assert res.exit_code == 2 and res.stderr.count("\n") == 1, res.stderr
        assert f"error: --output {out}: name a .parquet file, e.g. {out.name}.parquet" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio", "bench.jsonl", "results"]  # nothing written


def test_an_llm_pick_of_true_or_a_string_is_no_option(run_cli, tmp_path):
    audio, noise = tiny(tmp_path)
    out = tmp_path / "a.json"
    picks = iter([True, "1", 1.0, True, "1", 1.0, True, "1", 1.0])  # each reply of each attempt
    with ScriptedOpenAIServer(lambda req: completion(json.dumps({"choice": next(picks), "evidence": "x"}))) as srv:
        res = run(run_cli, audio, noise, out, "--extractor", "llm", "--llm-model", "openai/reader",
                  "--base-url", srv.base_url, "--no-llm-cache", *FAST)  # fmt: skip
        assert res.exit_code == 0, res.stderr
        assert srv.requests  # the rules left one answer to the LLM
    doc = strict(out)
    assert doc["conditions"]["audio"]["methods"].get("llm", 0) == 0  # was: true read as option 1
    assert doc["extraction"]["llm"]["failed"] == 1
    assert doc["conditions"]["audio"]["unparsed_reasons"] == {"llm-failed": 1}


def test_a_reply_with_null_content_is_a_failed_item_not_an_empty_answer(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 2)
    replies = {"Question number 0": None, "Question number 1": "A tone."}

    def respond(req):
        return completion(next(v for k, v in replies.items() if k in req.last_user_text), finish_reason="length")

    with ScriptedOpenAIServer(respond) as server:
        res = run_cli("predict", "--benchmark", bench, "--model", "openai/m", "--base-url", server.base_url,
                      "--audio-root", tmp_path / "audio", "-o", tmp_path / "p.parquet", "--quiet",
                      "--max-retries", "1", *FAST)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    df = pd.read_parquet(tmp_path / "p_audio.parquet").set_index("id")
    assert df.loc["item000", "model_output"] is None or pd.isna(df.loc["item000", "model_output"])
    assert "no answer text: message content is null (finish_reason length)" in df.loc["item000", "error"]
    assert df.loc["item001", "model_output"] == "A tone." and pd.isna(df.loc["item001", "error"])


def test_identical_rubrics_match_fully_at_threshold_1(run_cli, tmp_path):
    criteria = [{"criterion": f"The caption mentions sound number {i}.", "weight": i + 1} for i in range(5)]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(criteria))
    b.write_text(json.dumps([{**c, "criterion": "  " + c["criterion"].upper()} for c in reversed(criteria)]))
    res = run_cli("rubrics", "compare", a, b, "--model", "mock:hash", "--threshold", "1", "-o", tmp_path / "c.json",
                  "--quiet")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    text = (tmp_path / "c.json").read_text()
    assert '"f1": 1.0' in text and '"matched": 5' in text  # was F1 0: cosine 0.99999994 < 1
