"""``--model mock:hash``: a deterministic embedder that needs neither torch nor a download."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from lalm_bench.embeddings import Embedder
from lalm_bench.errors import InputError


def test_vectors_are_deterministic_normalised_and_word_sensitive():
    e = Embedder("mock:hash", use_cache=False, progress=False)
    r = e.encode(["a dog barks", "A dog barks!", "rain on a tin roof", "a dog barks"])
    emb = r.embeddings
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-6)
    assert r.n_unique == 3 and np.array_equal(emb[0], emb[3])
    sims = emb @ emb.T
    assert sims[0, 1] > 0.7 > 0.3 > sims[0, 2]
    assert Embedder("mock:hash-64", use_cache=False, progress=False).encode(["x"]).embeddings.shape == (1, 64)


def test_unknown_mock_names_are_one_line_errors():
    with pytest.raises(InputError, match="unknown mock embedder"):
        Embedder("mock:bert", progress=False)


def test_similarity_runs_on_the_mock_embedder_without_torch(tmp_path):
    out = tmp_path / "r.json"
    code = (
        "import sys; from lalm_bench.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "similarity", "--model", "mock:hash", "-o", str(out), "-q", "--bootstrap", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["overall"]["count"] == 64 and result["manifest"]["model"]["name"] == "mock:hash"
