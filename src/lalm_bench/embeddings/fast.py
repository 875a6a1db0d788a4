"""``--precision fast``: the model's OpenVINO export run directly (tokenizers + OpenVINO runtime, no torch).

The IR is exported once by :func:`~lalm_bench.embeddings.openvino.load_openvino` (that first use
imports torch and optimum); every later run reads the export's ``tokenizer.json`` with the
``tokenizers`` library, compiles ``openvino_model.xml`` and pools in numpy, as sentence-transformers
does for a Transformer → Pooling (mean or CLS) → Normalize model. Skipping the torch, transformers
and optimum imports is most of the gain on short jobs; the rest is OpenVINO's CPU kernels, in bf16
where the CPU has bf16 units (the vectors then differ from torch fp32 by ~1e-3 in cosine), else in
fp32. Not exact by contract: the manifest says so, and ``benchmarks/precision.py`` compares every
statistic of the jobs with the exact run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lalm_bench.errors import InputError

#: The export's layout that this path reproduces (module types by their class name's tail).
_TRANSFORMER, _POOLING, _NORMALIZE = ".Transformer", ".Pooling", ".Normalize"


@functools.lru_cache(maxsize=1)
def cpu_fast_precision() -> str:
    """The inference precision ``fast`` uses on this CPU: ``bf16`` with bf16 units (AVX512-BF16, AMX),
    else ``f32`` (OpenVINO emulating bf16 without them is many times slower). Read from /proc/cpuinfo,
    so a warm run can name its cache key without importing OpenVINO."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "f32"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "bf16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "f32"


def fast_streams_config(inference_precision: str) -> dict[str, str]:
    """OpenVINO's CPU settings for ``fast`` beside the precision. In fp32: two streams (the cores split
    between them) fed by an async queue, faster than one ``LATENCY`` request on a 2-core AVX2 CPU
    (``benchmarks/fast_paths.py``); two, not one per core, so that the 8 batches of each chunk the
    Embedder passes keep every stream busy on larger CPUs too. bf16 keeps the single ``LATENCY``
    request its speed was measured with."""
    if inference_precision == "f32":
        return {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": "2"}
    return {"PERFORMANCE_HINT": "LATENCY"}


def _pooling_mode(folder: Path) -> str:
    """``mean`` or ``cls`` from a sentence-transformers folder whose modules this path can run."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        types = [str(m["type"]) for m in modules]
        pool_dir = next(str(m.get("path") or "") for m in modules if str(m["type"]).endswith(_POOLING))
        config = json.loads((folder / pool_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise InputError(
            f"--precision fast: cannot read the pooling of the exported model in {folder} ({exc}); "
            "use --precision exact"
        ) from None
    layout_ok = (
        len(types) in (2, 3)
        and types[0].endswith(_TRANSFORMER)
        and types[1].endswith(_POOLING)
        and all(t.endswith(_NORMALIZE) for t in types[2:])
    )
    mode = config.get("pooling_mode")
    if mode is None:  # sentence-transformers < 6 wrote one flag per mode
        flags = [k[len("pooling_mode_") :] for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
        mode = {"mean_tokens": "mean", "cls_token": "cls"}.get(flags[0]) if len(flags) == 1 else None
    if not layout_ok or mode not in ("mean", "cls"):
        raise InputError(
            "--precision fast runs models made of a transformer, mean or CLS pooling and normalisation; "
            f"this one has modules {[t.rsplit('.', 1)[-1] for t in types]} and pooling {mode!r}: use --precision exact"
        )
    return str(mode)


class OpenVINODirectEncoder:
    """Encodes like a SentenceTransformer (``encode``, ``max_seq_length``, ``count_tokens``) from an export."""

    def __init__(self, folder: str | Path, max_seq_length: int, inference_precision: str) -> None:
        import openvino
        import tokenizers

        self.folder = Path(folder)
        self.max_seq_length = int(max_seq_length)
        self.pooling = _pooling_mode(self.folder)
        try:
            cfg = json.loads((self.folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cfg = {}
        self.lower = bool(cfg.get("do_lower_case", False))
        self._counter = tokenizers.Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tok = tokenizers.Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tok.enable_truncation(self.max_seq_length)
        pad = self._tok.padding or {}
        self._tok.enable_padding(pad_id=int(pad.get("pad_id", 0)), pad_token=str(pad.get("pad_token", "[PAD]")))
        core = openvino.Core()
        config = {"INFERENCE_PRECISION_HINT": inference_precision, **fast_streams_config(inference_precision)}
        self.performance_hint = config["PERFORMANCE_HINT"]
        self._compiled = core.compile_model(str(self.folder / "openvino" / "openvino_model.xml"), "CPU", config)
        self._inputs = {i.get_any_name() for i in self._compiled.inputs}
        outputs = {o.get_any_name(): o for o in self._compiled.outputs}
        self._output = outputs.get("last_hidden_state", self._compiled.outputs[0])
        self.streams = max(1, int(self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        self._queue = openvino.AsyncInferQueue(self._compiled, self.streams)
        self._queue.set_callback(self._done)
        self._pooled: dict[int, np.ndarray] = {}
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        self.inference_precision = str(hint.to_string() if hasattr(hint, "to_string") else hint)
        self._dim: int | None = None

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        # sentence-transformers strips each text (and lower-cases it where the model asks) before tokenizing
        return [t.strip().lower() if self.lower else t.strip() for t in texts]

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens per text, special tokens included, without truncation."""
        encodings = self._counter.encode_batch(self._prepare(texts), add_special_tokens=True)
        return np.asarray([len(e.ids) for e in encodings], dtype=np.int64)

    def get_embedding_dimension(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode(["a"]).shape[1])
        return self._dim

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            pooled = hidden[:, 0].astype(np.float32)
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def _done(self, request: Any, userdata: tuple[int, np.ndarray]) -> None:
        # runs on an OpenVINO thread; the request's output buffer is reused by its next batch, so pool now
        index, mask = userdata
        self._pooled[index] = self._pool(np.asarray(request.get_tensor(self._output).data), mask)

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        """L2-normalised float32 vectors, ``batch_size`` texts per inference (in the given order).

        Batches go to an ``AsyncInferQueue`` (one request per stream): the next batch is tokenized while
        the streams compute the previous ones, and each batch is pooled as soon as its request is done.
        """
        prepared = self._prepare(texts)
        self._pooled = {}
        starts = range(0, len(prepared), batch_size)
        try:
            for index, start in enumerate(starts):
                enc = self._tok.encode_batch(prepared[start : start + batch_size], add_special_tokens=True)
                ids = np.asarray([e.ids for e in enc], dtype=np.int64)
                mask = np.asarray([e.attention_mask for e in enc], dtype=np.int64)
                feed = {"input_ids": ids, "attention_mask": mask}
                if "token_type_ids" in self._inputs:
                    feed["token_type_ids"] = np.asarray([e.type_ids for e in enc], dtype=np.int64)
                self._queue.start_async(feed, (index, mask))
        finally:
            self._queue.wait_all()
        chunks, self._pooled = [self._pooled[i] for i in range(len(starts))], {}
        if not chunks:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = np.concatenate(chunks)
        self._dim = int(out.shape[1])
        return out


#: How ``--precision fast`` computes, as the manifest names it
FAST_PATH = "openvino-direct (tokenizers + OpenVINO runtime, no torch)"


def fast_record(encoder: OpenVINODirectEncoder) -> dict[str, Any]:
    """What the manifest says about the fast path."""
    return {
        "path": FAST_PATH,
        "inference_precision": encoder.inference_precision,
        "performance_hint": encoder.performance_hint,
        "streams": encoder.streams,
        "pooling": encoder.pooling,
        "ir_folder": str(encoder.folder),
    }
