"""Faults: retries, items that still fail (recorded, never an empty answer), fatal errors, --retry-failed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd

from lalm_bench.llm.testserver import FaultInjector, ScriptedOpenAIServer, error, slow
from tests.predict.helpers import FAST_OPTIONS, AudioResponder, question_of, synthetic_benchmark


def _predict(run_cli, tmp_path: Path, server_url: str, *extra: object, out: str = "p.parquet"):
    return run_cli(
        "predict", "--benchmark", tmp_path / "bench.jsonl", "--audio-root", tmp_path / "audio", "--model", "openai/m",
        "--base-url", server_url, "--output", tmp_path / out, *FAST_OPTIONS, *extra,
    )  # fmt: skip


def test_transient_faults_are_retried_and_every_item_ends_recorded(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 24)
    injector = FaultInjector(AudioResponder(), {"500": 0.15, "429": 0.15, "drop": 0.1}, seed=3)
    with ScriptedOpenAIServer(injector) as server:
        res = _predict(run_cli, tmp_path, server.base_url, "--condition", "audio,noise", "--concurrency", "4")
    assert res.exit_code == 0, res.stderr
    assert injector.counts["500"] + injector.counts["429"] + injector.counts["drop"] >= 5
    for cond in ("audio", "noise"):
        df = pd.read_parquet(tmp_path / f"p_{cond}.parquet")
        assert len(df) == 24 and df["model_output"].notna().all() and df["error"].isna().all()
        assert (df["model_output"].str.len() > 0).all()


def test_an_item_that_keeps_failing_is_recorded_with_its_error_and_retry_failed_fixes_it(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 6)
    inner = AudioResponder()
    bad = {"Question number 2: what is heard?": error(500, "GPU fell over"), "Question number 4: what is heard?":
           slow(3.0)}  # fmt: skip
    broken = True

    def responder(req):
        if broken and question_of(req) in bad:
            return bad[question_of(req)]
        return inner(req)

    with ScriptedOpenAIServer(responder) as server:
        res = _predict(run_cli, tmp_path, server.base_url, "--condition", "audio", "--timeout", "0.5",
                       "--max-retries", "1")  # fmt: skip
        assert res.exit_code == 0, res.stderr
        df = pd.read_parquet(tmp_path / "p_audio.parquet").set_index("id")
        failed = df[df["error"].notna()]
        assert sorted(failed.index) == ["item002", "item004"]
        assert failed["model_output"].isna().all()  # null, never "" that would score as an answer
        assert "HTTP 500" in failed.loc["item002", "error"] and "GPU fell over" in failed.loc["item002", "error"]
        assert "no reply" in failed.loc["item004", "error"]
        assert failed["prompt_tokens"].isna().all() and failed["audio_sha256"].notna().all()
        manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
        assert manifest["counts"]["failed"] == 2 and manifest["counts"]["failed_request"] == 2

        n = len(server.requests)
        res = _predict(run_cli, tmp_path, server.base_url, "--condition", "audio")  # resume: nothing to do
        assert res.exit_code == 0 and len(server.requests) == n
        broken = False
        res = _predict(run_cli, tmp_path, server.base_url, "--condition", "audio", "--retry-failed")
        assert res.exit_code == 0, res.stderr
        assert len(server.requests) == n + 2
    df = pd.read_parquet(tmp_path / "p_audio.parquet").set_index("id")
    assert df["error"].isna().all() and df.loc["item002", "attempt"] == 2 and df.loc["item000", "attempt"] == 1
    log = [json.loads(x) for x in (tmp_path / "p.runs" / "audio" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 8 and [r["id"] for r in log if r["attempt"] == 2] in (["item002", "item004"],
                                                                             ["item004", "item002"])  # fmt: skip


def test_every_item_failing_exits_3_with_the_outputs_written(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 3)
    with ScriptedOpenAIServer(lambda req: error(503, "overloaded")) as server:
        res = _predict(run_cli, tmp_path, server.base_url, "--max-retries", "0")
    assert res.exit_code == 3 and res.stderr.strip().splitlines()[-1].startswith("error: all 3 items processed failed")
    df = pd.read_parquet(tmp_path / "p_audio.parquet")
    assert df["model_output"].isna().all() and df["error"].str.contains("HTTP 503").all()


def test_bad_key_and_unreachable_server_stop_with_one_line(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 4)
    with ScriptedOpenAIServer(lambda req: error(401, "invalid key")) as server:
        # one request at a time: requests cancelled mid-upload would make the test server print tracebacks
        res = _predict(run_cli, tmp_path, server.base_url, "--concurrency", "1")
        assert len(server.requests) == 1
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith("error: ") and "refused the API key (HTTP 401)" in err and "rerun to resume" in err
    assert not (tmp_path / "p_audio.parquet").exists()

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = _predict(run_cli, tmp_path, f"http://127.0.0.1:{port}/v1", "--max-retries", "1")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert "cannot reach the server" in res.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "p_audio.parquet").exists()
    assert (tmp_path / "p.runs" / "audio" / "log.jsonl").read_text() == ""  # nothing recorded as an item failure


def test_credentials_in_the_base_url_are_never_written(run_cli, tmp_path, monkeypatch):
    synthetic_benchmark(tmp_path, 2)
    monkeypatch.setenv("MY_KEY", "sk-very-secret-key")
    with ScriptedOpenAIServer(AudioResponder()) as server:
        plain = server.base_url
        url = plain.replace("http://", "http://user:hunter2@") + "?token=abc123"
        res = _predict(run_cli, tmp_path, url, "--api-key-env", "MY_KEY")
        assert res.exit_code == 0, res.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".parquet")]
    assert len(written) >= 4
    for path in written:
        data = path.read_bytes()
        assert b"hunter2" not in data and b"abc123" not in data and b"sk-very-secret" not in data, path
    manifest = json.loads((tmp_path / "p_audio.manifest.json").read_text())
    assert manifest["parameters"]["llm"]["base_urls"] in ([plain + "?token=%2A%2A%2A"], [plain + "?token=***"])
