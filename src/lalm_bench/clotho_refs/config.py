"""Settings of one ``clotho-refs`` run (recorded verbatim in the manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.manifest import DEFAULT_SEED, config_parameters

DEFAULT_MODEL = "BAAI/bge-m3"
CHANCE_CAP = 100_000


@dataclass(frozen=True)
class ClothoRefsConfig:
    """Where the captions come from, the embedding model, and the outlier and statistics settings."""

    split: str | None = None  # Clotho split; for other tables a free label for the output names
    csv: Path | None = None  # bypasses the hub cache
    dataset_revision: str | None = None  # snapshot in the hub cache
    clip_column: str = "file_name"
    caption_column: str | None = None  # set for long tables (one caption per row)
    name: str | None = None  # output prefix; "clotho" for Clotho, else the CSV stem
    embedding: EmbeddingOptions = field(default_factory=lambda: EmbeddingOptions(model=DEFAULT_MODEL, batch_size=128))
    z_threshold: float = 2.0
    chance_quantile: float = 0.5  # pairs below this quantile of the chance distribution are flagged
    caption_rule: Literal["split", "clip"] = "split"  # z over the split's caption means, or within-clip (loo)
    bootstrap: int = 1000
    seed: int = DEFAULT_SEED
    chance_cap: int = CHANCE_CAP

    def parameters(self) -> dict[str, Any]:
        return config_parameters(self)
