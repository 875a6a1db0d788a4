"""Seeded draws of the audio conditions: one PCG64 generator per purpose and item, derived from SHA-256 of
its key, so noise, shuffles and mismatch pairings are the same in every process and Python version."""

from __future__ import annotations

import hashlib
import json

import numpy as np


def derived_rng(*key: object) -> np.random.Generator:
    """A PCG64 generator seeded from the SHA-256 of ``key`` as canonical JSON (never Python's ``hash()``)."""
    text = json.dumps(["lalm-bench", *key], separators=(",", ":"), ensure_ascii=True)
    entropy = int.from_bytes(hashlib.sha256(text.encode("ascii")).digest(), "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def item_rng(seed: int, item_id: str, index: int = 0) -> np.random.Generator:
    """The noise generator of file ``index`` of item ``item_id`` under run ``seed``.

    Seeded from SHA-256 of ``["lalm-bench", "noise/v1", seed, item_id, index]`` as JSON, so it is the same
    in every process and Python version. (NumPy keeps the PCG64 bit stream stable; it does not promise
    that ``standard_normal`` draws from it identically in every NumPy release: record the NumPy version.)
    """
    return derived_rng("noise/v1", int(seed), str(item_id), int(index))
