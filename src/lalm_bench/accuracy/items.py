"""The items of an accuracy run: prediction files read and joined, choices and gold answers checked.

An item is scored when it has at least two choices and its ``answer`` equals exactly one of them
after whitespace and case normalisation; every other item is counted under a reason
(:data:`NOT_SCORED_REASONS`), never scored. Item fields (category, question, choices, answer, audio
path) come from the audio file, the reference; the controls must carry the same choices and answer.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench.accuracy.config import REFERENCE, AccuracyConfig
from lalm_bench.datasets.predictions import PredictionFile, join_predictions, read_predictions
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

MISSING_CATEGORY = "(missing)"
NOT_SCORED_REASONS = (
    "fewer-than-two-choices",  # open questions (MMAU-Pro stores their reference answer as one choice)
    "no-answer",  # the gold answer is null or blank
    "answer-not-in-choices",
    "answer-matches-several-choices",  # two choices read the same once normalised
    "choices-differ-between-files",  # a control was asked other choices (or has another answer)
)
COLUMNS_HINT = (
    "accuracy needs each item's choices and correct answer in every file "
    "(--choices-column, --answer-column); similarity needs only the answers"
)


@dataclass
class Items:
    """The scored items (parallel lists) and the accounting of the rest."""

    ids: list[Any]
    categories: list[str]
    questions: list[str] | None  # None: no question column
    choices: list[list[str]]
    gold: list[int]
    clusters: list[str]
    answers: dict[str, list[str | None]]  # condition -> answer per scored item (None: no answer)
    not_scored: dict[str, int]
    not_scored_items: list[dict[str, Any]]
    matching: dict[str, Any]
    cluster_info: dict[str, Any]
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)
    # condition -> (index of the scored item, permutation_index, permutation, answer) of its other option orders
    orders: dict[str, list[tuple[int, int, list[int], str | None]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def norm(text: Any) -> str:
    """Whitespace- and case-normalised text (how ``answer`` is matched to a choice)."""
    return " ".join(str(text).split()).casefold()


class _NotAList:
    def __init__(self, value: Any) -> None:
        self.value = value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def as_list(value: Any) -> list[Any] | _NotAList | None:
    """A list cell as a Python list: Parquet lists (numpy arrays), lists, tuples, or JSON text of a list
    (what CSV files and ``predict`` write for columns Parquet cannot hold). ``None`` for a missing cell."""
    if _is_missing(value):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return _NotAList(value)
        return parsed if isinstance(parsed, list) else _NotAList(value)
    if isinstance(value, str) and not value.strip():
        return None
    return _NotAList(value)


def _choice_lists(pf: PredictionFile, column: str) -> list[list[str] | None]:
    out: list[list[str] | None] = []
    bad: list[Any] = []
    for value in pf.frame["choices"].tolist():
        lst = as_list(value)
        if isinstance(lst, _NotAList):
            bad.append(lst.value)
            out.append(None)
        else:
            out.append(None if lst is None else ["" if _is_missing(c) else str(c) for c in lst])
    if bad:
        example = repr(bad[0])
        example = example if len(example) <= 60 else example[:57] + "..."
        raise InputError(
            f"{pf.path}: column {column!r} must hold lists of choices (Parquet lists or JSON text of a list); "
            f"found {type(bad[0]).__name__} in {len(bad)} row(s), e.g. {example}"
        )
    return out


def _cluster_keys(value: Any) -> list[str]:
    """The audio files (or cluster labels) of one cell: a list cell gives each of its entries."""
    lst = as_list(value)
    if isinstance(lst, _NotAList):
        lst = [lst.value]
    return sorted({str(p).strip() for p in (lst or []) if not _is_missing(p) and str(p).strip()})


def connected_clusters(keys: list[list[str]], ids: list[Any]) -> list[str]:
    """One cluster label per item: items are linked when they share a key (an audio file), and a cluster
    is a connected component (items A [x, y], B [y, z], C [z] are one cluster). An item without keys
    is its own cluster. A label is the JSON list of the component's keys, sorted."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        root = k
        while parent[root] != root:
            root = parent[root]
        while parent[k] != root:
            parent[k], k = root, parent[k]
        return root

    for ks in keys:
        for k in ks:
            parent.setdefault(k, k)
        for k in ks[1:]:
            a, b = find(ks[0]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    for k in parent:
        members.setdefault(find(k), []).append(k)
    label = {root: json.dumps(sorted(ks), ensure_ascii=False) for root, ks in members.items()}
    return [label[find(ks[0])] if ks else f"item:{i!r}" for ks, i in zip(keys, ids, strict=True)]


def load_items(config: AccuracyConfig) -> Items:
    """Read every condition's file, join them on the id column and sort the items into scored and not."""
    preds = _read_files(config)
    choice_lists = {p.name: _choice_lists(p, config.choices_column) for p in preds}
    merged, matching = join_predictions(preds)
    ref = preds[0]
    names = [p.name for p in preds]
    # positions of the joined rows in each file (the join keeps the first file's order)
    pos = {p.name: p.frame.reset_index().set_index("id").loc[merged["id"], "index"].to_numpy() for p in preds}
    categories_all = _categories(merged, preds, matching)
    reasons: Counter[str] = Counter()
    not_scored_items: list[dict[str, Any]] = []
    keep: list[int] = []
    gold: list[int] = []
    for row in range(len(merged)):
        reason, index = _scorable(merged, row, names, choice_lists, pos)
        if reason is None:
            keep.append(row)
            gold.append(index)
        else:
            reasons[reason] += 1
            not_scored_items.append({"id": _plain(merged.at[row, "id"]), "reason": reason})

    rows = np.asarray(keep, dtype=np.int64)
    ids = [_plain(v) for v in merged["id"].to_numpy()[rows]] if len(rows) else []
    has_question = "question" in ref.present
    questions = (
        ["" if _is_missing(q) else str(q) for q in merged[f"question_{REFERENCE}"].to_numpy()[rows]]
        if has_question
        else None
    )
    answers = {
        name: [None if _is_missing(t) else str(t) for t in merged[f"text_{name}"].to_numpy()[rows]] for name in names
    }
    clusters, cluster_info = _clusters(config, merged, rows, ids, "audio" in ref.present)
    return Items(
        ids=ids,
        categories=[categories_all[r] for r in keep],
        questions=questions,
        choices=[choice_lists[REFERENCE][pos[REFERENCE][r]] or [] for r in keep],
        gold=gold,
        clusters=clusters,
        answers=answers,
        not_scored={r: reasons[r] for r in NOT_SCORED_REASONS if reasons[r]},
        not_scored_items=not_scored_items,
        matching=matching,
        cluster_info=cluster_info,
        files={p.name: p.path for p in preds},
        notes=_notes(config, ref, matching, reasons, has_question),
        orders=_orders(config, preds, ids, [len(choice_lists[REFERENCE][pos[REFERENCE][r]] or []) for r in keep]),
    )


def _orders(
    config: AccuracyConfig, preds: list[PredictionFile], ids: list[Any], n_choices: list[int]
) -> dict[str, list[tuple[int, int, list[int], str | None]]]:
    """The rows of the other option orders (``predict --permute-choices``) of the scored items, per condition.
    A row whose ``permutation`` is not an order of the item's options is an error naming it."""
    where = {str(i): k for k, i in enumerate(ids)}
    out: dict[str, list[tuple[int, int, list[int], str | None]]] = {}
    for p in preds:
        if p.orders is None or not len(p.orders):
            continue
        if "permutation" not in p.orders.columns:
            raise InputError(f"{p.path}: has permutation_index but no permutation column")
        rows = []
        for item, k, perm, text in zip(
            p.orders[config.id_column], p.orders["permutation_index"], p.orders["permutation"],
            p.orders[config.text_column], strict=True,
        ):  # fmt: skip
            i = where.get(str(_plain(item)))
            if i is None:
                continue
            cell = as_list(perm)
            order = [int(j) for j in cell] if isinstance(cell, list) else []
            if sorted(order) != list(range(n_choices[i])):
                raise InputError(
                    f"{p.path}: item {item!r} order {k}: permutation {order} is not an order of its "
                    f"{n_choices[i]} choices"
                )
            rows.append((i, int(k), order, None if _is_missing(text) else str(text)))
        out[p.name] = rows
    return out


def _read_files(config: AccuracyConfig) -> list[PredictionFile]:
    """Every condition's file; the reference (audio) file also gives the category, question, audio and
    cluster columns."""
    required = {"choices": config.choices_column, "answer": config.answer_column}
    preds: list[PredictionFile] = []
    for name, path in config.files():
        req = dict(required)
        opt: dict[str, str] = {}
        if name == REFERENCE:
            req["category"] = config.category_column
            if config.cluster_column:
                req["cluster"] = config.cluster_column
            for key, col, default in (
                ("question", config.question_column, "question"),
                ("audio", config.audio_column, "audio_path"),
            ):
                if col is None:
                    opt[key] = default
                else:
                    req[key] = col
        else:
            opt["category"] = config.category_column
        preds.append(
            read_predictions(
                path,
                name=name,
                id_column=config.id_column,
                text_column=config.text_column,
                required=req,
                optional=opt,
                hint=COLUMNS_HINT,
            )
        )
    return preds


def _categories(merged: pd.DataFrame, preds: list[PredictionFile], matching: dict[str, Any]) -> list[str]:
    """Each row's category from the reference file; counts where another file disagrees go to ``matching``."""
    categories = [MISSING_CATEGORY if _is_missing(c) else str(c) for c in merged[f"category_{REFERENCE}"]]
    matching["category_mismatches"] = {}
    for p in preds[1:]:
        col = f"category_{p.name}"
        if col in merged.columns:
            other = [MISSING_CATEGORY if _is_missing(c) else str(c) for c in merged[col]]
            matching["category_mismatches"][p.name] = sum(a != b for a, b in zip(categories, other, strict=True))
        else:
            matching["category_mismatches"][p.name] = None
    matching["category_from"] = REFERENCE
    return categories


def _scorable(
    merged: pd.DataFrame,
    row: int,
    names: list[str],
    choice_lists: dict[str, list[list[str] | None]],
    pos: dict[str, np.ndarray],
) -> tuple[str | None, int]:
    """``(None, gold index)`` for a row that can be scored, else ``(reason, -1)``."""
    chs = choice_lists[REFERENCE][pos[REFERENCE][row]]
    answer = merged.at[row, f"answer_{REFERENCE}"]
    if chs is None or len(chs) < 2:
        return "fewer-than-two-choices", -1
    if _is_missing(answer) or not str(answer).strip():
        return "no-answer", -1
    matches = [i for i, c in enumerate(chs) if norm(c) == norm(answer)]
    if not matches:
        return "answer-not-in-choices", -1
    if len(matches) > 1:
        return "answer-matches-several-choices", -1
    normed = [norm(c) for c in chs]
    for name in names[1:]:
        other = choice_lists[name][pos[name][row]]
        other_answer = merged.at[row, f"answer_{name}"]
        if (
            other is None
            or [norm(c) for c in other] != normed
            or _is_missing(other_answer)
            or norm(other_answer) != norm(answer)
        ):
            return "choices-differ-between-files", -1
    return None, matches[0]


def _clusters(
    config: AccuracyConfig, merged: pd.DataFrame, rows: np.ndarray, ids: list[Any], has_audio: bool
) -> tuple[list[str], dict[str, Any]]:
    """Each scored item's cluster (connected components over shared audio files or ``--cluster-column``
    labels) and the description of how the intervals use them."""
    by_column = config.cluster_column is not None
    source = "cluster" if by_column else "audio"
    has_keys = by_column or has_audio
    keys = (
        [_cluster_keys(v) for v in merged[f"{source}_{REFERENCE}"].to_numpy()[rows]]
        if has_keys
        else [[] for _ in range(len(rows))]
    )
    no_key = sum(not k for k in keys)
    clusters = connected_clusters(keys, ids)
    sizes = Counter(clusters)
    shared = any(k > 1 for k in sizes.values())
    key_col = config.cluster_column if by_column else ((config.audio_column or "audio_path") if has_audio else None)
    what = "label" if by_column else "audio file"
    if not has_keys:
        note = "no audio column: every item is its own cluster (items sharing a clip would make the CIs too narrow)"
    elif shared:
        note = (
            f"items sharing a {what} of {key_col!r} form one cluster (connected components: items linked through "
            f"any shared {what}); items without one are their own cluster. Intervals are clustered "
            "(cluster-wilson, cluster-tango)"
        )
    else:
        note = (
            f"no {what} of {key_col!r} is shared between scored items: every item is its own cluster, so the "
            "plain (unclustered) intervals are used (wilson, tango)"
        )
    return clusters, {
        "column": key_col,
        "by": "cluster-column" if by_column else ("audio-files" if has_audio else None),
        "clusters": len(sizes),
        "shared": shared,
        "items_in_shared_clusters": int(sum(k for k in sizes.values() if k > 1)),
        "largest_cluster": max(sizes.values(), default=0),
        "items_without_audio_path" if not by_column else "items_without_label": no_key,
        "intervals": "clustered" if shared else "plain",
        "note": note,
    }


def _notes(
    config: AccuracyConfig,
    ref: PredictionFile,
    matching: dict[str, Any],
    reasons: Counter[str],
    has_question: bool,
) -> list[str]:
    notes: list[str] = []
    if config.cluster_column is None and "audio" not in ref.present:
        notes.append(
            f"{ref.path} has no audio column ({config.audio_column or 'audio_path'}): CIs treat every item as "
            "independent; give --audio-column or --cluster-column so that items sharing a clip are one cluster"
        )
    if not has_question:
        notes.append(
            f"{ref.path} has no question column: the fallback reads answers without the question "
            "(the embedding thresholds were calibrated with it)"
        )
    if any(matching["unmatched"].values()):
        parts = ", ".join(f"{n}: {k}" for n, k in matching["unmatched"].items() if k)
        notes.append(f"rows without a partner in every file were left out ({parts})")
    mism = {n: k for n, k in matching["category_mismatches"].items() if k}
    if mism:
        notes.append(
            "categories differ between files for "
            + ", ".join(f"{k} item(s) of {n}" for n, k in mism.items())
            + f" (categories are taken from the {REFERENCE} file)"
        )
    if reasons.get("choices-differ-between-files"):
        notes.append(
            f"{reasons['choices-differ-between-files']} item(s) have other choices or another answer in a control "
            "file than in the audio file: not scored"
        )
    return notes


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
