"""The similarity job end to end: check outputs, run the probe, write files, print a summary."""

from __future__ import annotations

from pathlib import Path

from lalm_bench.io import check_writable, write_json
from lalm_bench.similarity.probe import SimilarityConfig, run_similarity


def similarity_command(
    *,
    output: Path,
    plot: Path | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    **config: object,
) -> dict:
    """What ``lalm-bench similarity`` does; shared by the CLI and the seed-compatible script."""
    outputs = [Path(output)] + ([Path(plot)] if plot else [])
    check_writable(outputs, overwrite)
    cfg = SimilarityConfig(**config)  # type: ignore[arg-type]
    result = run_similarity(cfg, progress=not quiet)
    write_json(output, result)
    if plot:
        from lalm_bench.similarity.report import plot_similarity

        plot_similarity(result, plot)
    if not quiet:
        from lalm_bench.similarity.report import print_summary

        print_summary(result)
        print(f"wrote {output}" + (f" and {plot}" if plot else ""))
    return result
