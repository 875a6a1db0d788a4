"""Model strings → providers; lazy SDK imports; one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lalm_bench.llm import (
    ChatModel,
    LLMConfigError,
    describe_model,
    get_chat_model,
    known_providers,
    parse_model_spec,
    register_provider,
)
from lalm_bench.llm.openai_provider import OpenAIChatModel


def test_parse_model_spec_keeps_slashes_in_model():
    assert parse_model_spec("openai/Qwen/Qwen3-Omni-30B-A3B-Instruct") == (
        "openai",
        "Qwen/Qwen3-Omni-30B-A3B-Instruct",
    )
    assert parse_model_spec(" transformers/qwen2_5-omni ") == ("transformers", "qwen2_5-omni")


@pytest.mark.parametrize("spec", ["", "gpt-4o", "openai/", "/model"])
def test_spec_without_provider_or_model(spec):
    with pytest.raises(LLMConfigError, match="provider/model") as info:
        parse_model_spec(spec)
    assert "\n" not in str(info.value)


def test_unknown_provider_lists_known_ones():
    with pytest.raises(LLMConfigError) as info:
        get_chat_model("litellm/gpt-4o")
    msg = str(info.value)
    assert "'litellm'" in msg and "openai" in msg and "transformers" in msg


def test_get_openai_model(server):
    model = get_chat_model(
        "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct", base_url=server.base_url, cache=None, timeout=None
    )
    assert isinstance(model, OpenAIChatModel) and isinstance(model, ChatModel)
    assert model.name == "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct"
    assert model.model == "Qwen/Qwen3-Omni-30B-A3B-Instruct"
    assert model.cache is None  # cache=None disables; timeout=None means the default
    info = describe_model(model)
    assert info["base_url"] == server.base_url and info["provider"] == "openai"


def test_unknown_option_is_a_config_error(server):
    with pytest.raises(LLMConfigError, match="does not take option"):
        get_chat_model("openai/m", base_url=server.base_url, cache=None, temperature=0.2)


def test_register_custom_provider():
    class Echo:
        def __init__(self, model: str, **options):
            self.name = f"echo/{model}"
            self.options = options

        async def chat(self, messages, *, schema=None, sampling=None, cache_key_extra=None): ...

        async def aclose(self): ...

    register_provider("echo", Echo)
    try:
        assert "echo" in known_providers()
        model = get_chat_model("echo/a/b", anything=1)
        assert model.name == "echo/a/b" and model.options == {"anything": 1}
    finally:
        from lalm_bench.llm import registry

        registry._PROVIDERS.pop("echo")


def test_importing_the_llm_layer_does_not_import_sdks():
    code = (
        "import sys, lalm_bench.llm, lalm_bench.llm.openai_provider, lalm_bench.llm.transformers_provider;"
        "print([m for m in ('openai', 'transformers', 'torch', 'tenacity', 'numpy') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
