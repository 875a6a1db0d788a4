"""Seed-compatible path of the listening probe; a thin wrapper over ``lalm-bench similarity``.

    uv run python projects/audio_similarity/calculate_similarity.py \\
        --model BAAI/bge-base-en-v1.5 --batch-size 64 \\
        --noise-file predictions_with_noise.parquet --audio-file predictions_with_audio.parquet \\
        --output similarity_results.json

Every option of ``lalm-bench similarity`` is accepted (see ``--help``).
"""

from __future__ import annotations

import sys

from lalm_bench.cli import main

if __name__ == "__main__":
    main(["similarity", *sys.argv[1:]])
