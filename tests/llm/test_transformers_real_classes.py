"""The in-process transformers path on the real Qwen-Omni classes: tiny random-weight models built from the
real configs (``tests/llm/tiny_omni.py``), run through the provider and through ``predict``: processor call,
audio features, the thinker's ``generate``, decode. CPU, seconds once torch and transformers are imported.

transformers 5.x builds the Qwen-Omni processors only with torchvision (their video processor, and
``ProcessorMixin`` resolves ``VideoProcessorMixin`` only where torchvision is installed); this project's
resolution never installs torchvision (see ``[tool.uv]`` in pyproject.toml), so these tests skip there and
run wherever torchvision is installed. Gemma 3n is not built: its vision tower is a timm model (timm is not
a dependency)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm import AudioPart, Message, Sampling, TextPart
from lalm_bench.llm.transformers_provider import TransformersChatModel, model_family
from tests.llm.helpers import make_wav, run

pytest.importorskip("torchvision", reason="transformers' Qwen-Omni processors need torchvision")
pytest.importorskip("transformers")


@pytest.fixture(scope="module", params=["qwen2_5_omni", "qwen3_omni"])
def tiny_model(request, tmp_path_factory) -> tuple[str, Path]:
    from tests.llm import tiny_omni

    folder = tmp_path_factory.mktemp(request.param)
    getattr(tiny_omni, f"build_{request.param}")(folder)
    return request.param, folder


def test_chat_with_audio_through_the_real_classes(tiny_model):
    family, folder = tiny_model
    assert model_family(str(folder)) == family  # a local folder is recognised by its config.json
    model = TransformersChatModel(str(folder), device_map="cpu", cache=None)
    wav = make_wav(seconds=1.0, rate=8000)  # resampled to 16 kHz on the way
    msgs = [Message.text("system", "You describe sounds."), Message("user", (TextPart("What?"), AudioPart(wav)))]
    result = run(model.chat(msgs, sampling=Sampling(max_tokens=5)))
    assert isinstance(result.text, str)
    assert 1 <= result.usage.completion_tokens <= 5
    # one second of audio is 25 audio tokens in the prompt (100 mel frames/s, two stride-2 stages)
    without = run(model.chat([Message.text("user", "What?")], sampling=Sampling(max_tokens=5)))
    assert result.usage.prompt_tokens - without.usage.prompt_tokens >= 25
    assert not getattr(model._model, "has_talker", False) and not hasattr(model._model, "talker")
    # greedy decoding is deterministic
    assert run(model.chat(msgs, sampling=Sampling(max_tokens=5))).text == result.text


def test_predict_end_to_end_with_a_tiny_real_model(tiny_model, tmp_path, run_cli):
    from tests.predict.helpers import synthetic_benchmark

    _family, folder = tiny_model
    bench = synthetic_benchmark(tmp_path, 2)
    out = tmp_path / "preds.parquet"
    res = run_cli(
        "predict", "--benchmark", bench, "--audio-root", tmp_path / "audio", "--model", f"transformers/{folder}",
        "--llm-option", "device_map=cpu", "--condition", "audio,none", "--max-tokens", "4", "--output", out, "-q",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    audio = pd.read_parquet(tmp_path / "preds_audio.parquet")
    none = pd.read_parquet(tmp_path / "preds_none.parquet")
    assert audio["model_output"].notna().all() and audio["error"].isna().all()
    assert (audio["audio_parts"] == 1).all() and (none["audio_parts"] == 0).all()
