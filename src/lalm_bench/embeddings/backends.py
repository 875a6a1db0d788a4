"""Embedding backends and precisions: which exist, which this environment can run (its optional packages),
and which compute exactly (fp32) or fast (the OpenVINO export without torch)."""

from __future__ import annotations

from lalm_bench.errors import InputError, first_line


def backend_problem(backend: str, exc: BaseException | None = None) -> str | None:
    """Why ``--backend`` cannot work in this environment (its packages missing or failing to import),
    or ``None`` when they import and the failure lies elsewhere."""
    import importlib

    module, hint = _EXTRAS[backend]
    modules = (module, "openvino") if backend == "openvino" else (module,)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as import_exc:  # ImportError, or whatever a broken stack raises at import
            return f"--backend {backend} does not work in this environment ({first_line(import_exc)}); {hint}"
    if exc is not None and isinstance(exc, ImportError):
        return f"--backend {backend} does not work in this environment ({first_line(exc)}); {hint}"
    return None


BACKENDS = ("torch", "openvino", "onnx")
# The precisions each backend takes. "fp32" (alias "exact") is fp32 arithmetic, equal to torch within
# float rounding; "fast" is the OpenVINO export run without torch (see embeddings/fast.py).
PRECISIONS = {
    "torch": ("fp32", "exact", "fast"),
    "openvino": ("fp32", "exact", "fast", "bf16"),
    "onnx": ("fp32", "exact"),
}
_FAST_HINT = (
    "--precision fast needs the openvino extra: `uv sync --extra openvino --no-group current` "
    "or `pip install 'lalm-bench[openvino]'`"
)


def canonical_precision(precision: str) -> str:
    """``exact`` is another name of ``fp32`` (one cache key, one manifest value)."""
    return "fp32" if precision == "exact" else precision


def effective_backend(backend: str, precision: str) -> str:
    """The backend that runs: ``--precision fast`` runs the OpenVINO export whatever ``--backend`` says
    (torch or openvino; onnx is refused by :func:`check_backend`)."""
    return "openvino" if precision == "fast" else backend


_EXTRAS = {
    "openvino": (
        "optimum.intel",
        "--backend openvino needs the openvino extra: `uv sync --extra openvino --no-group current` "
        "or `pip install 'lalm-bench[openvino]'`",
    ),
    "onnx": (
        "optimum.onnxruntime",
        "--backend onnx needs optimum-onnx, which is not a lalm-bench extra (it requires transformers < 5): "
        "`pip install 'sentence-transformers[onnx]'` in a separate environment",
    ),
}


def _installed(module: str) -> bool:
    """Whether ``module`` can be found, without importing it (a missing parent package counts as absent)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def check_backend(backend: str, precision: str = "fp32") -> None:
    """Refuse an unknown backend/precision, or a backend whose optional packages are missing (one line)."""
    if backend not in BACKENDS:
        raise InputError(f"--backend {backend}: unknown backend (use {', '.join(BACKENDS)})")
    if precision not in PRECISIONS[backend]:
        raise InputError(
            f"--precision {precision}: not available with --backend {backend} (use {', '.join(PRECISIONS[backend])})"
        )
    if precision == "fast":
        if not all(_installed(m) for m in ("optimum.intel", "openvino", "tokenizers")):
            raise InputError(_FAST_HINT)
        return
    if backend in _EXTRAS:
        module, hint = _EXTRAS[backend]
        if not _installed(module):
            raise InputError(hint)


def is_exact(backend: str, precision: str) -> bool:
    """Whether a backend/precision computes in fp32 (same vectors as torch up to float rounding)."""
    return canonical_precision(precision) == "fp32"
