"""Provider ``transformers``: Qwen2.5-Omni, Qwen3-Omni or Gemma 3n in-process on a local GPU.

Install with the ``local`` extra (``uv sync --extra local``); with transformers 5.x the Qwen-Omni
processors also need torchvision. Only text is generated: the Qwen talker is disabled and the
thinker (the text model) generates. Structured output has no server-side enforcement
here: the prompt asks for JSON and :class:`~lalm_bench.llm.chat_model.BaseChatModel` validates it
(with its one repair retry). ``torch``/``transformers`` are imported on the first request.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import wave
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from lalm_bench.errors import first_line
from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.chat_model import BaseChatModel, Completion
from lalm_bench.llm.errors import LLMConfigError, LLMError
from lalm_bench.llm.interface import AudioPart, Message, Sampling, Usage

Family = Literal["qwen2_5_omni", "qwen3_omni", "gemma3n"]

ALIASES = {
    "qwen2_5-omni": "Qwen/Qwen2.5-Omni-7B",
    "qwen2.5-omni": "Qwen/Qwen2.5-Omni-7B",
    "qwen3-omni": "Qwen/Qwen3-Omni-30B-A3B-Instruct",
    "gemma3n": "google/gemma-3n-E4B-it",
}
SAMPLE_RATE = 16_000  # what the Qwen-Omni and Gemma 3n audio encoders expect


def resolve_alias(model: str) -> str:
    return ALIASES.get(model.lower(), model)


#: ``model_type`` in a model folder's ``config.json`` → family.
MODEL_TYPES: dict[str, Family] = {"qwen2_5_omni": "qwen2_5_omni", "qwen3_omni_moe": "qwen3_omni", "gemma3n": "gemma3n"}


def model_family(repo_id: str) -> Family:
    """The family of a hub repo id (by name) or of a local model folder (by its ``config.json``)."""
    config = Path(repo_id).expanduser() / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
        if model_type in MODEL_TYPES:
            return MODEL_TYPES[model_type]
    name = repo_id.lower().replace("_", ".")
    if "qwen3-omni" in name:
        return "qwen3_omni"
    if "qwen2.5-omni" in name:
        return "qwen2_5_omni"
    if "gemma-3n" in name or "gemma3n" in name:
        return "gemma3n"
    raise LLMConfigError(
        f"transformers provider: unsupported model {repo_id!r} (Qwen2.5-Omni, Qwen3-Omni or Gemma 3n; "
        f"aliases: {', '.join(sorted(ALIASES))})"
    )


def decode_audio(part: AudioPart, sample_rate: int = SAMPLE_RATE) -> Any:
    """Mono float32 samples at ``sample_rate``. PCM WAV needs only numpy/scipy; MP3 needs ``soundfile``."""
    import numpy as np

    if part.format == "wav":
        try:
            with wave.open(io.BytesIO(part.data)) as w:
                width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
                raw = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as exc:
            raise LLMError(f"unreadable WAV audio: {exc}") from None
        if width == 1:
            samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
        elif width in (2, 4):
            dtype = np.int16 if width == 2 else np.int32
            samples = np.frombuffer(raw, dtype).astype(np.float32) / float(np.iinfo(dtype).max)
        else:
            raise LLMError(f"unsupported WAV sample width {width * 8} bits")
        samples = samples.reshape(-1, channels).mean(axis=1)
    else:
        try:
            import soundfile
        except ImportError:
            raise LLMConfigError(
                "decoding MP3 audio needs soundfile: install the 'local' extra (uv sync --extra local)"
            ) from None
        data, rate = soundfile.read(io.BytesIO(part.data), dtype="float32", always_2d=True)
        samples = data.mean(axis=1)
    if rate != sample_rate:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, sample_rate)
        samples = resample_poly(samples, sample_rate // g, rate // g).astype(np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32)


def build_conversation(messages: list[Message]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The Qwen-Omni / Gemma 3n chat-template conversation and its audio arrays, in order.

    Audio parts become ``{"type": "audio", "audio": <16 kHz mono float32 array>}``."""
    conversation: list[dict[str, Any]] = []
    audios: list[Any] = []
    for msg in messages:
        content: list[dict[str, Any]] = []
        for part in msg.content:
            if isinstance(part, AudioPart):
                samples = decode_audio(part)
                audios.append(samples)
                content.append({"type": "audio", "audio": samples})
            else:
                content.append({"type": "text", "text": part.text})
        conversation.append({"role": msg.role, "content": content})
    return conversation, audios


def generation_kwargs(sampling: Sampling) -> dict[str, Any]:
    """``generate()`` keyword arguments of the text model: greedy at temperature 0.

    The Qwen-Omni text model (the thinker) is called directly, not through the wrappers that also drive
    the talker: their keywords changed between transformers releases (``return_audio`` became
    ``generation_mode``) and Qwen2.5-Omni's reads the talker even for text (transformers 5.x)."""
    kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_tokens or 1024}
    if sampling.deterministic:
        kwargs["do_sample"] = False
    else:
        kwargs.update(do_sample=True, temperature=sampling.temperature)
        if sampling.top_p is not None:
            kwargs["top_p"] = sampling.top_p
    return kwargs


class TransformersChatModel(BaseChatModel):
    """A local audio LLM run with ``transformers`` (one request at a time on the device)."""

    provider = "transformers"

    def __init__(
        self,
        model: str,
        *,
        device_map: str = "auto",
        dtype: str = "auto",
        attn_implementation: str | None = None,
        revision: str | None = None,
        cache: ResponseCache | str | bool | None = True,
    ) -> None:
        self.repo_id = resolve_alias(model)
        self.family = model_family(self.repo_id)
        self.device_map = device_map
        self.dtype = dtype
        self.attn_implementation = attn_implementation
        self.revision = revision
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()
        super().__init__(self.repo_id, cache=cache, base_url=None)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "family": self.family, "revision": self.revision, "dtype": self.dtype}

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            try:
                import transformers
            except ImportError:
                raise LLMConfigError(
                    "the transformers provider needs the 'local' extra (uv sync --extra local)"
                ) from None
            classes = {
                "qwen2_5_omni": ("Qwen2_5OmniForConditionalGeneration", "Qwen2_5OmniProcessor"),
                "qwen3_omni": ("Qwen3OmniMoeForConditionalGeneration", "Qwen3OmniMoeProcessor"),
                "gemma3n": ("AutoModelForImageTextToText", "AutoProcessor"),
            }[self.family]
            model_cls, proc_cls = (getattr(transformers, name) for name in classes)
            kwargs: dict[str, Any] = {"dtype": self.dtype}
            if self.device_map != "cpu":  # where a model loads anyway; a device map needs accelerate
                kwargs["device_map"] = self.device_map
            if self.attn_implementation:
                kwargs["attn_implementation"] = self.attn_implementation
            try:
                self._processor = proc_cls.from_pretrained(self.repo_id, revision=self.revision)
            except ImportError as exc:  # transformers 5.x: the Qwen-Omni processors need torchvision
                hint = " (install the torchvision that matches your torch)" if "torchvision" in str(exc) else ""
                raise LLMConfigError(f"cannot load the processor of {self.repo_id}: {first_line(exc)}{hint}") from None
            except (OSError, ValueError) as exc:
                raise LLMConfigError(f"cannot load {self.repo_id}: {exc}") from None
            try:
                model = model_cls.from_pretrained(self.repo_id, revision=self.revision, **kwargs)
            except (OSError, ValueError) as exc:
                raise LLMConfigError(f"cannot load {self.repo_id}: {exc}") from None
            if hasattr(model, "disable_talker"):
                model.disable_talker()  # text output only; saves ~10 GB on Qwen3-Omni
            self._model = model.eval()
        return self._model, self._processor

    def _generate(self, messages: list[Message], sampling: Sampling) -> Completion:
        conversation, audios = build_conversation(messages)
        with self._lock:
            # Imported under the lock: transformers replaces its module in sys.modules while it is
            # first imported, and a second thread importing it then gets the stale, empty one.
            import torch
            import transformers

            model, processor = self._load()
            text = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
            inputs = processor(text=text, audio=audios or None, return_tensors="pt", padding=True)
            inputs = inputs.to(model.device)
            if sampling.seed is not None:
                transformers.set_seed(sampling.seed)
            text_model = getattr(model, "thinker", model)  # the Qwen-Omni thinker generates the text
            with torch.inference_mode():
                out = text_model.generate(**inputs, **generation_kwargs(sampling))
            ids = out[0] if isinstance(out, tuple) else getattr(out, "sequences", out)
            n_in = inputs["input_ids"].shape[1]
            new = ids[:, n_in:]
            reply = processor.batch_decode(new, skip_special_tokens=True)[0]
        return Completion(text=reply.strip(), usage=Usage(int(n_in), int(new.shape[1])), attempts=1)

    async def _complete(
        self, messages: list[Message], sampling: Sampling, schema: type[BaseModel] | None
    ) -> Completion:
        return await asyncio.to_thread(self._generate, messages, sampling)
