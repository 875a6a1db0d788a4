"""Seed-compatible entry point: ``uv run python projects/make_rubrics/run.py [options]``.

The same as ``lalm-bench rubrics generate`` (all its options work), with the seed's defaults:
Clotho is read from the Hugging Face cache under ``$HF_HOME`` (``$HF_HOME/hub``, default
``~/.cache/huggingface/hub``; ``--csv`` overrides), run folders ``deter/`` and ``stoch/`` are written
next to this file, and without ``--audio-model`` / ``--baseline-file`` the seed's model,
Qwen3-Omni, is used on the OpenAI-compatible server at ``$OPENAI_BASE_URL`` (default
``http://localhost:8000/v1``, where ``vllm serve`` listens).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED_MODEL = "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct"
VLLM_URL = "http://localhost:8000/v1"


def _given(flag: str, argv: list[str]) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def build_argv(argv: list[str]) -> list[str]:
    args = ["rubrics", "generate"]
    if not _given("--output-dir", argv):
        args += ["--output-dir", str(HERE)]
    if not _given("--audio-model", argv) and not _given("--baseline-file", argv):
        args += ["--audio-model", SEED_MODEL]
    if not _given("--base-url", argv) and not os.environ.get("OPENAI_BASE_URL"):
        args += ["--base-url", VLLM_URL]
    return args + argv


if __name__ == "__main__":
    from lalm_bench.cli import main

    if os.environ.get("HF_HOME") and not os.environ.get("HF_HUB_CACHE"):
        print(f"looking for Clotho under HF_HOME={os.environ['HF_HOME']}", file=sys.stderr)
    main(build_argv(sys.argv[1:]))
