"""The transformers provider's request building (loading real Omni models cannot run here)."""

from __future__ import annotations

import io
import subprocess
import sys
import wave

import numpy as np
import pytest

from lalm_bench.llm import AudioPart, LLMConfigError, Message, Sampling, TextPart, get_chat_model
from lalm_bench.llm.transformers_provider import (
    TransformersChatModel,
    build_conversation,
    decode_audio,
    generation_kwargs,
    model_family,
    resolve_alias,
)
from tests.llm.helpers import make_wav, run


def test_aliases_and_families():
    assert resolve_alias("qwen2_5-omni") == "Qwen/Qwen2.5-Omni-7B"
    assert resolve_alias("qwen3-omni") == "Qwen/Qwen3-Omni-30B-A3B-Instruct"
    assert resolve_alias("gemma3n") == "google/gemma-3n-E4B-it"
    assert resolve_alias("Qwen/Qwen2.5-Omni-3B") == "Qwen/Qwen2.5-Omni-3B"
    assert model_family("Qwen/Qwen2.5-Omni-3B") == "qwen2_5_omni"
    assert model_family("Qwen/Qwen3-Omni-30B-A3B-Instruct") == "qwen3_omni"
    assert model_family("google/gemma-3n-E2B-it") == "gemma3n"
    with pytest.raises(LLMConfigError, match="unsupported model"):
        model_family("meta-llama/Llama-3-8B")


def test_registry_builds_without_importing_torch():
    code = (
        "import sys; from lalm_bench.llm import get_chat_model;"
        "m = get_chat_model('transformers/qwen3-omni', cache=None);"
        "print(m.name, m.family, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    name = "transformers/Qwen/Qwen3-Omni-30B-A3B-Instruct"
    assert out.stdout.split() == [name, "qwen3_omni", "False", "False"]
    with pytest.raises(LLMConfigError, match="does not take option"):
        get_chat_model("transformers/qwen3-omni", base_url="http://127.0.0.1:8000/v1")


def test_generation_kwargs():
    # the text model's own generate(): the same keywords for every family
    assert generation_kwargs(Sampling(max_tokens=200)) == {"max_new_tokens": 200, "do_sample": False}
    assert generation_kwargs(Sampling(temperature=0.8, top_p=0.95, seed=3)) == {
        "max_new_tokens": 1024,
        "do_sample": True,
        "temperature": 0.8,
        "top_p": 0.95,
    }


def test_decode_wav_resamples_to_16k_mono():
    mono = decode_audio(AudioPart(make_wav(seconds=0.5, rate=8000), "wav"))
    assert mono.dtype == np.float32 and len(mono) == 8000
    assert 0.3 < float(np.abs(mono).max()) < 0.45  # amplitude 12000/32767
    # stereo with opposite channels mixes down to silence
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.array([[1000, -1000]] * 160, dtype="<i2").tobytes())
    stereo = decode_audio(AudioPart(buf.getvalue(), "wav"))
    assert len(stereo) == 160 and float(np.abs(stereo).max()) == 0.0


def test_build_conversation_qwen_omni_format():
    wav = make_wav(seconds=0.25, rate=16000)
    conv, audios = build_conversation(
        [
            Message.text("system", "You describe sounds."),
            Message("user", (TextPart("What do you hear?"), AudioPart(wav, "wav"))),
        ]
    )
    assert conv[0] == {"role": "system", "content": [{"type": "text", "text": "You describe sounds."}]}
    assert conv[1]["content"][0] == {"type": "text", "text": "What do you hear?"}
    assert conv[1]["content"][1]["type"] == "audio"
    assert conv[1]["content"][1]["audio"] is audios[0] and len(audios[0]) == 4000


def test_generate_glue_with_stub_model():
    """Wiring from messages to ``generate`` and back, with a stand-in for the multi-GB model."""
    import torch

    calls = {}

    class Inputs(dict):
        def to(self, device):
            return self

    class Processor:
        def apply_chat_template(self, conversation, add_generation_prompt, tokenize):
            calls["conversation"] = conversation
            return "<prompt>"

        def __call__(self, text, audio, return_tensors, padding):
            calls["audio"] = audio
            return Inputs(input_ids=torch.ones((1, 7), dtype=torch.long))

        def batch_decode(self, ids, skip_special_tokens):
            calls["decoded"] = ids.tolist()
            return ['  {"answer": "rain"}  ']

    class Model:
        device = "cpu"

        def generate(self, **kwargs):
            calls["generate"] = kwargs
            return torch.arange(10).reshape(1, 10)

    model = TransformersChatModel("qwen2_5-omni", cache=None)
    model._model, model._processor = Model(), Processor()
    msgs = [Message("user", (TextPart("Describe."), AudioPart(make_wav(), "wav")))]
    result = run(model.chat(msgs, sampling=Sampling(max_tokens=32)))
    assert result.text == '{"answer": "rain"}'
    assert result.usage.prompt_tokens == 7 and result.usage.completion_tokens == 3
    assert calls["decoded"] == [[7, 8, 9]]
    assert calls["generate"] == {"input_ids": calls["generate"]["input_ids"], "max_new_tokens": 32, "do_sample": False}
    assert len(calls["audio"]) == 1 and calls["conversation"][0]["content"][1]["audio"] is calls["audio"][0]
