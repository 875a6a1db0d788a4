"""Embedding layer: sentence-transformers models by hub name or local path, encoded once per text."""

from lalm_bench.embeddings.encoder import EncodeResult, Embedder
from lalm_bench.embeddings.model import ModelRef, resolve_device, resolve_model

__all__ = ["EncodeResult", "Embedder", "ModelRef", "resolve_device", "resolve_model"]
