"""``rubrics collect`` on the terminal: each failed file with its reason, then the counts."""

from __future__ import annotations

import sys

from lalm_bench.rubrics.collect.run import CollectResult


def print_summary(result: CollectResult) -> None:
    for failed, reason in result.failed:
        print(f"failed: {failed}: {reason}", file=sys.stderr)
    c = result.counts()
    print(
        f"{c['processed']} processed, {c['skipped']} skipped, {c['failed']} failed "
        f"({result.matched} files matching {result.pattern} in {result.src_dir}) -> {result.dst_dir}"
    )
    if c["skipped"]:
        print("skipped files exist in the destination; pass --overwrite to replace them")
