"""Datasets: the Hugging Face hub cache, Clotho v2.1, and generic multi-reference caption tables.

Nothing heavy is imported here; pandas, huggingface_hub and py7zr load inside the functions that use them.
"""

from lalm_bench.datasets.captions import CaptionTable, load_caption_table
from lalm_bench.datasets.clotho import CLOTHO, CLOTHO_SPLITS, clotho_csv_path, load_clotho
from lalm_bench.datasets.snapshots import DatasetNotFoundError, resolve_snapshot

__all__ = [
    "CLOTHO",
    "CLOTHO_SPLITS",
    "CaptionTable",
    "DatasetNotFoundError",
    "clotho_csv_path",
    "load_caption_table",
    "load_clotho",
    "resolve_snapshot",
]
