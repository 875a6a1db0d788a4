"""Settings of ``rubrics compare`` (recorded verbatim in the manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.manifest import config_parameters

DEFAULT_MODEL = "BAAI/bge-base-en-v1.5"  # as `similarity`


@dataclass(frozen=True)
class CompareConfig:
    """Two or more rubrics (paths as given: they are the labels), the matching threshold, the embedder."""

    inputs: tuple[str, ...] = ()
    threshold: str = "auto"  # "auto": calibrated for the model on the shipped paraphrase set; else a cosine
    embedding: EmbeddingOptions = field(default_factory=lambda: EmbeddingOptions(model=DEFAULT_MODEL))

    def parameters(self) -> dict[str, Any]:
        return config_parameters(self)
