"""Item 3: ``--audio-model transformers/qwen3-omni`` runs from the CLI (a provider gets only the options
it takes). The multi-GB model cannot load here: only its loading is stubbed, at the last step."""

from __future__ import annotations

import json

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.llm.transformers_provider import TransformersChatModel
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.hardening.helpers import CLIPS, FAST_OPTIONS, make_wav, read_jsonl, write_clotho_csv


class _Inputs(dict):
    def to(self, device):
        return self


class _Processor:
    def __init__(self, calls):
        self.calls = calls

    def apply_chat_template(self, conversation, add_generation_prompt, tokenize):
        self.calls.append(conversation)
        return "<prompt>"

    def __call__(self, text, audio, return_tensors, padding):
        import torch

        assert audio is not None and len(audio) == 1
        return _Inputs(input_ids=torch.ones((1, 5), dtype=torch.long))

    def batch_decode(self, ids, skip_special_tokens):
        return ["  A dog barks twice near a river.  "]


class _Model:
    device = "cpu"

    def generate(self, **kwargs):
        import torch

        assert kwargs["do_sample"] is False and "return_audio" not in kwargs
        return torch.arange(9).reshape(1, 9)


def test_rubrics_generate_with_a_transformers_audio_model(tmp_path, monkeypatch, run_cli):
    clips = dict(list(CLIPS.items())[:3])
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", clips)
    audio_dir = tmp_path / "evaluation"
    audio_dir.mkdir()
    for i, name in enumerate(clips):
        (audio_dir / name).write_bytes(make_wav(seconds=0.2, rate=16000, freq=200.0 + 100 * i))
    calls: list = []
    loads: list = []

    def fake_load(self):  # the last step: everything before it (CLI, options, registry) is real
        if self._model is None:
            loads.append((self.repo_id, self.revision, self.device_map))
            self._model, self._processor = _Model(), _Processor(calls)
        return self._model, self._processor

    monkeypatch.setattr(TransformersChatModel, "_load", fake_load)
    llm = RubricLLM()
    llm.ref_clip.update({cap: name for name, caps in clips.items() for cap in caps})
    out = tmp_path / "out"
    with ScriptedOpenAIServer(llm) as server:
        code, _, err = run_cli(
            "rubrics", "generate", "--csv", csv, "--audio-model", "transformers/qwen3-omni",
            "--rubric-model", "openai/judge", "--base-url", server.base_url, "--output-dir", out,
            "--quiet", "--timeout", "30", "--concurrency", "2", "--max-retries", "1", *FAST_OPTIONS,
        )  # fmt: skip
    assert code == 0, err
    assert loads == [("Qwen/Qwen3-Omni-30B-A3B-Instruct", None, "auto")]
    records = read_jsonl(out / "deter" / "run_0" / "log.jsonl")
    assert [r["status"] for r in records] == ["ok"] * 3
    assert all(r["baseline"] == "A dog barks twice near a river." and r["baseline_source"] == "model" for r in records)
    assert len(calls) == 3 and all(c[0]["content"][0]["type"] == "audio" for c in calls)
    manifest = json.loads((out / "deter" / "run_0" / "run.json").read_text())
    audio = manifest["model"]["providers"]["transformers/qwen3-omni"]
    assert audio["provider"] == "transformers" and audio["family"] == "qwen3_omni" and audio["base_url"] is None


def test_an_llm_option_no_provider_takes_is_still_refused(tmp_path, run_cli):
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", dict(list(CLIPS.items())[:1]))
    code, _, err = run_cli(
        "rubrics", "generate", "--csv", csv, "--audio-model", "transformers/qwen3-omni", "--rubric-model",
        "mock/echo", "--output-dir", tmp_path / "out", "--llm-option", "strutured_output=vllm", "--quiet",
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "does not take option(s) strutured_output" in err
    assert not (tmp_path / "out" / "deter" / "run_0" / "log.jsonl").exists()
