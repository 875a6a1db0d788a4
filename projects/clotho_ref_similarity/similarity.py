"""Seed-compatible entry point for the Clotho reference-agreement job.

    uv run python projects/clotho_ref_similarity/similarity.py --split evaluation \
        --model BAAI/bge-m3 --device cuda --batch-size 128

A thin wrapper: it runs ``lalm-bench clotho-refs`` with the same arguments (--split, --model,
--device, --batch-size, and every other option of that command; see ``--help``), which calls
:func:`lalm_bench.clotho_refs.run.clotho_refs_command`. There is no second implementation here.
"""

from __future__ import annotations

import sys

from lalm_bench.cli import main

if __name__ == "__main__":
    main(["clotho-refs", *sys.argv[1:]])
