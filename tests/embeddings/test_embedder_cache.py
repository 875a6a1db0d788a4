"""The Embedder with the cache: warm runs load nothing, keys follow the model, backends agree."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from lalm_bench.embeddings import Embedder
from lalm_bench.embeddings import encoder as encoder_mod
from lalm_bench.errors import InputError

TEXTS = [
    "a dog barks in the distance",
    "rain falls on a tin roof",
    "a dog barks in the distance",
    "birds " * 300,
]


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # the parent package is missing
        return False


HAVE_OPENVINO = _have("optimum.intel")


def _forbid_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(encoder_mod, "load_sentence_transformer", boom)
    monkeypatch.setattr(encoder_mod, "load_openvino", boom)
    import sentence_transformers

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", boom)


def test_cold_then_warm_does_not_load_the_model(minilm_path: Path, cache_dir: Path, monkeypatch) -> None:
    cold = Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False)
    first = cold.encode(TEXTS)
    assert cold.info()["model_loaded"] is True
    assert (cold.cache_hits, cold.cache_misses) == (0, 3)

    _forbid_loading(monkeypatch)
    warm = Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False)
    second = warm.encode(TEXTS)
    assert warm._st is None
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    np.testing.assert_array_equal(first.token_counts, second.token_counts)
    assert second.truncation_report() == first.truncation_report()
    assert second.n_truncated == 1 and second.max_seq_length == 256
    info = warm.info()
    assert info["model_loaded"] is False
    assert info["cache"]["hits"] == 3 and info["cache"]["misses"] == 0
    assert info["max_seq_length"] == 256 and info["dimension"] == 384
    assert info["identity"].startswith("sha256:")


_RUN = """
import json, sys
from lalm_bench.embeddings import Embedder
emb = Embedder(sys.argv[1], device="cpu", cache_dir=sys.argv[2], progress=False)
res = emb.encode(json.loads(sys.argv[3]))
heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules]
print(json.dumps({"emb": res.embeddings.tolist(), "tokens": res.token_counts.tolist(), "info": emb.info(),
                  "heavy": heavy}))
"""


def _run_in_process(model: str, cache_dir: Path, texts: list[str], env: dict) -> dict:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _RUN, model, str(cache_dir), json.dumps(texts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_warm_cache_works_with_the_model_files_gone(minilm_path: Path, cache_dir: Path, tmp_path) -> None:
    """A hub-cache model: after a cold run its weights and tokenizer are deleted; a new process with a
    warm cache still gets the same vectors and token counts, without even importing torch."""
    import os

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--test-org--minilm"
    snap = repo / "snapshots" / commit
    shutil.copytree(minilm_path, snap)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}

    cold = _run_in_process("test-org/minilm", cache_dir, TEXTS, env)
    assert cold["info"]["identity"] == f"rev:{commit}" and cold["info"]["model_loaded"] is True

    for f in snap.iterdir():
        if f.name != "sentence_bert_config.json":
            shutil.rmtree(f) if f.is_dir() else f.unlink()
    warm = _run_in_process("test-org/minilm", cache_dir, TEXTS, env)
    assert warm["info"]["model_loaded"] is False and warm["info"]["cache"]["hits"] == 3
    assert warm["heavy"] == []
    assert warm["emb"] == cold["emb"] and warm["tokens"] == cold["tokens"]
    assert warm["info"]["max_seq_length"] == 256
    with pytest.raises(AssertionError, match="cannot load"):  # proof that the model really is gone
        _run_in_process("test-org/minilm", cache_dir, ["a text never seen"], env)


def test_only_missing_texts_are_encoded(minilm_path: Path, cache_dir: Path) -> None:
    full = Embedder(str(minilm_path), device="cpu", use_cache=False, progress=False).encode([*TEXTS, "cats"])
    Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False).encode(TEXTS[:2])
    part = Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False)
    res = part.encode([*TEXTS, "cats"])
    assert (part.cache_hits, part.cache_misses) == (2, 2)
    np.testing.assert_allclose(res.embeddings, full.embeddings, atol=1e-6)
    np.testing.assert_array_equal(res.token_counts, full.token_counts)


def test_max_seq_length_is_part_of_the_key(minilm_path: Path, cache_dir: Path) -> None:
    Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False).encode(TEXTS)
    short = Embedder(str(minilm_path), device="cpu", max_seq_length=32, cache_dir=cache_dir, progress=False)
    res = short.encode(TEXTS)
    assert short.cache_misses == 3 and res.max_seq_length == 32 and res.n_truncated == 1
    again = Embedder(str(minilm_path), device="cpu", max_seq_length=32, cache_dir=cache_dir, progress=False)
    again.encode(TEXTS)
    assert again.cache_hits == 3 and again._st is None


def test_no_cache_writes_nothing(minilm_path: Path, cache_dir: Path) -> None:
    emb = Embedder(str(minilm_path), device="cpu", use_cache=False, progress=False)
    emb.encode(TEXTS)
    assert not cache_dir.exists()
    assert emb.info()["cache"]["enabled"] is False


def test_unknown_backend_and_precision_are_one_line_errors(minilm_path: Path) -> None:
    with pytest.raises(InputError, match="unknown backend") as err:
        Embedder(str(minilm_path), backend="tensorrt")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="--precision int4"):
        Embedder(str(minilm_path), precision="int4")
    with pytest.raises(InputError, match="not available with --backend torch"):
        Embedder(str(minilm_path), precision="bf16")


def test_missing_extra_names_the_install_command(minilm_path: Path, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "optimum.intel" else real(name, *a)
    )
    with pytest.raises(InputError, match=r"uv sync --extra openvino.*pip install 'lalm-bench\[openvino\]'"):
        Embedder(str(minilm_path), backend="openvino")


@pytest.mark.skipif(
    not HAVE_OPENVINO, reason="openvino extra not installed (uv sync --extra openvino --no-group current)"
)
def test_openvino_matches_torch_on_real_texts(minilm_path: Path, shared_data: Path, cache_dir: Path) -> None:
    import pandas as pd

    caps = pd.read_csv(shared_data / "clotho" / "clotho_captions_evaluation.csv", dtype=str, keep_default_na=False)
    answers = pd.read_parquet(shared_data / "mmau_pro_predictions" / "predictions_with_audio.parquet")
    texts = caps["caption_1"].head(200).tolist() + caps["caption_2"].head(200).tolist()
    texts += answers["model_output"].fillna("").head(100).tolist()  # long answers, many truncated
    torch_res = Embedder(str(minilm_path), device="cpu", use_cache=False, progress=False).encode(texts)
    ov = Embedder(str(minilm_path), device="cpu", backend="openvino", cache_dir=cache_dir, progress=False)
    ov_res = ov.encode(texts)
    a, b = torch_res.embeddings.astype(np.float64), ov_res.embeddings.astype(np.float64)
    sim_t = np.einsum("ij,ij->i", a[:200], a[200:400])
    sim_o = np.einsum("ij,ij->i", b[:200], b[200:400])
    assert np.abs(sim_t - sim_o).max() <= 1e-4
    assert np.abs(a[400:] @ a[:200].T - b[400:] @ b[:200].T).max() <= 1e-4
    np.testing.assert_array_equal(torch_res.token_counts, ov_res.token_counts)
    info = ov.info()
    assert info["backend"] == "openvino" and info["exact_fp32"] is True
    # the IR export is kept: a second model load reuses it
    again = Embedder(str(minilm_path), device="cpu", backend="openvino", cache_dir=cache_dir, use_cache=False)
    again.encode(texts[:3])
    assert again.info()["load"]["exported_now"] is False


@pytest.mark.skipif(not HAVE_OPENVINO, reason="openvino extra not installed")
def test_approximate_precision_reports_its_deviation(minilm_path: Path, cache_dir: Path) -> None:
    emb = Embedder(str(minilm_path), device="cpu", backend="openvino", precision="bf16", cache_dir=cache_dir)
    emb.progress = False
    emb.encode(TEXTS)
    info = emb.info()
    assert info["approximate"] is True and info["exact_fp32"] is False
    dev = info["deviation_vs_torch_fp32"]
    assert dev["sample"] == 3 and 0.9 < dev["min_cosine"] <= dev["mean_cosine"] <= 1.0 + 1e-6


def test_multi_process_pool_path(minilm_path: Path, cache_dir: Path) -> None:
    """The pool code path used for several GPUs, run here on two CPU worker processes."""
    texts = [f"caption number {i}: " + "a dog barks " * (i % 7) for i in range(40)]
    single = Embedder(str(minilm_path), device="cpu", use_cache=False, progress=False).encode(texts)
    emb = Embedder(str(minilm_path), device="cpu", batch_size=4, cache_dir=cache_dir, progress=False)
    emb.st  # noqa: B018  (load, then point it at two workers as parse_devices does for cuda:0,cuda:1)
    emb._devices = ["cpu", "cpu"]
    res = emb.encode(texts)
    np.testing.assert_allclose(res.embeddings, single.embeddings, atol=1e-5)
    assert emb.cache_misses == 40
    warm = Embedder(str(minilm_path), device="cpu", cache_dir=cache_dir, progress=False)
    np.testing.assert_array_equal(warm.encode(texts).embeddings, res.embeddings)
