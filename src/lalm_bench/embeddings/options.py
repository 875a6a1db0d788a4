"""The embedding settings every embedding job shares, checked before any work, and the Embedder they build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lalm_bench.errors import InputError

if TYPE_CHECKING:
    from lalm_bench.embeddings.encoder import Embedder


@dataclass(frozen=True)
class EmbeddingOptions:
    """Which sentence-embedding model, where it runs, and the vector cache."""

    model: str = "BAAI/bge-base-en-v1.5"
    model_revision: str | None = None
    device: str = "auto"
    batch_size: int = 64
    max_seq_length: int | None = None
    backend: str = "torch"
    precision: str = "fp32"  # "exact" is the same; "fast" runs the OpenVINO export (embeddings/fast.py)
    cache_dir: Path | None = None
    use_cache: bool = True


def check_embedding_options(options: EmbeddingOptions) -> None:
    """Refuse bad settings in one line before any data is read or model loaded (no torch import for
    ``--device auto`` or ``cpu``)."""
    from lalm_bench.embeddings.backends import check_backend
    from lalm_bench.embeddings.devices import parse_devices
    from lalm_bench.embeddings.model import check_max_seq_length, model_position_limit, resolve_model

    if options.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.max_seq_length is not None and options.max_seq_length < 1:
        raise InputError(f"--max-seq-length must be at least 1, got {options.max_seq_length}")
    check_backend(options.backend, options.precision)
    if options.precision == "fast" and options.model.startswith("mock:"):
        raise InputError(f"--model {options.model} runs without a backend; leave --precision at exact")
    if options.device.strip().lower() not in ("auto", "cpu"):
        parse_devices(options.device)
    ref = resolve_model(options.model, options.model_revision)
    if options.model_revision and (ref.is_local or options.model.startswith(("py:", "mock:"))):
        raise InputError(
            f"--model-revision pins a hub model; {options.model} is a local or packaged model with no revisions"
        )
    # Checked here when the model's config can be read without loading it; else when it loads.
    check_max_seq_length(options.model, options.max_seq_length, model_position_limit(ref))


def build_embedder(options: EmbeddingOptions, *, progress: bool = True) -> Embedder:
    """The :class:`Embedder` the options describe (the model itself loads only when it must encode)."""
    from lalm_bench.embeddings.encoder import Embedder

    return Embedder(
        options.model,
        revision=options.model_revision,
        device=options.device,
        batch_size=options.batch_size,
        max_seq_length=options.max_seq_length,
        backend=options.backend,
        precision=options.precision,
        cache_dir=options.cache_dir,
        use_cache=options.use_cache,
        progress=progress,
    )
