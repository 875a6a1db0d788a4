"""Encoding texts: each distinct text once, length-sorted batches, normalized, truncation counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench.embeddings.model import (
    ModelRef,
    load_sentence_transformer,
    resolve_device,
    resolve_model,
)
from lalm_bench.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass
class EncodeResult:
    """Embeddings aligned with the input texts, plus what happened while encoding them."""

    embeddings: np.ndarray  # (n_inputs, dim) float32, L2-normalized
    token_counts: np.ndarray  # (n_inputs,) tokens incl. special tokens, before truncation
    max_seq_length: int
    n_unique: int

    @property
    def truncated(self) -> np.ndarray:
        """Boolean mask of the inputs longer than ``max_seq_length`` (the encoder saw a prefix)."""
        return self.token_counts > self.max_seq_length

    @property
    def n_truncated(self) -> int:
        return int(self.truncated.sum())

    def truncation_report(self) -> dict[str, Any]:
        return {
            "inputs": len(self.token_counts),
            "unique_texts": self.n_unique,
            "truncated": self.n_truncated,
            "max_seq_length": self.max_seq_length,
            "max_tokens": int(self.token_counts.max()) if len(self.token_counts) else 0,
        }


@dataclass
class Embedder:
    """A sentence-transformers encoder that loads its model only when it must encode.

    ``model`` is a hub repo id or a local folder; ``max_seq_length`` defaults to the model's own.
    """

    model: str
    revision: str | None = None
    device: str = "auto"
    batch_size: int = 64
    max_seq_length: int | None = None
    backend: str = "torch"
    progress: bool = True
    ref: ModelRef = field(init=False)
    _st: SentenceTransformer | None = field(default=None, init=False, repr=False)
    _device: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            from lalm_bench.errors import InputError

            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")
        self.ref = resolve_model(self.model, self.revision)

    @property
    def st(self) -> SentenceTransformer:
        if self._st is None:
            self._device = resolve_device(self.device)
            self._st = load_sentence_transformer(self.ref, self._device, self.backend, self.max_seq_length)
        return self._st

    def info(self) -> dict[str, Any]:
        """Model identity for manifests (name, path, revision, device, backend, max_seq_length, dim)."""
        info = self.ref.to_dict()
        info.update(backend=self.backend, batch_size=self.batch_size, normalized=True)
        if self._st is not None:
            info.update(
                device=self._device,
                max_seq_length=int(self._st.max_seq_length),
                dimension=int(self._st.get_sentence_embedding_dimension() or 0),
            )
        return info

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Token counts (special tokens included) without truncation."""
        import transformers

        tok = self.st.tokenizer
        counts = np.zeros(len(texts), dtype=np.int64)
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # silence "sequence longer than max" warnings
        try:
            for start in range(0, len(texts), 1024):
                chunk = list(texts[start : start + 1024])
                ids = tok(chunk, add_special_tokens=True, truncation=False)["input_ids"]
                counts[start : start + len(chunk)] = [len(x) for x in ids]
        finally:
            transformers.logging.set_verbosity(verbosity)
        return counts

    def encode(self, texts: Sequence[str], desc: str = "embedding") -> EncodeResult:
        """Encode ``texts`` (each distinct text once), returning normalized embeddings in input order."""
        texts = [str(t) for t in texts]
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        unique_list: list[str] = [str(u) for u in unique]
        st = self.st
        counts = self.count_tokens(unique_list)
        vectors = self._encode_unique(unique_list, counts, desc)
        return EncodeResult(
            embeddings=vectors[inverse],
            token_counts=counts[inverse],
            max_seq_length=int(st.max_seq_length),
            n_unique=len(unique_list),
        )

    def _encode_unique(self, texts: list[str], token_counts: np.ndarray, desc: str) -> np.ndarray:
        st = self.st
        dim = int(st.get_sentence_embedding_dimension() or 0)
        out = np.zeros((len(texts), dim), dtype=np.float32)
        if not texts:
            return out
        # Longest first: similar lengths share a batch (less padding), and memory peaks early.
        order = np.argsort(-np.minimum(token_counts, st.max_seq_length), kind="stable")
        step = self.batch_size * 8
        with progress_bar(self.progress, desc, len(texts), unit="texts") as advance:
            for start in range(0, len(order), step):
                idx = order[start : start + step]
                emb = st.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                out[idx] = emb.astype(np.float32, copy=False)
                advance(len(idx))
        return out
