"""``--model mock:hash``: a tiny deterministic embedder for tests, dry runs and CI (no torch, no download).

Texts are lower-cased and split into words and punctuation; every word and word bigram is hashed
(BLAKE2b) into one of ``dim`` signed buckets, and the sum is L2-normalised. Texts that share words
get similar vectors, unrelated texts nearly orthogonal ones, so probes behave sensibly while the
numbers mean nothing about language. ``mock:hash-64`` picks the dimension (default 256).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

PREFIX = "mock:"
VERSION = "hash-v1"
DEFAULT_DIM = 256
_TOKEN = re.compile(r"\w+|[^\w\s]")
_NAME = re.compile(r"^mock:hash(?:-(\d+))?$")


def is_mock(name: str) -> bool:
    return name.startswith(PREFIX)


def parse_mock(name: str) -> int:
    """The dimension a ``mock:hash[-DIM]`` name asks for; ``ValueError`` for other mock names."""
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"unknown mock embedder {name!r} (use mock:hash or mock:hash-DIM)")
    dim = int(m.group(1) or DEFAULT_DIM)
    if not 8 <= dim <= 4096:
        raise ValueError(f"mock embedder dimension must be between 8 and 4096, got {dim}")
    return dim


class _Tokenizer:
    def __init__(self, encoder: MockEncoder) -> None:
        self.encoder = encoder

    def __call__(self, texts: Sequence[str], **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [[0] * self.encoder.token_count(t) for t in texts]}


class MockEncoder:
    """The subset of ``SentenceTransformer`` the embedding layer uses."""

    def __init__(self, name: str, max_seq_length: int | None = None) -> None:
        self.name = name
        self.dim = parse_mock(name)
        self.max_seq_length = int(max_seq_length or 256)
        self.tokenizer = _Tokenizer(self)

    @staticmethod
    def tokens(text: str) -> list[str]:
        return _TOKEN.findall(text.lower())

    def token_count(self, text: str) -> int:
        return len(self.tokens(text)) + 2  # like [CLS] ... [SEP]

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray([self.token_count(t) for t in texts], dtype=np.int64)

    def get_embedding_dimension(self) -> int:
        return self.dim

    def _vector(self, text: str) -> np.ndarray:
        words = self.tokens(text)[: self.max_seq_length - 2]
        feats = words + [f"{a} {b}" for a, b in itertools.pairwise(words)] or [""]
        vec = np.zeros(self.dim, dtype=np.float64)
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0:  # bigrams cancelled the words out: fall back to the first word's bucket
            vec[0] = 1.0
            norm = 1.0
        return vec / norm

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)
