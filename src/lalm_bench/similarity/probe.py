"""The pieces of the listening probe: reading and matching prediction files, group labels, summaries, comparisons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench import stats
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


MISSING_CATEGORY = "(missing)"
#: The similarities are cosines of float32 unit vectors, rounded at about 1e-7: a paired difference no
#: larger than this is no difference for the signed-rank test. Without it an exact zero (the same answer on
#: both sides) that another floating-point path (``--precision fast``, another BLAS, a GPU) computes as 1e-8
#: joins the test at the lowest rank and moves every rank above it.
RESOLUTION = 1e-6


@dataclass
class Predictions:
    """One prediction file, validated: unique IDs, texts, categories (if present), extra label columns."""

    path: Path
    frame: pd.DataFrame  # columns: id, text, category (may be absent), then the extra columns by their keys
    has_category: bool


def load_predictions(
    path: Path,
    id_column: str,
    text_column: str,
    category_column: str,
    require_category: bool,
    extra: Mapping[str, str] | None = None,
    optional: Mapping[str, str] | None = None,
) -> Predictions:
    """Read and validate a Parquet prediction file; every problem is a one-line :class:`InputError`.

    ``extra`` maps keys to further required columns (question, cluster): their values become group
    labels (:func:`label_of`) in ``frame[key]``; ``optional`` likewise, for columns taken only when present.
    """
    from lalm_bench.datasets.predictions import check_ids_and_texts, split_orders
    from lalm_bench.io import read_parquet, require_columns

    df, _ = split_orders(read_parquet(path), path)  # other option orders (--permute-choices) are accuracy's
    extra = dict(extra or {}) | {k: c for k, c in (optional or {}).items() if c in df.columns}
    required = [id_column, text_column] + ([category_column] if require_category else []) + list(extra.values())
    require_columns(df, required, path)
    check_ids_and_texts(df, path, id_column, text_column)
    has_category = category_column in df.columns
    frame = df[[id_column, text_column]].rename(columns={id_column: "id", text_column: "text"})
    if has_category:
        cats = df[category_column]
        frame["category"] = cats.map(lambda v: MISSING_CATEGORY if _isna(v) else str(v))
    for key, column in extra.items():
        frame[key] = df[column].map(label_of).astype(object)
    return Predictions(path=path, frame=frame.reset_index(drop=True), has_category=has_category)


def label_of(value: Any) -> str | None:
    """A group label: text with its whitespace runs collapsed (``None`` when missing or blank), a list
    or array as the labels of its items joined by `` | ``, anything else as ``str``."""
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [label_of(v) for v in value]
        return " | ".join(p for p in parts if p is not None) or None
    if _isna(value):
        return None
    text = " ".join(str(value).split())
    return text or None


def _isna(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (list, tuple, np.ndarray)) and bool(pd.isna(value)))


def match_predictions(noise: Predictions, audio: Predictions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Inner join on ID (noise-file order); the category comes from the audio file (the reference run, as in
    ``accuracy``) and disagreements with the noise file are counted. Returns rows and a report."""
    n, a = noise.frame.rename(columns={"category": "category_noise"}), audio.frame
    try:
        merged = n.merge(
            a[[c for c in ("id", "text", "category") if c in a.columns]].rename(columns={"text": "text_audio"}),
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
        "category_from": "audio",
        "category_mismatches": (
            int((merged["category"] != merged["category_noise"]).sum()) if noise.has_category else None
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


def match_second_noise(merged: pd.DataFrame, noise2: Predictions) -> tuple[np.ndarray, dict[str, Any]]:
    """The second noise run's text for each matched row (``None`` where its ID is missing) and a report."""
    texts = dict(zip(noise2.frame["id"].tolist(), noise2.frame["text"].tolist(), strict=True))
    ids = merged["id"].tolist()
    try:
        found = np.array([i in texts for i in ids], dtype=bool)
    except TypeError:  # unhashable IDs cannot match anything
        found = np.zeros(len(ids), dtype=bool)
    if not found.any():
        raise InputError(
            f"{noise2.path}: no IDs in common with the matched items of the noise and audio files "
            f"(e.g. {noise2.frame['id'].iloc[0]!r} vs {ids[0]!r})"
            if len(noise2.frame)
            else f"{noise2.path}: the file has no rows"
        )
    text2 = np.array([texts[i] if f else None for i, f in zip(ids, found, strict=True)], dtype=object)
    report = {
        "rows": len(noise2.frame),
        "matched": int(found.sum()),
        "missing": int((~found).sum()),
        "only_in_noise_2": len(noise2.frame) - int(found.sum()),
    }
    return text2, report


def check_texts_2(text2: np.ndarray, path: Path, allow_empty: bool) -> int:
    """Null/blank texts of the second noise run among its matched rows; refused unless ``allow_empty``."""
    present = np.array([t is not None for t in text2.tolist()], dtype=bool)
    blank = 0
    for k in np.flatnonzero(present):
        value = text2[k]
        if not isinstance(value, str) or not value.strip():
            blank += 1
            text2[k] = value if isinstance(value, str) else ""
    if blank and not allow_empty:
        raise InputError(
            f"{path}: {blank} matched row(s) have a null or empty text "
            "(pass --allow-empty to score them as empty strings)"
        )
    return blank


def summarize(
    values: np.ndarray,
    categories: np.ndarray,
    cats: list[str],
    clusters: np.ndarray | None,
    bootstrap: int,
    seed: int,
    empty_reason: str | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """:func:`stats.describe` overall and per category of the non-NaN ``values`` (clustered when given).

    A category without values carries ``note`` = ``empty_reason``."""
    ok = ~np.isnan(values)

    def one(mask: np.ndarray) -> dict[str, Any]:
        sel = ok & mask
        d = stats.describe(
            values[sel],
            bootstrap,
            seed,
            clusters=None if clusters is None else clusters[sel],
            bounds=(-1.0, 1.0),
        )
        if not sel.any() and empty_reason:
            d["note"] = empty_reason
        return d

    every = np.ones(len(values), dtype=bool)
    return one(every), {cat: one(categories == cat) for cat in cats}


def compare(
    a: np.ndarray,
    b: np.ndarray,
    names: tuple[str, str],
    clusters: np.ndarray | None,
    bootstrap: int,
    seed: int,
    empty_reason: str | None = None,
) -> dict[str, Any]:
    """``a`` vs ``b`` on the same items: both means, the mean difference with its paired CI (the primary
    statistic), and a paired Wilcoxon signed-rank test (secondary)."""
    diff = stats.paired_difference(a, b, clusters=clusters, n_resamples=bootstrap, seed=seed)
    out: dict[str, Any] = {
        "n": int(a.size),
        f"{names[0]}_mean": stats.mean(a),
        f"{names[1]}_mean": stats.mean(b),
        "mean_difference": diff["difference"],
        "ci95": diff["ci95"],
        "ci_method": diff["ci_method"],
        "ci_note": diff["ci_note"],
        "n_clusters": diff["n_clusters"],
        "wilcoxon": stats.wilcoxon_paired(a, b, zero_below=RESOLUTION),
    }
    if not a.size:
        out["note"] = empty_reason
    return out


def compare_family(
    a: np.ndarray,
    b: np.ndarray,
    names: tuple[str, str],
    categories: np.ndarray,
    cats: list[str],
    clusters: np.ndarray | None,
    bootstrap: int,
    seed: int,
    empty_reason: str,
) -> dict[str, Any]:
    """:func:`compare` over the items where both ``a`` and ``b`` are defined, overall and per category.

    The per-category Wilcoxon p-values get Holm-adjusted values (``p_holm``) over the categories tested."""
    ok = ~(np.isnan(a) | np.isnan(b))

    def one(mask: np.ndarray) -> dict[str, Any]:
        sel = ok & mask
        cl = None if clusters is None else clusters[sel]
        return compare(a[sel], b[sel], names, cl, bootstrap, seed, empty_reason)

    overall = one(np.ones(len(a), dtype=bool))
    by_cat = {cat: one(categories == cat) for cat in cats}
    adjusted = stats.holm({cat: d["wilcoxon"]["p_value"] for cat, d in by_cat.items()})
    for cat, d in by_cat.items():
        d["wilcoxon"]["p_holm"] = adjusted[cat]
        d["wilcoxon"]["p_holm_text"] = stats.format_p(adjusted[cat])
    return {"overall": overall, "by_category": by_cat}


def cluster_codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer cluster of each row; rows without a label (``None``) are clusters of their own.

    Returns the codes and the number of rows without a label."""
    from lalm_bench.similarity.baselines import group_codes

    codes = group_codes(labels)
    missing = codes < 0
    codes[missing] = int(codes.max(initial=-1)) + 1 + np.arange(int(missing.sum()))
    return codes, int(missing.sum())


def plain_value(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def nan_to_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


@dataclass(frozen=True)
class Grouping:
    """What every summary and comparison of one run shares: categories, clusters, bootstrap settings."""

    categories: np.ndarray
    clusters: np.ndarray | None
    bootstrap: int
    seed: int

    @property
    def cats(self) -> list[str]:
        return sorted(set(self.categories.tolist()))

    def describe(self, values: np.ndarray, empty_reason: str | None = None) -> dict[str, Any]:
        """``{overall, by_category}`` of :func:`summarize`."""
        o, c = summarize(values, self.categories, self.cats, self.clusters, self.bootstrap, self.seed, empty_reason)
        return {"overall": o, "by_category": c}

    def compare(self, a: np.ndarray, b: np.ndarray, names: tuple[str, str], empty_reason: str) -> dict[str, Any]:
        """:func:`compare_family` of ``a`` vs ``b``."""
        return compare_family(
            a, b, names, self.categories, self.cats, self.clusters, self.bootstrap, self.seed, empty_reason
        )
