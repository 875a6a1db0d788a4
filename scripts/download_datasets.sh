#!/usr/bin/env bash
# Download Clotho v2.1 (woongvy/clotho-v2.1) into the Hugging Face hub cache and extract it there.
# Extra arguments go to `lalm-bench data download clotho` (e.g. --revision REV, --captions-only).
# A token, if the dataset needs one, comes from --token or the HF_TOKEN environment variable.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v uv >/dev/null 2>&1; then
    exec uv run lalm-bench data download clotho "$@"
fi
exec lalm-bench data download clotho "$@"
