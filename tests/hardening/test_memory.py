"""Per-row similarities come from the distinct-text vectors: the memory they take does not grow with
the number of rows (50k rows of 40 distinct texts once peaked at about 1 GB)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from lalm_bench.embeddings.encoder import Embedder


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_row_similarities_take_memory_by_distinct_texts_not_rows(tmp_path):
    embedder = Embedder("mock:hash-1024", use_cache=False, progress=False)
    distinct = [f"answer number {i} about a sound" for i in range(40)]

    def peak(rows: int) -> int:
        texts = [distinct[i % 40] for i in range(2 * rows)]
        enc = embedder.encode(texts)
        idx = np.arange(rows)
        result: list[np.ndarray] = []
        used = _peak_bytes(lambda: result.append(enc.cosines(idx, idx + rows)))
        assert np.allclose(result[0], 1.0) and result[0].max() <= 1.0  # row k and k + rows: the same text
        return used - result[0].nbytes - 4 * idx.nbytes  # the answer and the index arrays grow with rows

    small, large = peak(5_000), peak(100_000)
    # per-row copies of the vectors would take 2 x 100,000 x 1,024 x 4 bytes = 800 MB here
    assert large < small + 40 * 2**20, (small, large)
    assert large < 64 * 2**20
