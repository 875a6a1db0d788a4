"""``lalm-bench similarity`` end to end: check everything, run the probe, write all outputs, report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lalm_bench.io import OutputOptions, OutputSet, check_outputs
from lalm_bench.similarity.config import SimilarityConfig
from lalm_bench.similarity.run import SimilarityResult, run_similarity

if TYPE_CHECKING:
    from lalm_bench.embeddings.encoder import Embedder


def similarity_command(
    config: SimilarityConfig, output: OutputOptions, *, embedder: Embedder | None = None
) -> SimilarityResult:
    """Validate before any work, run, write the JSON (and plot) all or nothing, print a summary."""
    from lalm_bench.embeddings.options import check_embedding_options

    check_outputs(
        {"--output": output.path, "--plot": output.plot},
        inputs=[
            p
            for p in (
                config.noise_file,
                config.audio_file,
                config.noise_file_2,
                config.mismatched_file,
                config.audio_file_2,
                *config.noise_repeats,
                *(path for _, path in config.controls),
            )
            if p is not None
        ],
        overwrite=output.overwrite,
    )
    if embedder is None:
        check_embedding_options(config.embedding)
    result = run_similarity(config, embedder=embedder, progress=not output.quiet)
    doc = result.to_json()
    with OutputSet() as out:
        out.json(output.path, doc)
        if output.plot:
            from lalm_bench.similarity.report import plot_similarity

            with out.open(output.plot, "wb") as fh:
                plot_similarity(doc, fh)
    if not output.quiet:
        from lalm_bench.similarity.report import print_summary

        print_summary(doc)
        print(f"wrote {output.path}" + (f" and {output.plot}" if output.plot else ""))
    return result
