"""The in-process transformers path on the real classes: tiny random-weight Qwen2.5-Omni, Qwen3-Omni and
Gemma 3n models built from the real configs (``tests/llm/tiny_omni.py``), run through the provider and
through ``predict``: chat template, processor call (audio features), ``generate``, decode. CPU, seconds once
torch and transformers are imported.

transformers 5.x builds the Qwen-Omni processors only with torchvision (their video processor, and
``ProcessorMixin`` resolves ``VideoProcessorMixin`` only where torchvision is installed); Gemma 3n's model
needs timm for its vision tower (and timm needs torchvision). The dev group installs both (torch and
torchvision kept matched by ``[tool.uv]`` in pyproject.toml, see docs/reach.md); without them these tests skip."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm import AudioPart, Message, Sampling, TextPart
from lalm_bench.llm.transformers_provider import TransformersChatModel, model_family
from tests.llm.helpers import make_wav, run

pytest.importorskip("transformers")
NEEDS = {"qwen2_5_omni": "torchvision", "qwen3_omni": "torchvision", "gemma3n": "timm"}


@pytest.fixture(scope="module", params=list(NEEDS))
def tiny_model(request, tmp_path_factory) -> tuple[str, Path]:
    from tests.llm import tiny_omni

    pytest.importorskip(NEEDS[request.param], reason=f"building a {request.param} here needs {NEEDS[request.param]}")

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
    # the audio is in the prompt: one second is 25 audio tokens for Qwen2.5-Omni (100 mel frames/s, two
    # stride-2 stages), 13 for Qwen3-Omni, plus the audio start and end tokens; Gemma 3n always has 188
    # soft tokens between its start and end tokens, set apart by blank lines
    without = run(model.chat([msgs[0], Message.text("user", "What?")], sampling=Sampling(max_tokens=5)))
    audio_tokens = {"qwen2_5_omni": 25 + 2, "qwen3_omni": 13 + 2, "gemma3n": 188 + 2 + 4}[family]
    assert result.usage.prompt_tokens - without.usage.prompt_tokens == audio_tokens
    if family != "gemma3n":
        assert not model._model.has_talker and not hasattr(model._model, "talker")
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
