"""Tiny random-weight models of the real Qwen-Omni classes, built from their configs with a tokenizer
trained here and the real feature extractor, saved as a model folder (nothing is downloaded).

The shapes are what the real checkpoints use (128 mel bins at 16 kHz, the special tokens of the real
chat templates, ``spk_dict.pt`` beside Qwen2.5-Omni); only the sizes are tiny (one layer, hidden size 32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The chat templates of the real checkpoints, for what an audio request uses (text and audio parts).
_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}AUDIO_SPAN"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOKENS = {
    "qwen2_5_omni": {
        "audio_token": "<|AUDIO|>",
        "audio_bos_token": "<|audio_bos|>",
        "audio_eos_token": "<|audio_eos|>",
        "image_token": "<|IMAGE|>",
        "video_token": "<|VIDEO|>",
        "vision_bos_token": "<|vision_bos|>",
        "vision_eos_token": "<|vision_eos|>",
    },
    "qwen3_omni": {
        "audio_token": "<|audio_pad|>",
        "audio_bos_token": "<|audio_start|>",
        "audio_eos_token": "<|audio_end|>",
        "image_token": "<|image_pad|>",
        "video_token": "<|video_pad|>",
        "vision_bos_token": "<|vision_start|>",
        "vision_eos_token": "<|vision_end|>",
    },
}
HIDDEN = 32


def _tokenizer(family: str) -> Any:
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    extra = TOKENS[family]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *extra.values()]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["a dog barks near a river", "rain falls on a tin roof", "system user assistant"], trainer)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", extra_special_tokens=extra
    )


def _processor(family: str, tokenizer: Any) -> Any:
    import transformers

    extra = TOKENS[family]
    span = extra["audio_bos_token"] + extra["audio_token"] + extra["audio_eos_token"]
    cls = transformers.Qwen2_5OmniProcessor if family == "qwen2_5_omni" else transformers.Qwen3OmniMoeProcessor
    return cls(
        image_processor=transformers.Qwen2VLImageProcessor(),
        video_processor=transformers.Qwen2VLVideoProcessor(),
        feature_extractor=transformers.WhisperFeatureExtractor(feature_size=128, sampling_rate=16_000),
        tokenizer=tokenizer,
        chat_template=_TEMPLATE.replace("AUDIO_SPAN", span),
    )


def _ids(tokenizer: Any, family: str) -> dict[str, int]:
    return {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in TOKENS[family].items()}


def build_qwen2_5_omni(folder: Path) -> Path:
    """``Qwen2_5OmniForConditionalGeneration`` with a tiny thinker (talker off, as after ``disable_talker``)."""
    import torch
    import transformers

    tokenizer = _tokenizer("qwen2_5_omni")
    ids = _ids(tokenizer, "qwen2_5_omni")
    thinker = transformers.Qwen2_5OmniThinkerConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        },
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 32,
            "output_dim": HIDDEN,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 32,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": HIDDEN,
            "fullatt_block_indexes": [0],
        },
        audio_token_index=ids["audio_token"],
        image_token_index=ids["image_token"],
        video_token_index=ids["video_token"],
        audio_start_token_id=ids["audio_bos_token"],
        audio_end_token_id=ids["audio_eos_token"],
        vision_start_token_id=ids["vision_bos_token"],  # not a declared field, but in the real config.json
        vision_end_token_id=ids["vision_eos_token"],
    )
    config = transformers.Qwen2_5OmniConfig(thinker_config=thinker.to_dict(), enable_audio_output=False)
    torch.manual_seed(0)
    transformers.Qwen2_5OmniForConditionalGeneration(config).save_pretrained(folder)
    _processor("qwen2_5_omni", tokenizer).save_pretrained(folder)
    # from_pretrained insists on the speaker file the real checkpoint ships
    torch.save({"Chelsie": {"cond": torch.zeros(1), "ref_mel": torch.zeros(1), "bos_token": 0}}, folder / "spk_dict.pt")
    return folder


def build_qwen3_omni(folder: Path) -> Path:
    """``Qwen3OmniMoeForConditionalGeneration`` with a tiny mixture-of-experts thinker (talker off)."""
    import torch
    import transformers

    tokenizer = _tokenizer("qwen3_omni")
    ids = _ids(tokenizer, "qwen3_omni")
    thinker = transformers.Qwen3OmniMoeThinkerConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": HIDDEN,
            "intermediate_size": 64,
            "moe_intermediate_size": 16,
            "num_experts": 2,
            "num_experts_per_tok": 1,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 3, 3],
                "interleaved": True,
            },
        },
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 32,
            "d_model": 32,
            "output_dim": HIDDEN,
            "downsample_hidden_size": 8,
        },
        vision_config={
            "depth": 1,
            "hidden_size": 32,
            "intermediate_size": 32,
            "num_heads": 2,
            "out_hidden_size": HIDDEN,
            "deepstack_visual_indexes": [0],
        },
        audio_token_id=ids["audio_token"],
        image_token_id=ids["image_token"],
        video_token_id=ids["video_token"],
        audio_start_token_id=ids["audio_bos_token"],
        vision_start_token_id=ids["vision_bos_token"],
    )
    config = transformers.Qwen3OmniMoeConfig(thinker_config=thinker.to_dict(), enable_audio_output=False)
    torch.manual_seed(0)
    transformers.Qwen3OmniMoeForConditionalGeneration(config).save_pretrained(folder)
    _processor("qwen3_omni", tokenizer).save_pretrained(folder)
    return folder
