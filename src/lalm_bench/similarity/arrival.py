"""Items whose audio never arrived (``predict``'s ``audio_arrival`` column: ``dropped`` or ``cut`` in any of the
files read) are counted per file and left out of the matched rows, unless ``--keep-unarrived``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lalm_bench.audio.arrival import unarrived
from lalm_bench.errors import InputError
from lalm_bench.similarity.config import SimilarityConfig

if TYPE_CHECKING:
    import pandas as pd


def leave_out_unarrived(config: SimilarityConfig, merged: pd.DataFrame, matching: dict[str, Any]) -> pd.DataFrame:
    """The matched rows kept; the account goes to ``matching["audio_arrival"]``."""
    files = [
        (name, path)
        for name, path in (
            ("noise", config.noise_file),
            ("audio", config.audio_file),
            ("noise@1", config.noise_file_2),
            ("mismatched", config.mismatched_file),
            ("audio_2", config.audio_file_2),
        )
        if path is not None
    ] + [(f"noise@{k}", path) for k, path in enumerate(config.noise_repeats, start=2)]
    files += [(name, path) for name, path in config.controls]
    ids = merged["id"].tolist()
    out, info = unarrived(files, config.id_column, ids, keep=config.keep_unarrived)
    matching["audio_arrival"] = info
    if not any(out):
        return merged
    if all(out):
        raise InputError(
            f"the audio of all {len(ids)} matched items was flagged dropped or cut by predict (column "
            "audio_arrival); --keep-unarrived compares them anyway"
        )
    keep = [not gone for gone in out]
    info["excluded_ids"] = [i.item() if hasattr(i, "item") else i for i, gone in zip(ids, out, strict=True) if gone]
    return merged[keep].reset_index(drop=True)
