"""The OpenVINO backend: the model exported to OpenVINO IR once, then loaded from the export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.embeddings.model import ModelRef, load_sentence_transformer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def openvino_config(precision: str) -> dict[str, str]:
    """OpenVINO CPU settings. fp32 is forced: on CPUs with bf16 units OpenVINO otherwise computes in bf16."""
    return {
        "INFERENCE_PRECISION_HINT": "f32" if precision == "fp32" else precision,
        "PERFORMANCE_HINT": "LATENCY",  # one request at a time, all cores on it (ST encodes sequentially)
    }


def export_folder(export_root: Path, identity: str) -> Path:
    """Where the IR export of the model with this identity is kept."""
    import hashlib

    return export_root / ("openvino-" + hashlib.sha256(identity.encode()).hexdigest()[:20])


def load_openvino(
    ref: ModelRef,
    identity: str,
    precision: str,
    export_root: Path,
    max_seq_length: int | None = None,
) -> tuple[SentenceTransformer, dict[str, Any]]:
    """Load ``ref`` with the OpenVINO backend, exporting it to IR once and reusing the export.

    The export (tens of seconds) is stored under ``export_root/<hash of identity>`` and reused by
    every later run. Returns the model and a record of what happened (export seconds, IR folder).
    """
    import logging
    import shutil
    import tempfile
    import time

    for name in ("optimum", "optimum.intel", "nncf", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    folder = export_folder(export_root, identity)
    record: dict[str, Any] = {"ir_folder": str(folder), "exported_now": False, "export_seconds": 0.0}
    kwargs = {"ov_config": openvino_config(precision)}
    if not (folder / "openvino" / "openvino_model.xml").is_file():
        t0 = time.perf_counter()
        st = load_sentence_transformer(ref, "cpu", "openvino", max_seq_length, model_kwargs=kwargs)
        export_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=export_root))
        try:
            st.save_pretrained(str(tmp))
            try:
                tmp.rename(folder)  # atomic; another process may have won the race
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        record.update(exported_now=True, export_seconds=round(time.perf_counter() - t0, 3))
        return st, record
    exported = ModelRef(name=ref.name, path=str(folder), revision=ref.revision)
    st = load_sentence_transformer(exported, "cpu", "openvino", max_seq_length, model_kwargs=kwargs)
    return st, record
