"""Multi-reference caption tables: several human captions per clip, wide or long.

* wide: one row per clip, a clip column (``file_name``) and ``caption_1`` … ``caption_K``
  (Clotho);
* long: one row per caption, a clip column and a caption column (AudioCaps: ``youtube_id``,
  ``caption``; its ``audiocap_id`` names a caption, not a clip); the captions of a clip are
  numbered 1…k in file order.

Captions are kept verbatim (HTML entities, trailing and double spaces included). A blank cell is a
missing caption. Clips with fewer than ``min_captions`` captions have no pair to compare: they are
skipped and listed in :attr:`CaptionTable.skipped`, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

_WIDE = re.compile(r"^caption_(\d+)$")


@dataclass
class CaptionTable:
    """Captions grouped by clip, in file order; only clips with at least ``min_captions`` captions."""

    path: Path
    clip_column: str
    layout: str  # "wide" or "long"
    caption_columns: list[str]
    clips: list[str]
    captions: list[list[str]]
    caption_index: list[list[int]]  # 1-based caption number (wide: the N of caption_N)
    split: str | None = None
    skipped: list[str] = field(default_factory=list)  # clips with too few captions
    rows: int = 0

    @property
    def n_clips(self) -> int:
        return len(self.clips)

    @property
    def n_captions(self) -> int:
        return sum(len(c) for c in self.captions)

    @property
    def sizes(self) -> list[int]:
        return [len(c) for c in self.captions]

    def clip_keys(self) -> list[tuple[str | None, str]]:
        """Clip keys as (split, clip): the same file name may name different audio in another split."""
        return [(self.split, c) for c in self.clips]

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "split": self.split,
            "layout": self.layout,
            "clip_column": self.clip_column,
            "caption_columns": self.caption_columns,
            "rows": self.rows,
            "clips": self.n_clips,
            "captions": self.n_captions,
            "clips_skipped": len(self.skipped),
            "skipped_examples": self.skipped[:20],
        }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from Parquet/JSON
        return ""
    return str(value)


def wide_caption_columns(columns: list[str]) -> list[str]:
    """``caption_<N>`` columns sorted by N."""
    found = [(int(m.group(1)), c) for c in columns if (m := _WIDE.match(str(c)))]
    return [c for _, c in sorted(found)]


def read_caption_frame(path: str | Path) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet/JSONL table with every value as text (CRLF or LF, quoted commas, BOM)."""
    from lalm_bench.io import read_table

    path = Path(path)
    if path.suffix.lower() in {".csv", ".tsv"}:
        return read_table(path, encoding="utf-8-sig")
    return read_table(path)


def load_caption_table(
    path: str | Path,
    *,
    clip_column: str = "file_name",
    caption_column: str | None = None,
    split: str | None = None,
    min_captions: int = 2,
    frame: pd.DataFrame | None = None,
) -> CaptionTable:
    """Load a wide table (``caption_column`` None) or a long one; every problem is a one-line InputError."""
    from lalm_bench.io import require_columns

    path = Path(path)
    df = read_caption_frame(path) if frame is None else frame
    require_columns(df, [clip_column], path)
    clip_values = [_text(v) for v in df[clip_column].tolist()]
    blank = sum(1 for v in clip_values if not v.strip())
    if blank:
        raise InputError(f"{path}: {blank} row(s) have an empty {clip_column!r}")
    if caption_column is None:
        cap_cols, layout = _wide_columns(df, path, clip_column, clip_values), "wide"
        grouped = _group_wide(df, cap_cols, clip_values)
    else:
        require_columns(df, [caption_column], path)
        if caption_column == clip_column:
            raise InputError(f"{path}: --clip-column and --caption-column are both {clip_column!r}")
        cap_cols, layout = [caption_column], "long"
        grouped = _group_long(df, caption_column, clip_values)

    clips, captions, index, skipped = [], [], [], []
    for clip, kept in grouped:
        if len(kept) < min_captions:
            skipped.append(clip)
            continue
        clips.append(clip)
        index.append([n for n, _ in kept])
        captions.append([t for _, t in kept])
    if not clips:
        hint = ""
        if layout == "long" and len(grouped) == len(df) > 1:
            hint = f"; every {clip_column!r} value occurs once: is it a per-caption id rather than a clip id?"
        raise InputError(
            f"{path}: no clip has at least {min_captions} non-empty captions "
            f"({len(grouped)} clip(s) read, layout {layout}, caption column(s) {', '.join(cap_cols)}){hint}"
        )
    return CaptionTable(
        path=path,
        clip_column=clip_column,
        layout=layout,
        caption_columns=cap_cols,
        clips=clips,
        captions=captions,
        caption_index=index,
        split=split,
        skipped=skipped,
        rows=len(df),
    )


def _wide_columns(df: pd.DataFrame, path: Path, clip_column: str, clip_values: list[str]) -> list[str]:
    """The caption columns of a wide table (one clip per row), checked."""
    columns = [str(c) for c in df.columns]
    cap_cols = wide_caption_columns(columns)
    if not cap_cols:
        raise InputError(
            f"{path}: no caption columns (expected caption_1 … caption_K, one clip per row; "
            f"for one caption per row pass --caption-column NAME and --clip-column NAME); "
            f"columns present: {', '.join(columns)}"
        )
    seen: dict[str, int] = {}
    dups: list[str] = []
    for v in clip_values:
        seen[v] = seen.get(v, 0) + 1
        if seen[v] == 2:
            dups.append(v)
    if dups:
        raise InputError(
            f"{path}: {len(dups)} {clip_column!r} value(s) occur more than once (e.g. {dups[0]!r}); "
            "a wide table needs one row per clip"
        )
    return cap_cols


def _group_wide(
    df: pd.DataFrame, cap_cols: list[str], clip_values: list[str]
) -> list[tuple[str, list[tuple[int, str]]]]:
    """Each row's clip with its non-empty captions, numbered as their columns."""
    numbers = [int(_WIDE.match(c).group(1)) for c in cap_cols]  # type: ignore[union-attr]
    cells = [[_text(v) for v in df[c].tolist()] for c in cap_cols]
    return [
        (clip, [(n, col[r]) for n, col in zip(numbers, cells, strict=True) if col[r].strip()])
        for r, clip in enumerate(clip_values)
    ]


def _group_long(
    df: pd.DataFrame, caption_column: str, clip_values: list[str]
) -> list[tuple[str, list[tuple[int, str]]]]:
    """Each clip with its non-empty captions in row order (numbered 1, 2, … among the clip's rows)."""
    by_clip: dict[str, list[tuple[int, str]]] = {}
    for clip, cap in zip(clip_values, (_text(v) for v in df[caption_column].tolist()), strict=True):
        entries = by_clip.setdefault(clip, [])
        if cap.strip():
            entries.append((len(entries) + 1, cap))
    return list(by_clip.items())
