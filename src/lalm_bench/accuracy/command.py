"""``lalm-bench accuracy`` end to end: check everything, read and score, write all outputs, report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.accuracy.config import EXTRACTORS, AccuracyConfig
from lalm_bench.accuracy.run import AccuracyResult, run_accuracy
from lalm_bench.accuracy.scoring import NEEDS_AUDIO, OLD_LABELS, RELIANCE
from lalm_bench.errors import InputError
from lalm_bench.io import OutputOptions, OutputSet, check_outputs

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder
    from lalm_bench.llm.options import ModelFactory

TABLE_SUFFIXES = (".parquet", ".pq", ".csv")


def check_config(
    config: AccuracyConfig, *, items: Path | None = None, subsets: Mapping[str, Path] | None = None
) -> None:
    """Every setting that can be wrong, refused in one line before any file is read or model loaded."""
    config.files()
    if config.extractor not in EXTRACTORS:
        raise InputError(f"--extractor {config.extractor!r}: expected one of {', '.join(EXTRACTORS)}")
    if config.extractor == "llm":
        if not config.llm_model:
            raise InputError("--extractor llm needs --llm-model provider/model (e.g. openai/Qwen/Qwen3-8B)")
        from lalm_bench.llm.registry import parse_model_spec

        parse_model_spec(config.llm_model)
        if config.llm.concurrency < 1:
            raise InputError(f"--concurrency must be at least 1, got {config.llm.concurrency}")
    elif config.llm_model:
        raise InputError(f"--llm-model is used only with --extractor llm (the extractor is {config.extractor})")
    if not -1.0 <= config.min_similarity <= 1.0:
        raise InputError(f"--min-similarity must be a cosine between -1 and 1, got {config.min_similarity}")
    if not 0.0 <= config.min_margin <= 2.0:
        raise InputError(f"--min-margin must be between 0 and 2, got {config.min_margin}")
    if config.bootstrap < 0 or config.seed < 0:
        raise InputError("--bootstrap and --seed must be >= 0")
    if items is not None and Path(items).suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"--items {items}: name a .parquet or .csv file")
    for label in subsets or {}:
        if label == NEEDS_AUDIO:
            if not config.repeats():
                control = next((n for n, _ in config.files()[1:]), "noise")
                raise InputError(
                    f"--subset {NEEDS_AUDIO} needs repeated runs of a control (one run cannot tell an item that "
                    f"needs the audio from a chance flip): add --condition {control}@1=FILE, {control}@2=FILE, … "
                    f"(other seeds or samples of {control}); one run's labels are {', '.join(RELIANCE)}"
                )
        elif label not in RELIANCE and label not in OLD_LABELS:
            raise InputError(f"--subset {label}=…: expected one of {', '.join((*RELIANCE, NEEDS_AUDIO))}")


def parse_subsets(specs: list[str] | None) -> dict[str, Path]:
    """``LABEL=FILE`` pairs of ``--subset`` (a label given twice is refused)."""
    out: dict[str, Path] = {}
    for spec in specs or []:
        label, sep, path = spec.partition("=")
        label = label.strip()
        if not sep or not label or not path.strip():
            raise InputError(f"--subset {spec!r}: expected LABEL=FILE, e.g. right-only-with-audio=ids.txt")
        if label in out:
            raise InputError(f"--subset {label} is given twice")
        out[label] = Path(path.strip())
    return out


def accuracy_command(
    config: AccuracyConfig,
    output: OutputOptions,
    *,
    items: Path | None = None,
    subsets: Mapping[str, Path] | None = None,
    embedder: Embedder | None = None,
    model_factory: ModelFactory | None = None,
) -> AccuracyResult:
    """Validate before any work, run, write the JSON, ``items``, the ``subsets`` id files and the plot all or
    nothing, print a summary. ``subsets`` maps a reliance label (``right-only-with-audio`` …, or ``needs-audio``
    with repeated controls) to an id file: ``.csv``
    or ``.parquet`` holds one column ``id``, any other name one id per line."""
    from lalm_bench.embeddings.options import check_embedding_options

    subsets = dict(subsets or {})
    check_config(config, items=items, subsets=subsets)
    check_outputs(
        {
            "--output": output.path,
            "--items": items,
            **{f"--subset {label}": path for label, path in subsets.items()},
            "--plot": output.plot,
        },
        inputs=[path for _, path in config.files()],
        overwrite=output.overwrite,
    )
    if config.extractor == "embedding" and embedder is None:
        check_embedding_options(config.embedding)
    result = run_accuracy(config, embedder=embedder, model_factory=model_factory, progress=not output.quiet)
    doc = result.to_json()
    with OutputSet() as out:
        out.json(output.path, doc)
        if items is not None:
            out.table(items, result.table())
        for label, path in subsets.items():
            _write_ids(out, path, result.subset(label))
        if output.plot:
            from lalm_bench.accuracy.report import plot_accuracy

            with out.open(output.plot, "wb") as fh:
                plot_accuracy(doc, fh)
    if not output.quiet:
        from lalm_bench.accuracy.report import print_summary

        print_summary(doc)
        written = [str(p) for p in (output.path, items, *subsets.values(), output.plot) if p is not None]
        print("wrote " + ", ".join(written))
    return result


def _write_ids(out: OutputSet, path: Path, ids: list[Any]) -> None:
    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        import pandas as pd

        out.table(path, pd.DataFrame({"id": ids}))
    else:
        with out.open(path) as fh:
            fh.writelines(f"{i}\n" for i in ids)
