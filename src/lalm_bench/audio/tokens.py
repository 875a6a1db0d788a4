"""How many prompt tokens an audio encoder makes of a clip: a documented table, matched from the model name.

``predict`` compares the prompt tokens a server reports for an item with audio against the same item
under ``none`` (text only); the difference is what the encoder made of the audio. This table says what
it *should* make of a clip of a given duration, so that an item whose audio was dropped or cut shows.
Every number is read from the processor / feature-extractor code that servers run (vLLM calls the
Hugging Face processors), not from model cards:

==================  ==================  ===============  ===============================================
encoder             tokens              max per clip     source
==================  ==================  ===============  ===============================================
Qwen2-Audio         25 / s (40 ms)      30 s (cut)       transformers ``models/qwen2_audio/
                                                         processing_qwen2_audio.py`` (``__call__``:
                                                         ``input_length = (audio_length - 1) // 2 + 1``;
                                                         ``num_audio_tokens = (input_length - 2) // 2 + 1``
                                                         over mel frames at 100/s; the feature extractor is
                                                         called with ``padding="max_length"`` and
                                                         ``WhisperFeatureExtractor.__call__``'s default
                                                         ``truncation=True``, ``max_length = chunk_length
                                                         (30) * sampling_rate``: ``models/whisper/
                                                         feature_extraction_whisper.py``)
Qwen2.5-Omni        25 / s (40 ms)      30 s (cut)       transformers ``models/qwen2_5_omni/
                                                         processing_qwen2_5_omni.py`` (same two formulas;
                                                         ``audio_kwargs`` force ``padding="max_length"``,
                                                         truncation left at Whisper's default); vLLM's
                                                         ``model_executor/models/qwen2_5_omni_thinker.py``
                                                         calls this processor with no ``truncation``
                                                         override
Qwen3-Omni          13 / s (~77 ms)     none             transformers ``models/qwen3_omni_moe/
                                                         processing_qwen3_omni_moe.py``
                                                         (``_get_feat_extract_output_lengths``: 13 tokens
                                                         per 100 mel frames plus the remainder's
                                                         3x-halved length; ``audio_kwargs``
                                                         ``truncation=False``)
Gemma 3n            188 per clip        30 s (cut)       transformers ``models/gemma3n/
                    (~6.25 / s at 30 s)                  processing_gemma3n.py`` (``audio_seq_length=188``
                                                         soft tokens for every clip, whatever its length) and
                                                         ``feature_extraction_gemma3n.py`` (``max_length=
                                                         480_000`` samples at 16 kHz, ``truncation=True``)
Voxtral             375 per started     none (30-40      transformers ``models/voxtral/processing_voxtral.py``
                    30 s (12.5 / s)     min by design)   (audio padded to a multiple of 480000 samples,
                                                         ``truncation=False``, split in 3000-frame chunks;
                                                         375 ``[AUDIO]`` tokens per chunk)
mock/*              25 / s              none             this package's ``llm/mock.py`` (the demo models)
==================  ==================  ===============  ===============================================

A server adds a few fixed tokens per clip around the audio tokens (``<|audio_bos|>``/``<|audio_eos|>``,
Qwen2-Audio's ``Audio 1: `` prefix, Gemma's ``<start_of_audio>``, blank lines): :data:`SPECIAL_TOKENS_PER_CLIP`
is the slack allowed for them. Kimi-Audio is not in the table: no processor code we could check (its
encoder is Whisper-based at 12.5 frames/s per its report; pass ``--audio-tokens-per-second`` for it).

Per-clip maxima are the processors' own truncation: a longer clip is cut by the model's input code itself,
so the model never hears the rest (the known trap of Qwen2-Audio, Qwen2.5-Omni and Gemma 3n at 30 s).
For Gemma 3n the token count does not depend on the duration, so only a drop (not a cut) shows in the
prompt tokens; its 30 s cut is known from this table alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: Mel frames per second of the Whisper-style feature extractors (hop 160 samples at 16 kHz).
MEL_FRAMES_PER_SECOND = 100
#: Fixed tokens a server may add around each clip's audio tokens (bos/eos markers, template text).
SPECIAL_TOKENS_PER_CLIP = 8


def _frames(seconds: float) -> int:
    return math.floor(seconds * MEL_FRAMES_PER_SECOND + 1e-9)


def _qwen2_tokens(seconds: float) -> int:
    """Qwen2-Audio / Qwen2.5-Omni: two halvings of the mel-frame count (see the module table)."""
    frames = _frames(seconds)
    if frames <= 0:
        return 0
    conv = (frames - 1) // 2 + 1
    return (conv - 2) // 2 + 1


def _qwen3_tokens(seconds: float) -> int:
    """Qwen3-Omni: 13 tokens per full 100 frames, plus three halvings of the remainder."""
    frames = _frames(seconds)
    rest = frames % 100
    feat = (rest - 1) // 2 + 1
    return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (frames // 100) * 13


@dataclass(frozen=True)
class AudioEncoder:
    """One encoder's token count per clip (``tokens``), matched from model names by ``patterns``."""

    name: str
    patterns: tuple[str, ...]  # case-insensitive regular expressions searched in the model name
    tokens_per_second: float  # the nominal rate (for people; :meth:`tokens` is exact)
    max_seconds: float | None  # the processor cuts each clip here; None: no cut
    fixed_tokens: int | None = None  # tokens per clip whatever its duration (Gemma 3n)
    block_seconds: float | None = None  # tokens come per started block (Voxtral: 375 per 30 s)
    formula: str = "rate"  # rate | qwen2 | qwen3
    source: str = ""

    def tokens(self, seconds: float, *, cut: bool = False) -> float:
        """Audio tokens for one clip of ``seconds``; ``cut``: as the processor cuts it (at :attr:`max_seconds`)."""
        if seconds <= 0:
            return 0.0
        if cut and self.max_seconds is not None:
            seconds = min(seconds, self.max_seconds)
        if self.fixed_tokens is not None:
            return float(self.fixed_tokens)
        if self.block_seconds is not None:
            blocks = math.ceil(seconds / self.block_seconds - 1e-9)
            return float(blocks * round(self.tokens_per_second * self.block_seconds))
        if self.formula == "qwen2":
            return float(_qwen2_tokens(seconds))
        if self.formula == "qwen3":
            return float(_qwen3_tokens(seconds))
        return self.tokens_per_second * seconds

    @property
    def shows_cuts(self) -> bool:
        """Whether a cut clip costs fewer tokens (not so for a fixed count per clip)."""
        return self.fixed_tokens is None and self.block_seconds is None

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "tokens_per_second": self.tokens_per_second,
            "max_seconds": self.max_seconds,
            "fixed_tokens": self.fixed_tokens,
            "block_seconds": self.block_seconds,
            "source": self.source,
        }


_TF = "https://github.com/huggingface/transformers/blob/main/src/transformers/models/"
ENCODERS: tuple[AudioEncoder, ...] = (
    AudioEncoder(
        "Qwen2.5-Omni",
        (r"qwen2[._-]?5[._-]?omni",),
        25.0,
        30.0,
        formula="qwen2",
        source=_TF + "qwen2_5_omni/processing_qwen2_5_omni.py (Qwen2_5OmniProcessor.__call__)",
    ),
    AudioEncoder(
        "Qwen3-Omni",
        (r"qwen3[._-]?omni",),
        13.0,
        None,
        formula="qwen3",
        source=_TF + "qwen3_omni_moe/processing_qwen3_omni_moe.py (_get_feat_extract_output_lengths)",
    ),
    AudioEncoder(
        "Qwen2-Audio",
        (r"qwen2[._-]?audio",),
        25.0,
        30.0,
        formula="qwen2",
        source=_TF + "qwen2_audio/processing_qwen2_audio.py (Qwen2AudioProcessor.__call__) and "
        "whisper/feature_extraction_whisper.py (truncation=True, 30 s)",
    ),
    AudioEncoder(
        "Gemma 3n",
        (r"gemma[._-]?3n",),
        188 / 30,
        30.0,
        fixed_tokens=188,
        source=_TF + "gemma3n/processing_gemma3n.py (audio_seq_length=188) and feature_extraction_gemma3n.py "
        "(max_length=480_000, truncation=True)",
    ),
    AudioEncoder(
        "Voxtral",
        (r"voxtral",),
        12.5,
        None,
        block_seconds=30.0,
        source=_TF + "voxtral/processing_voxtral.py (pad_to_multiple_of=480000, truncation=False; 375 tokens "
        "per 30 s chunk)",
    ),
    AudioEncoder(
        "lalm-bench mock models",
        (r"^mock/",),
        25.0,
        None,
        source="src/lalm_bench/llm/mock.py (AUDIO_TOKENS_PER_SECOND = 25)",
    ),
)


def encoder_for(model: str, *, tokens_per_second: float | None = None) -> AudioEncoder | None:
    """The encoder of ``model`` (hub or served name, with or without a ``provider/`` prefix; matched
    case-insensitively), or an explicit rate (``--audio-tokens-per-second``) that overrides the table.
    ``None`` when neither is known."""
    if tokens_per_second is not None:
        return AudioEncoder(
            "given rate", (), float(tokens_per_second), None, source="--audio-tokens-per-second (no per-clip maximum)"
        )
    for enc in ENCODERS:
        if any(re.search(p, model, re.IGNORECASE) for p in enc.patterns):
            return enc
    return None
