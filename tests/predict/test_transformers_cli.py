"""The in-process ``transformers`` provider through the CLI, with the multi-GB model stubbed at the last step
(``_load``), as in tests/llm/test_transformers_provider.py."""

from __future__ import annotations

import pandas as pd
import pytest

from lalm_bench.llm.transformers_provider import TransformersChatModel
from tests.predict.helpers import synthetic_benchmark


class _Inputs(dict):
    def to(self, device):
        return self


class _Processor:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def apply_chat_template(self, conversation, add_generation_prompt, tokenize):
        self.calls.append({"conversation": conversation})
        return "<prompt>"

    def __call__(self, text, audio, return_tensors, padding):
        import torch

        self.calls[-1]["audio"] = audio
        n = 5 + sum(len(a) // 640 for a in audio or [])  # 25 tokens per second of 16 kHz audio
        return _Inputs(input_ids=torch.ones((1, n), dtype=torch.long))

    def batch_decode(self, ids, skip_special_tokens):
        clips = self.calls[-1]["audio"] or []
        loud = sum(float(abs(a).max()) > 0 for a in clips)
        return [f"  heard {len(clips)} clip(s), {loud} not silent  "]


class _Model:
    device = "cpu"

    def generate(self, **kwargs):
        import torch

        n = kwargs["input_ids"].shape[1]
        return torch.arange(n + 3).reshape(1, n + 3)


def test_transformers_provider_runs_audio_and_controls(run_cli, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    calls: list = []
    monkeypatch.setattr(TransformersChatModel, "_load", lambda self: (_Model(), _Processor(calls)))
    synthetic_benchmark(tmp_path, 3)
    res = run_cli(
        "predict", "--benchmark", tmp_path / "bench.jsonl", "--audio-root", tmp_path / "audio",
        "--model", "transformers/qwen2_5-omni", "--condition", "audio,silence,none", "--output", tmp_path / "t.parquet",
        "--no-llm-cache", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert len(calls) == 9
    audio = pd.read_parquet(tmp_path / "t_audio.parquet")
    none = pd.read_parquet(tmp_path / "t_none.parquet")
    assert list(audio["model_output"]) == ["heard 1 clip(s), 1 not silent"] * 3
    assert list(none["model_output"]) == ["heard 0 clip(s), 0 not silent"] * 3
    assert (audio["prompt_tokens"] > none["prompt_tokens"]).all() and (audio["completion_tokens"] == 3).all()
    # the provider got 16 kHz mono arrays of the clips' length: 0.5 s, 0.6 s, 0.7 s
    lengths = sorted(len(c["audio"][0]) for c in calls if c["audio"])
    assert lengths == [8000, 8000, 9600, 9600, 11200, 11200]
    assert "warning: canary" not in res.stderr  # 9 requests, 8 at once: the first imports raced before the fix


def test_base_url_is_refused_for_in_process_providers(run_cli, tmp_path):
    synthetic_benchmark(tmp_path, 2)
    res = run_cli(
        "predict", "--benchmark", tmp_path / "bench.jsonl", "--audio-root", tmp_path / "audio",
        "--model", "transformers/qwen2_5-omni", "--base-url", "http://127.0.0.1:9/v1",
        "--output", tmp_path / "t.parquet",
    )  # fmt: skip
    assert res.exit_code == 2 and "--base-url does not apply to transformers/qwen2_5-omni" in res.stderr
