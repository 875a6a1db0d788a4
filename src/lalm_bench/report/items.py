"""The rows of the items browser: one per item, a cell per condition (answer, pick, right or wrong, audio).

Answers, questions and choices are untrusted text: they go into the page's JSON as strings and the page
inserts them with ``textContent`` only. Answers longer than :data:`MAX_TEXT` characters are cut in the
page (the cell says how many characters were left out); the prediction file keeps them whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.report.inputs import ModelInputs

MAX_TEXT = 20_000
CONDITION_ORDER = ("audio", "noise", "noise-2", "silence", "none", "mismatched")
#: accuracy's labels of the items right with audio only (format 2, and format 1's name)
RIGHT_ONLY_WITH_AUDIO = ("right-only-with-audio", "refused-without-audio", "needs-audio")


@dataclass
class ModelItems:
    """The browser rows of one model, its conditions in order, and per control the identical-answer counts."""

    conditions: list[str]
    rows: list[dict[str, Any]]
    identical: dict[str, tuple[int, int]]
    frames: dict[str, Any] = field(default_factory=dict, repr=False)  # condition -> DataFrame (for audio)
    warnings: list[str] = field(default_factory=list)


def order_conditions(names: list[str] | set[str]) -> list[str]:
    rank = {c: i for i, c in enumerate(CONDITION_ORDER)}
    return sorted(set(names), key=lambda c: (rank.get(c, len(rank)), c))


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                parsed = json.loads(s)
            except ValueError:
                return [value]
            return [str(x) for x in parsed] if isinstance(parsed, list) else [value]
        return [value] if s else []
    try:
        return [str(x) for x in list(value)]
    except TypeError:
        return [str(value)]


def _columns(m: ModelInputs) -> dict[str, str | None]:
    cols: dict[str, str | None] = {
        "id": "id", "text": "model_output", "category": "category", "question": "question",
        "choices": "choices", "answer": "answer", "audio": "audio_path",
    }  # fmt: skip
    for job in (m.similarity, m.accuracy):
        if job is None:
            continue
        params = job.doc.get("manifest", {}).get("parameters", {})
        for key in ("id", "text", "category", "question", "choices", "answer", "audio"):
            if params.get(f"{key}_column"):
                cols[key] = params[f"{key}_column"]
    for run in m.predict.values():
        pc = (run.manifest.get("settings") or {}).get("columns") or {}
        for key in ("id", "question", "choices", "category", "answer", "audio"):
            if pc.get(key):
                cols[key] = pc[key]
    return cols


def build_items(m: ModelInputs) -> ModelItems:
    """Read the model's prediction files and join them with its accuracy and similarity rows."""
    cols = _columns(m)
    frames, warnings = _read_frames(m, cols)
    acc_rows: dict[str, dict[str, Any]] = {}
    acc_conds: list[str] = []
    if m.accuracy is not None:
        acc_rows = {str(r["id"]): r for r in m.accuracy.doc.get("items", [])}
        acc_conds = list(m.accuracy.doc.get("conditions", {}))
    sim_rows: dict[str, dict[str, Any]] = {}
    if m.similarity is not None:
        sim_rows = {str(r["id"]): r for r in m.similarity.doc.get("detailed", [])}
    conditions = order_conditions(set(frames) | set(acc_conds))
    records = {c: dict(zip(f.index, f.to_dict("records"), strict=True)) for c, f in frames.items()}
    identical = {c: [0, 0] for c in conditions if c != "audio"}
    rows = [
        _row(item, conditions, records, acc_rows.get(item), sim_rows.get(item), cols, identical)
        for item in _item_ids(frames, acc_rows, sim_rows)
    ]
    return ModelItems(
        conditions=conditions,
        rows=rows,
        identical={c: (k, n) for c, (k, n) in identical.items() if n},
        frames=frames,
        warnings=warnings,
    )


def _read_frames(m: ModelInputs, cols: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each condition's prediction table indexed by id (first row per id); a file that cannot be used is a
    warning, not an error."""
    from lalm_bench.io import read_parquet

    warnings: list[str] = []
    frames: dict[str, Any] = {}
    for cond, path in m.prediction_files().items():
        if not Path(path).is_file():
            warnings.append(f"{cond}: prediction file {path} not found: its answers are not in the page")
            continue
        df = read_parquet(path)
        if cols["id"] not in df.columns:
            warnings.append(f"{cond}: {path} has no id column {cols['id']!r}: its answers are not in the page")
            continue
        df = df.drop_duplicates(subset=[cols["id"]])
        df.index = df[cols["id"]].astype(str)
        frames[cond] = df
    return frames, warnings


def _item_ids(frames: dict[str, Any], acc_rows: dict[str, Any], sim_rows: dict[str, Any]) -> list[str]:
    """Every item once: those of the audio file first, then of the other files, then of the job rows."""
    ids: list[str] = []
    seen: set[str] = set()
    for source in [frames.get("audio"), *frames.values()]:
        if source is None:
            continue
        for i in source.index.tolist():
            if i not in seen:
                seen.add(i)
                ids.append(i)
    for i in [*acc_rows, *sim_rows]:
        if i not in seen:
            seen.add(i)
            ids.append(i)
    return ids


def _row(
    item: str,
    conditions: list[str],
    records: dict[str, dict[str, Any]],
    acc: dict[str, Any] | None,
    sim: dict[str, Any] | None,
    cols: dict[str, Any],
    identical: dict[str, list[int]],
) -> dict[str, Any]:
    """One item's row: its question and choices, and a cell per condition (``identical`` counts answers equal
    to the one with audio)."""
    first = [records[c] for c in conditions if c in records]
    base = next((f[item] for f in first if item in f), None)

    def field_of(key: str, row: Any = base) -> Any:
        col = cols.get(key)
        return None if row is None or not col or col not in row else row[col]

    row: dict[str, Any] = {
        "id": item,
        "cat": _text(field_of("category")) or (acc or sim or {}).get("category") or "(missing)",
        "q": _text(field_of("question")) or "",
        "ch": _list(field_of("choices")),
        "ans": _text(field_of("answer")),
        "gold": acc.get("gold") if acc else None,
        "rel": acc.get("reliance") if acc else None,
        "sim": sim.get("similarity") if sim else None,
        "c": {},
    }
    audio_text: str | None = None
    for cond in conditions:
        cell: dict[str, Any] = {}
        f = records.get(cond)
        if f is not None and item in f:
            r = f[item]
            text = _text(r.get(cols["text"]))
            if text is not None and len(text) > MAX_TEXT:
                cell["tl"] = len(text)
                text = text[:MAX_TEXT]
            cell["t"] = text
            err = _text(r.get("error"))
            if err:
                cell["e"] = err[:2000]
            if _text(r.get("finish_reason")) == "length":
                cell["cut"] = True
            if cond == "audio":
                audio_text = _text(r.get(cols["text"]))
            elif audio_text is not None and text is not None:
                identical[cond][1] += 1
                if _text(r.get(cols["text"])) == audio_text:
                    identical[cond][0] += 1
                    cell["same"] = True
                    del cell["t"]  # the page shows the answer with audio: stored once
                    cell.pop("tl", None)
        if acc is not None and f"correct_{cond}" in acc:
            cell["k"] = acc.get(f"choice_{cond}")
            cell["m"] = acc.get(f"method_{cond}")
            cell["r"] = acc.get(f"rule_{cond}")
            cell["ok"] = bool(acc.get(f"correct_{cond}"))
        if cell:
            row["c"][cond] = cell
    cells = row["c"]
    ref = cells.get("audio", {}).get("k")
    row["flip"] = ref is not None and any(
        c.get("k") is not None and c.get("k") != ref for n, c in cells.items() if n != "audio"
    )
    row["unp"] = any(c.get("m") == "unparsed" for c in cells.values())
    row["ref"] = any(c.get("r") == "refusal" for c in cells.values())
    row["err"] = any("e" in c for c in cells.values())
    row["same"] = any(c.get("same") for c in cells.values())
    return row


def audio_order(rows: list[dict[str, Any]]) -> list[int]:
    """Row indices in the order players are given: flips, then right only with audio, then the rest."""

    def key(i: int) -> tuple[int, int]:
        r = rows[i]
        return (0 if r.get("flip") else 1 if r.get("rel") in RIGHT_ONLY_WITH_AUDIO else 2, i)

    return sorted(range(len(rows)), key=key)


def choice_text(row: Mapping[str, Any], k: int | None) -> str | None:
    ch = row.get("ch") or []
    return ch[k] if k is not None and 0 <= k < len(ch) else None
