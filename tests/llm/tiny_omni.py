"""Tiny random-weight models of the real Qwen2.5-Omni, Qwen3-Omni and Gemma 3n classes, built from their
configs with a tokenizer trained here and the real feature extractors and processors, saved as a model
folder (nothing is downloaded).

The shapes are what the real checkpoints use (128 mel bins at 16 kHz, the special tokens of the real chat
templates, ``spk_dict.pt`` beside Qwen2.5-Omni, Gemma 3n's vocabulary layout); only the sizes are tiny
(one or two layers, hidden size 32)."""

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


_GEMMA_TEMPLATE = (
    "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = (messages[0]['content'] if messages[0]['content'] is string "
    "else messages[0]['content'][0]['text']) + '\n\n' -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "<start_of_turn>{{ role }}\n{{ first_user_prefix if loop.first else '' }}"
    "{%- if message['content'] is string -%}{{ message['content'] | trim }}{%- else -%}"
    "{%- for item in message['content'] -%}{%- if item['type'] == 'audio' -%}<audio_soft_token>"
    "{%- elif item['type'] == 'image' -%}<image_soft_token>{%- elif item['type'] == 'text' -%}{{ item['text'] | trim }}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}<end_of_turn>\n{%- endfor -%}"
    "{%- if add_generation_prompt -%}<start_of_turn>model\n{%- endif -%}"
)


def build_gemma3n(folder: Path) -> Path:
    """``Gemma3nForConditionalGeneration`` with the real vocabulary layout (text, then 128 vision, then 128 audio
    ids; ``vocab_size`` covers all three, the per-layer embeddings the text part), a tiny text model and audio
    encoder, and a small timm vision tower in place of ``mobilenetv5_300m_enc`` (no images are sent)."""
    import torch
    import transformers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<start_of_audio>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["a dog barks near a river", "rain falls on a tin roof", "user model"], trainer)
    text_vocab = tok.get_vocab_size()
    vision = ["<end_of_image>", "<image_soft_token>"] + [f"<vision_{i}>" for i in range(126)]
    audio = ["<end_of_audio>", "<audio_soft_token>"] + [f"<audio_{i}>" for i in range(126)]
    tok.add_special_tokens([AddedToken(t, special=True) for t in vision + audio])
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        extra_special_tokens={
            "audio_token": "<audio_soft_token>",
            "boa_token": "<start_of_audio>",
            "eoa_token": "<end_of_audio>",
            "image_token": "<image_soft_token>",
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
        },
    )
    ids = tokenizer.convert_tokens_to_ids
    layers = 2
    config = transformers.Gemma3nConfig(
        text_config={
            "vocab_size": text_vocab + 256,
            "vocab_size_per_layer_input": text_vocab,
            "hidden_size": HIDDEN,
            "hidden_size_per_layer_input": 8,
            "intermediate_size": 64,
            "num_hidden_layers": layers,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "num_kv_shared_layers": 0,
            "laurel_rank": 4,
            "altup_num_inputs": 2,
            "activation_sparsity_pattern": [0.0] * layers,
            "layer_types": ["sliding_attention", "full_attention"],
            "sliding_window": 64,
            "pad_token_id": 0,
            "eos_token_id": 1,
            "bos_token_id": 2,
        },
        audio_config={
            "vocab_offset": text_vocab + 128,
            "hidden_size": HIDDEN,
            "conf_num_hidden_layers": 1,
            "conf_num_attention_heads": 2,
            "sscp_conv_channel_size": [8, 8],
        },
        vision_config={"architecture": "mobilenetv3_small_050", "hidden_size": HIDDEN, "vocab_offset": text_vocab},
        boi_token_id=ids("<start_of_image>"),
        eoi_token_id=ids("<end_of_image>"),
        image_token_id=ids("<image_soft_token>"),
        boa_token_id=ids("<start_of_audio>"),
        eoa_token_id=ids("<end_of_audio>"),
        audio_token_id=ids("<audio_soft_token>"),
    )
    torch.manual_seed(0)
    transformers.Gemma3nForConditionalGeneration(config).save_pretrained(folder)
    transformers.Gemma3nProcessor(
        feature_extractor=transformers.Gemma3nAudioFeatureExtractor(),
        image_processor=transformers.SiglipImageProcessor(),
        tokenizer=tokenizer,
        chat_template=_GEMMA_TEMPLATE,
    ).save_pretrained(folder)
    return folder
