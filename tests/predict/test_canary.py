"""The serving canary: a server that drops the audio, answers cut at max tokens, echoes, and the mock models."""

from __future__ import annotations

import json
from pathlib import Path

from lalm_bench.audio.sent import AudioSent
from lalm_bench.llm.calls import StepReply
from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.predict.canary import serving_canary
from lalm_bench.predict.schema import PredictRecord
from tests.predict.helpers import AudioResponder, synthetic_benchmark


def _predict(run_cli, bench: Path, out: Path, model: str, conditions: str, *extra: object):
    return run_cli(
        "predict", "--benchmark", bench, "--model", model, "--condition", conditions, "--output", out, *extra
    )


def test_a_server_that_ignores_audio_is_flagged(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 8)
    with ScriptedOpenAIServer(AudioResponder(listening=False)) as server:
        res = _predict(
            run_cli, bench, tmp_path / "p.parquet", "openai/m", "audio,noise,none,mismatched",
            "--base-url", server.base_url, "--audio-root", tmp_path / "audio",
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: canary")]
    assert any("(audio vs none 8/8, audio vs mismatched " in w for w in warnings), warnings
    assert any("identical to those under noise 8/8, none 8/8, mismatched 8/8 items" in w for w in warnings)
    canary = json.loads((tmp_path / "p_noise.manifest.json").read_text())["canary"]
    assert canary["warnings"] == [w.removeprefix("warning: canary: ") for w in warnings]
    means = {c: v["mean_prompt_tokens"] for c, v in canary["conditions"].items()}
    assert means["audio"] == means["noise"] == means["none"]
    assert "serving canary" in res.stdout


def test_a_listening_server_passes_and_the_token_rate_is_estimated(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 8)
    with ScriptedOpenAIServer(AudioResponder()) as server:
        res = _predict(
            run_cli, bench, tmp_path / "p.parquet", "openai/m", "audio,silence,none", "--base-url", server.base_url,
            "--audio-root", tmp_path / "audio",
        )  # fmt: skip
    assert res.exit_code == 0 and "warning" not in res.stderr, res.stderr
    assert "median 25.0 extra prompt tokens per second of audio" in res.stdout
    canary = json.loads((tmp_path / "p_audio.manifest.json").read_text())["canary"]
    pair = next(p for p in canary["pairs"] if p["conditions"] == ["audio", "silence"])
    assert pair["token_comparable"] == 0  # same length: equal tokens are expected, not checked
    assert pair["identical_outputs"] == 0


def test_answers_cut_at_max_tokens_and_conditions_run_separately(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 4)
    with ScriptedOpenAIServer(AudioResponder(listening=False, finish_reason="length")) as server:
        common = ("--base-url", server.base_url, "--audio-root", tmp_path / "audio")
        assert _predict(run_cli, bench, tmp_path / "p.parquet", "openai/m", "audio", *common).exit_code == 0
        res = _predict(run_cli, bench, tmp_path / "p.parquet", "openai/m", "none", *common)
    assert res.exit_code == 0, res.stderr
    # the canary of the second call compares with the audio run made before (same model and prompt)
    assert "4 of 4 answers under none stopped at the token limit" in res.stderr
    assert "equal prompt-token counts for most items whose audio lengths differ (audio vs none 4/4)" in res.stderr
    assert "audio (earlier)" in res.stdout
    manifest = json.loads((tmp_path / "p_none.manifest.json").read_text())
    assert manifest["canary"]["compared_from_earlier_calls"] == ["audio"]


def test_mock_models_echo_and_drops_audio(run_cli, tmp_path):
    bench = synthetic_benchmark(tmp_path, 4)
    root = ("--audio-root", tmp_path / "audio")
    res = _predict(run_cli, bench, tmp_path / "echo.parquet", "mock/echo", "audio,none", *root)
    assert res.exit_code == 0
    assert "answers under audio repeat the prompt verbatim" in res.stderr
    assert "equal prompt-token counts" not in res.stderr
    res = _predict(run_cli, bench, tmp_path / "drops.parquet", "mock/drops-audio", "audio,none", *root)
    assert "(audio vs none 4/4)" in res.stderr


def _record(i: int, cond: str, tokens: int, seconds: float, out: str = "x") -> PredictRecord:
    audio = [] if cond == "none" else [
        AudioSent(condition=cond, seed=0, index=0, source="a.wav", source_sha256="0", sha256="1", size_bytes=1,
                  frames=int(seconds * 10), seconds=seconds, original_seconds=seconds, sample_rate=10,
                  original_sample_rate=10, channels=1, truncated=False, rms=0.1, full_scale_samples=0)
    ]  # fmt: skip
    reply = StepReply(raw=out, prompt_tokens=tokens, completion_tokens=1, finish_reason="stop")
    return PredictRecord(id=str(i), condition=cond, status="ok", model_output=out, seed=0, prompt="p", audio=audio,
                         reply=reply)  # fmt: skip


def test_canary_rule_units():
    audio = {str(i): _record(i, "audio", 100, 2.0, f"a{i}") for i in range(5)}
    noise = {str(i): _record(i, "noise", 100, 2.0, f"n{i}") for i in range(5)}
    none = {str(i): _record(i, "none", 50, 0.0, f"a{i}") for i in range(5)}
    c = serving_canary({"audio": audio, "noise": noise, "none": none})
    assert c["warnings"] == [
        "answers under audio are byte-identical to those under none 5/5 items: the server may be dropping the "
        "audio (see the prompt tokens), or the model ignores it"
    ]
    assert "median 25.0 extra prompt tokens per second" in c["notes"][0]
    # too few items: no verdict
    few = serving_canary({"audio": dict(list(audio.items())[:2]), "none": {k: _record(int(k), "none", 100, 0.0)
                                                                          for k in ("0", "1")}})  # fmt: skip
    assert few["warnings"] == [] and few["pairs"][0]["same_prompt_tokens"] == 2
    only = serving_canary({"audio": audio, "noise": noise})
    assert only["warnings"] == [] and "add the none condition" in only["notes"][0]
