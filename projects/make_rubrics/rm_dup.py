"""Seed-compatible ``rm_dup.py``: the last record of each run file, i.e. ``lalm-bench rubrics collect``.

``uv run python projects/make_rubrics/rm_dup.py --src-dir stoch --dst-dir stoch_new [--pattern '*.json']
[--wrap-list] [--overwrite]``; without ``--src-dir`` / ``--dst-dir`` it uses ``stoch`` and ``stoch_new``
next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_argv(argv: list[str]) -> list[str]:
    args = ["rubrics", "collect"]
    for flags, default in ((("--src-dir",), HERE / "stoch"), (("--dst-dir", "-o", "--output"), HERE / "stoch_new")):
        if not any(a == f or a.startswith(f + "=") for a in argv for f in flags):
            args += [flags[0], str(default)]
    return args + argv


if __name__ == "__main__":
    from lalm_bench.cli import main

    main(build_argv(sys.argv[1:]))
