"""Embedding layer: sentence-transformers models by hub name or local path, encoded once per text.

Importing the package is cheap (the CLI imports :mod:`.options`); numpy and the model code load
when :class:`Embedder` and friends are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lalm_bench.embeddings.devices import resolve_device
    from lalm_bench.embeddings.encoder import Embedder, EncodeResult
    from lalm_bench.embeddings.model import ModelRef, resolve_model

__all__ = ["Embedder", "EncodeResult", "ModelRef", "resolve_device", "resolve_model"]
_HOME = {
    "Embedder": "encoder",
    "EncodeResult": "encoder",
    "ModelRef": "model",
    "resolve_device": "devices",
    "resolve_model": "model",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"lalm_bench.embeddings.{_HOME[name]}"), name)
    raise AttributeError(f"module 'lalm_bench.embeddings' has no attribute {name!r}")
