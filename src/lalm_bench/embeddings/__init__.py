"""Embedding layer: sentence-transformers models by hub name or local path, encoded once per text."""

from lalm_bench.embeddings.encoder import Embedder, EncodeResult
from lalm_bench.embeddings.model import ModelRef, resolve_device, resolve_model

__all__ = ["Embedder", "EncodeResult", "ModelRef", "resolve_device", "resolve_model"]
