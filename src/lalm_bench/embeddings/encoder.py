"""Encoding texts: each distinct text once, length-sorted batches, normalized, truncation counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench.embeddings.backends import canonical_precision, check_backend, effective_backend, is_exact
from lalm_bench.embeddings.cache import (
    EmbeddingCache,
    ModelKey,
    default_cache_dir,
    text_sha256,
    weights_identity,
)
from lalm_bench.embeddings.devices import parse_devices
from lalm_bench.embeddings.mock import MockEncoder, is_mock
from lalm_bench.embeddings.model import (
    ModelRef,
    configured_max_seq_length,
    load_sentence_transformer,
    local_files_only,
    resolve_model,
)
from lalm_bench.embeddings.openvino import export_folder, load_openvino
from lalm_bench.errors import InputError
from lalm_bench.hfcache import COMMIT, cached_revision
from lalm_bench.progress import progress_bar

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@dataclass
class EncodeResult:
    """Embeddings of the input texts (stored once per distinct text), plus what happened while encoding."""

    unique_embeddings: np.ndarray  # (n_unique, dim) float32, L2-normalized
    inverse: np.ndarray  # (n_inputs,) row of unique_embeddings for each input
    token_counts: np.ndarray  # (n_inputs,) tokens incl. special tokens, before truncation
    max_seq_length: int
    n_unique: int

    @property
    def embeddings(self) -> np.ndarray:
        """(n_inputs, dim) float32 rows in input order (a copy per input: prefer :meth:`cosines`)."""
        return self.unique_embeddings[self.inverse]

    def cosines(self, rows_a: np.ndarray, rows_b: np.ndarray, chunk: int | None = None) -> np.ndarray:
        """Cosine of input ``rows_a[k]`` with input ``rows_b[k]`` (float64 sums, clipped to [-1, 1]).

        Works on the distinct-text vectors, gathered ``chunk`` rows at a time (default: about 16 MiB
        per side), so memory grows with distinct texts, not with rows."""
        a = self.inverse[np.asarray(rows_a, dtype=np.int64)]
        b = self.inverse[np.asarray(rows_b, dtype=np.int64)]
        out = np.empty(a.size, dtype=np.float64)
        u = self.unique_embeddings
        chunk = chunk or max(256, (16 << 20) // max(1, u.shape[1] * u.itemsize))
        for lo in range(0, a.size, chunk):
            hi = lo + chunk
            out[lo:hi] = np.einsum("ij,ij->i", u[a[lo:hi]], u[b[lo:hi]], dtype=np.float64)
        return np.clip(out, -1.0, 1.0)

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


def _dimension(st: SentenceTransformer) -> int:
    """Output dimension (``get_embedding_dimension`` since sentence-transformers 6, older name before)."""
    fn = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
    return int(fn() or 0)


@dataclass
class Embedder:
    """A sentence-transformers encoder that loads its model only when it must encode.

    ``model`` is a hub repo id or a local folder; ``max_seq_length`` defaults to the model's own.
    Vectors are cached on disk (see :mod:`lalm_bench.embeddings.cache`): with a warm cache
    :meth:`encode` neither loads the model nor its tokenizer. ``device`` may list several CUDA
    devices (``cuda:0,cuda:1``) to encode in a multi-process pool.
    """

    model: str
    revision: str | None = None
    device: str = "auto"
    batch_size: int = 64
    max_seq_length: int | None = None
    backend: str = "torch"
    progress: bool = True
    precision: str = "fp32"
    cache_dir: str | Path | None = None
    use_cache: bool = True
    ref: ModelRef = field(init=False)
    cache_hits: int = field(default=0, init=False)
    cache_misses: int = field(default=0, init=False)
    _st: Any = field(default=None, init=False, repr=False)  # a SentenceTransformer or a MockEncoder
    _device: str | None = field(default=None, init=False, repr=False)
    _devices: list[str] = field(default_factory=list, init=False, repr=False)
    _cache: EmbeddingCache | None = field(default=None, init=False, repr=False)
    _key: ModelKey | None = field(default=None, init=False, repr=False)
    _dim: int | None = field(default=None, init=False, repr=False)
    _load_record: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _deviation: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _cache_note: str | None = field(default=None, init=False, repr=False)
    _closed_cache_dir: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.max_seq_length is not None and self.max_seq_length < 1:
            raise InputError(f"--max-seq-length must be at least 1, got {self.max_seq_length}")
        check_backend(self.backend, self.precision)
        self.precision = canonical_precision(self.precision)
        self.backend = effective_backend(self.backend, self.precision)
        self.ref = resolve_model(self.model, self.revision)

    # -- model -------------------------------------------------------------------------------
    @property
    def st(self) -> Any:
        if self._st is None:
            import time

            if not is_mock(self.model) and not self.ref.is_local:
                local_files_only(self.ref)  # no hub and not cached: one line now, before torch is imported
            if is_mock(self.model) or (self.backend != "torch" and self.device.strip().lower() in ("auto", "cpu")):
                devices = ["cpu"]  # no torch import to look for GPUs that these paths cannot use
            else:
                devices = parse_devices(self.device)
            if self.backend != "torch" and (len(devices) > 1 or devices[0] != "cpu"):
                if self.device.strip().lower() != "auto":
                    raise InputError(f"--backend {self.backend} runs on the CPU; use --device cpu (or auto)")
                devices = ["cpu"]
            self._devices = devices
            self._device = ",".join(devices)
            t0 = time.perf_counter()
            if self.precision == "fast":
                self._st = self._load_fast()
            elif self.backend == "openvino":
                key = self._model_key()
                identity = key.identity if key else f"{self.ref.name}@{self.ref.revision}"
                self._st, self._load_record = load_openvino(
                    self.ref, identity, self.precision, self._export_root(), self._declared_max_seq()
                )
            else:
                # a pool places one copy per device itself; the parent keeps the model on the CPU
                load_on = "cpu" if len(devices) > 1 else devices[0]
                self._st = load_sentence_transformer(self.ref, load_on, self.backend, self.max_seq_length)
            self._load_record["load_seconds"] = round(time.perf_counter() - t0, 3)
            self._dim = _dimension(self._st) or self._dim
        return self._st

    def _load_fast(self) -> Any:
        """The direct OpenVINO encoder of ``--precision fast`` (the IR exported first if it is not yet)."""
        from lalm_bench.embeddings.fast import OpenVINODirectEncoder, cpu_fast_precision, fast_record

        if is_mock(self.model):
            raise InputError(f"--model {self.model} runs without a backend; leave --precision at exact")
        key = self._model_key()
        identity = key.identity if key else f"{self.ref.name}@{self.ref.revision}"
        max_seq = self._declared_max_seq()
        folder = export_folder(self._export_root(), identity)
        if not (folder / "openvino" / "openvino_model.xml").is_file():
            st, self._load_record = load_openvino(self.ref, identity, "fp32", self._export_root(), max_seq)
            max_seq = max_seq or int(st.max_seq_length or 0) or None
            del st
        if max_seq is None:
            raise InputError(f"--precision fast: give --max-seq-length (the model {self.model} names none)")
        self._load_record.setdefault("exported_now", False)
        encoder = OpenVINODirectEncoder(folder, max_seq, cpu_fast_precision())
        self._load_record.update(fast_record(encoder))
        return encoder

    def _declared_max_seq(self) -> int | None:
        return self.max_seq_length if self.max_seq_length is not None else configured_max_seq_length(self.ref)

    def _export_root(self) -> Path:
        return Path(self.cache_dir).expanduser() / "exports" if self.cache_dir else default_cache_dir() / "exports"

    # -- cache -------------------------------------------------------------------------------
    def _open_cache(self) -> EmbeddingCache | None:
        if self.use_cache and self._cache is None:
            self._cache = EmbeddingCache(self.cache_dir)
        return self._cache

    def _model_key(self) -> ModelKey | None:
        """The cache key of this model, resolved without loading it when its files allow."""
        if self._key is not None:
            return self._key
        identity: str | None = None
        if self.ref.path:
            if Path(self.ref.path).is_dir():
                identity = weights_identity(self.ref.path, self._open_cache())
        elif is_mock(self.ref.name):
            identity = f"mock:{self.ref.revision}"
        else:
            rev = self.ref.revision
            if not (rev and COMMIT.match(rev)) and self._st is not None:
                rev = cached_revision(self.ref.name, self.revision)  # known once the hub download ran
            if rev and COMMIT.match(rev):
                identity = f"rev:{rev}"
        max_seq = int(self._st.max_seq_length) if self._st is not None else self._declared_max_seq()
        if identity is None or max_seq is None:
            return None
        self._key = ModelKey(
            name=self.ref.name,
            identity=identity,
            max_seq_length=int(max_seq),
            normalized=True,
            backend=self.backend,
            precision=self._key_precision(),
        )
        return self._key

    def _key_precision(self) -> str:
        """The precision in the cache key; ``fast`` names the arithmetic it runs in on this CPU."""
        if self.precision != "fast":
            return self.precision
        from lalm_bench.embeddings.fast import cpu_fast_precision

        return f"fast-openvino-direct-{cpu_fast_precision()}"

    def info(self) -> dict[str, Any]:
        """Model identity for manifests (name, path, revision, identity, device, backend, precision,
        max_seq_length, dim, whether the model was loaded, cache hits and misses)."""
        info = self.ref.to_dict()
        key = self._key
        info.update(
            backend=self.backend,
            precision=self.precision,
            exact_fp32=is_exact(self.backend, self.precision),
            exact=is_exact(self.backend, self.precision),
            batch_size=self.batch_size,
            normalized=True,
            identity=key.identity if key else None,
            model_loaded=self._st is not None,
            device=self._device,
            device_requested=self.device,
            max_seq_length=(
                int(self._st.max_seq_length)
                if self._st is not None
                else (key.max_seq_length if key else self._declared_max_seq())
            ),
            dimension=self._dim,
            cache={
                "enabled": self.use_cache and key is not None,
                "directory": str(self._cache.directory) if self._cache else self._closed_cache_dir,
                "hits": self.cache_hits,
                "misses": self.cache_misses,
                **({"note": self._cache_note} if self._cache_note else {}),
            },
        )
        if self._load_record:
            info["load"] = dict(self._load_record)
        if not is_exact(self.backend, self.precision):
            info["approximate"] = True
            if self.precision == "fast":
                from lalm_bench.embeddings.fast import FAST_PATH, cpu_fast_precision

                info["fast"] = {
                    "path": FAST_PATH,
                    "inference_precision": self._load_record.get("inference_precision", cpu_fast_precision()),
                    "openvino_performance_hint": self._load_record.get("performance_hint"),
                    "openvino_streams": self._load_record.get("streams"),
                    "checked_by": "benchmarks/precision.py (every statistic of the jobs, exact vs fast)",
                }
            info["deviation_vs_torch_fp32"] = self._deviation or {
                "note": "not measured in this run (all vectors came from the cache)"
            }
        return info

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Token counts (special tokens included) without truncation."""
        if isinstance(self.st, MockEncoder) or self.precision == "fast":
            return np.asarray(self.st.count_tokens(texts), dtype=np.int64)
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

    # -- encoding ----------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], desc: str = "embedding") -> EncodeResult:
        """Encode ``texts`` (each distinct text once), returning normalized embeddings in input order.

        Cached vectors are reused; only the missing texts are encoded (and then cached, batch by batch).
        """
        texts = [str(t) for t in texts]
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        unique_list: list[str] = [str(u) for u in unique]
        n = len(unique_list)
        key = self._model_key() if self.use_cache else None
        if self.use_cache and key is None:
            self.st  # noqa: B018  (identity or max_seq_length only known once loaded)
            key = self._model_key()
            if key is None:
                self._cache_note = "cache not used: the model's revision could not be resolved"
        cache = self._open_cache() if key is not None else None
        hashes = [text_sha256(t) for t in unique_list] if cache is not None else []
        found = cache.get(key, hashes) if cache is not None and key is not None else {}
        missing = [i for i in range(n) if not found or hashes[i] not in found]
        self.cache_hits += n - len(missing)
        self.cache_misses += len(missing)

        if found:
            self._dim = self._dim or len(next(iter(found.values()))[0])
        if self._dim is None:
            self._dim = _dimension(self.st)
        vectors = np.zeros((n, self._dim), dtype=np.float32)
        counts = np.zeros(n, dtype=np.int64)
        for i in range(n) if found else ():
            if hashes[i] in found:
                vectors[i], counts[i] = found[hashes[i]]

        with progress_bar(self.progress and n > 0, desc, n, unit="texts") as advance:
            advance(n - len(missing))
            if missing:
                miss_texts = [unique_list[i] for i in missing]
                miss_counts = self.count_tokens(miss_texts)
                counts[missing] = miss_counts

                def store(idx: np.ndarray, emb: np.ndarray) -> None:
                    rows = np.asarray(missing)[idx]
                    vectors[rows] = emb
                    if cache is not None and key is not None:
                        cache.put(key, ((hashes[r], emb[j], int(counts[r])) for j, r in enumerate(rows)))
                    advance(len(idx))

                self._encode_unique(miss_texts, miss_counts, store)
                if self.precision == "fast":
                    self._deviation = {
                        "note": "not measured in the run (that would load torch, which --precision fast avoids); "
                        "benchmarks/precision.py compares every statistic with the exact run"
                    }
                elif not is_exact(self.backend, self.precision) and self._deviation is None:
                    self._deviation = self._measure_deviation(miss_texts, vectors[missing])
        max_seq = key.max_seq_length if key is not None else int(self.st.max_seq_length)
        return EncodeResult(
            unique_embeddings=vectors,
            inverse=np.asarray(inverse, dtype=np.int64).ravel(),
            token_counts=counts[inverse],
            max_seq_length=max_seq,
            n_unique=n,
        )

    def _encode_unique(
        self,
        texts: list[str],
        token_counts: np.ndarray,
        store: Callable[[np.ndarray, np.ndarray], None],
    ) -> None:
        """Encode in length-sorted chunks; ``store(indices, vectors)`` after each (cache commit point)."""
        st = self.st
        # Longest first: similar lengths share a batch (less padding), and memory peaks early.
        order = np.argsort(-np.minimum(token_counts, st.max_seq_length), kind="stable")
        pool = st.start_multi_process_pool(self._devices) if len(self._devices) > 1 else None
        step = self.batch_size * 8 * max(1, len(self._devices))
        try:
            for start in range(0, len(order), step):
                idx = order[start : start + step]
                emb = st.encode(
                    [texts[i] for i in idx],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                    **({"pool": pool} if pool is not None else {}),
                )
                store(idx, np.asarray(emb, dtype=np.float32))
        finally:
            if pool is not None:
                st.stop_multi_process_pool(pool)

    def _measure_deviation(self, texts: list[str], vectors: np.ndarray, sample: int = 64) -> dict[str, Any]:
        """Cosine between this backend's vectors and torch fp32 ones on a sample of the texts encoded."""
        rng = np.random.default_rng(0)
        idx = np.sort(rng.choice(len(texts), size=min(sample, len(texts)), replace=False))
        ref_model = load_sentence_transformer(self.ref, "cpu", "torch", int(self.st.max_seq_length))
        ref = ref_model.encode([texts[i] for i in idx], normalize_embeddings=True, show_progress_bar=False)
        cos = np.einsum("ij,ij->i", np.asarray(ref, dtype=np.float64), vectors[idx].astype(np.float64))
        return {
            "sample": len(idx),
            "mean_cosine": float(cos.mean()),
            "min_cosine": float(cos.min()),
            "note": "cosine of each sampled text's vector with the torch fp32 vector (1.0 = identical)",
        }

    def close(self) -> None:
        """Close the cache connection (the model stays loaded; :meth:`info` still describes the cache)."""
        if self._cache is not None:
            self._closed_cache_dir = str(self._cache.directory)
            self._cache.close()
            self._cache = None
