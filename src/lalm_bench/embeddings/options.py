"""Building an :class:`Embedder` from a job's configuration."""

from __future__ import annotations

from typing import Any

from lalm_bench.embeddings.encoder import Embedder


def embedder_from_config(config: Any, *, revision: str | None, progress: bool = True) -> Embedder:
    """The Embedder a job config asks for.

    ``config`` carries the embedding settings every job shares (``model``, ``device``, ``batch_size``,
    ``max_seq_length``, ``backend``, ``precision``, ``cache_dir``, ``use_cache``); ``revision`` is passed
    apart because jobs name the model revision differently (a dataset may have one too).
    """
    return Embedder(
        config.model,
        revision=revision,
        device=config.device,
        batch_size=config.batch_size,
        max_seq_length=config.max_seq_length,
        backend=config.backend,
        precision=config.precision,
        cache_dir=config.cache_dir,
        use_cache=config.use_cache,
        progress=progress,
    )
