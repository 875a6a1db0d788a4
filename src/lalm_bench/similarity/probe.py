"""The pieces of the listening probe: reading and matching prediction files, chance partners, summaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


MISSING_CATEGORY = "(missing)"


@dataclass
class Predictions:
    """One prediction file, validated: unique IDs, texts, categories (if present)."""

    path: Path
    frame: pd.DataFrame  # columns: id, text, category (category may be absent)
    has_category: bool


def load_predictions(
    path: Path, id_column: str, text_column: str, category_column: str, require_category: bool
) -> Predictions:
    """Read and validate a Parquet prediction file; every problem is a one-line :class:`InputError`."""
    from lalm_bench.io import read_parquet, require_columns

    df = read_parquet(path)
    required = [id_column, text_column] + ([category_column] if require_category else [])
    require_columns(df, required, path)
    ids = df[id_column]
    if ids.isna().any():
        raise InputError(f"{path}: {int(ids.isna().sum())} row(s) have no {id_column!r}")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        examples = ", ".join(map(repr, dup.drop_duplicates().head(3).tolist()))
        raise InputError(
            f"{path}: {dup.nunique()} duplicate {id_column!r} value(s) in {len(dup)} rows (e.g. {examples})"
        )
    texts = df[text_column]
    bad = texts[texts.notna() & ~texts.map(lambda v: isinstance(v, str))]
    if len(bad):
        raise InputError(
            f"{path}: column {text_column!r} must hold strings, found {type(bad.iloc[0]).__name__} in {len(bad)} row(s)"
        )
    has_category = category_column in df.columns
    frame = df[[id_column, text_column]].rename(columns={id_column: "id", text_column: "text"})
    if has_category:
        cats = df[category_column]
        frame["category"] = cats.map(lambda v: MISSING_CATEGORY if _isna(v) else str(v))
    return Predictions(path=path, frame=frame.reset_index(drop=True), has_category=has_category)


def _isna(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and bool(pd.isna(value)))


def match_predictions(noise: Predictions, audio: Predictions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Inner join on ID (noise-file order); category from the noise file. Returns rows and a report."""
    n, a = noise.frame, audio.frame
    try:
        merged = n.merge(
            a.rename(columns={"text": "text_audio", "category": "category_audio"}),
            on="id",
            how="inner",
            sort=False,
            validate="one_to_one",
        ).rename(columns={"text": "text_noise"})
    except ValueError:  # pandas refuses to join e.g. int IDs with string IDs
        merged = n.iloc[:0]
    if merged.empty:
        raise InputError(
            f"{noise.path} and {audio.path}: no IDs in common "
            f"(ID types: {n['id'].dtype} vs {a['id'].dtype}; e.g. {n['id'].iloc[0]!r} vs {a['id'].iloc[0]!r})"
            if len(n) and len(a)
            else f"{noise.path} and {audio.path}: no IDs in common (a file has no rows)"
        )
    report: dict[str, Any] = {
        "noise_rows": len(n),
        "audio_rows": len(a),
        "matched": len(merged),
        "only_in_noise": len(n) - len(merged),
        "only_in_audio": len(a) - len(merged),
        "category_mismatches": (
            int((merged["category"] != merged["category_audio"]).sum()) if audio.has_category else None
        ),
    }
    return merged, report


def check_texts(merged: pd.DataFrame, noise_path: Path, audio_path: Path, allow_empty: bool) -> dict[str, int]:
    """Count null/blank texts per file among matched rows; refuse them unless ``allow_empty``."""
    counts = {}
    for col, path, key in (("text_noise", noise_path, "noise"), ("text_audio", audio_path, "audio")):
        blank = merged[col].isna() | (merged[col].fillna("").str.strip() == "")
        counts[key] = int(blank.sum())
        if counts[key] and not allow_empty:
            raise InputError(
                f"{path}: {counts[key]} matched row(s) have a null or empty text "
                "(pass --allow-empty to score them as empty strings)"
            )
        merged[col] = merged[col].fillna("")
    return counts


def chance_partners(categories: np.ndarray, seed: int) -> np.ndarray:
    """For each row, a different row of the same category (seeded); -1 where the category has one row.

    Within a category the rows are shuffled and each is paired with the next one in the shuffled
    cycle, so no row is paired with itself and every audio output is used exactly once.
    """
    rng = np.random.default_rng(seed)
    partners = np.full(len(categories), -1, dtype=np.int64)
    for cat in sorted(set(categories.tolist())):
        idx = np.flatnonzero(categories == cat)
        if len(idx) < 2:
            continue
        perm = rng.permutation(idx)
        partners[perm] = np.roll(perm, -1)
    return partners


def summarize(
    sims: np.ndarray, categories: np.ndarray, bootstrap: int, seed: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    overall = stats.describe(sims, bootstrap, seed)
    by_cat = {str(cat): stats.describe(sims[categories == cat], bootstrap, seed) for cat in sorted(set(categories))}
    return overall, by_cat


def _compare(matched: np.ndarray, chance: np.ndarray) -> dict[str, Any]:
    """Matched vs chance: mean difference and a paired two-sided Wilcoxon signed-rank test."""
    return {
        "mean_difference": float(np.mean(matched - chance)) if len(matched) else None,
        "wilcoxon": stats.wilcoxon_paired(matched, chance),
    }


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
