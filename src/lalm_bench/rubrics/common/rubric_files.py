"""Loading a rubric for ``rubrics judge`` and ``rubrics compare``, whatever form it comes in.

Accepted (the kind is recorded with the rubric):

* ``run_folder``: a run folder of ``rubrics generate`` (or its ``log.jsonl`` given directly); the
  rubric is the ``final_criteria`` of the last record with ``status == "ok"``. The log is read
  strictly (every line a valid record, no position twice) and never repaired: it may belong to a
  run that is still being written.
* ``record``: a collected file of ``rubrics collect`` (one record object, or a one-element list with
  ``--wrap-list``);
* ``records``: a JSON list of records (the original scripts' ``results_<k>.json``): its last successful record;
* ``criteria``: a JSON list of ``{"criterion": ..., "weight": ...}``.

Run folders and record lists also give the rubric size after each clip (the growth curve) and,
for each clip whose record added criteria, which reference caption the criteria were drawn from
(``sources``: ``rubrics judge --references`` does not judge those captions, which meet criteria
quoted from them by construction).

The identity of a rubric is the SHA-256 of the canonical JSON of its items (``[{"criterion",
"weight"}]`` in order, integral weights as integers), recorded with its source path and kind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lalm_bench.errors import InputError

Kind = Literal["run_folder", "record", "records", "criteria"]
FORMS = (
    "a run folder of rubrics generate (with log.jsonl), a collected file of rubrics collect, "
    'or a JSON list of {"criterion", "weight"}'
)


@dataclass(frozen=True)
class LoadedRubric:
    """A rubric and where it came from."""

    label: str  # the path as given
    path: Path  # the file read (a run folder's log.jsonl)
    kind: Kind
    items: tuple[dict[str, Any], ...]  # {"criterion": str, "weight": int | float}, in rubric order
    sha256: str
    record: dict[str, Any] | None = None  # run, position, clip, status of the record the rubric is from
    sizes: tuple[int, ...] | None = None  # rubric size after each clip (run logs and record lists)
    failed_clips: int | None = None
    sources: dict[str, int] = field(default_factory=dict)  # clip -> reference index (1-based) used
    sources_split: str | None = None

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def total_weight(self) -> float:
        return _plain_number(sum(it["weight"] for it in self.items))

    def identity(self) -> dict[str, Any]:
        """What a manifest records about the rubric."""
        return {
            "label": self.label,
            "path": str(self.path),
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "total_weight": self.total_weight,
            "record": self.record,
        }


def _plain_number(x: float) -> Any:
    return int(x) if float(x).is_integer() else float(x)


def rubric_sha256(items: Sequence[Mapping[str, Any]]) -> str:
    canonical = json.dumps(
        [{"criterion": it["criterion"], "weight": _plain_number(it["weight"])} for it in items],
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


#: The largest weight a criterion may have: generated rubrics weigh 1 to 5 per merged item, and sums of
#: weights far beyond this would lose precision (1e308 or a 30-digit integer overflowed the tables).
MAX_WEIGHT = 1_000_000


def weight_problem(weight: Any) -> str | None:
    """Why ``weight`` cannot weigh a criterion (a number, finite, above 0, at most :data:`MAX_WEIGHT`),
    or ``None`` when it can."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        return f"the weight must be a number, got {str(weight)[:40]!r}"
    if isinstance(weight, float) and not math.isfinite(weight):
        return f"the weight must be a finite number, got {weight!r}"
    if not weight > 0:
        return f"the weight must be above 0, got {weight!r}"
    if weight > MAX_WEIGHT:
        shown = (
            f"{weight:.3g}"
            if isinstance(weight, float)
            else (str(weight) if weight < 10**20 else f"a {len(str(weight))}-digit integer")
        )
        return f"the weight must be at most {MAX_WEIGHT:,}, got {shown}"
    return None


def check_items(raw: Any, where: str) -> tuple[dict[str, Any], ...]:
    """Validated ``{"criterion", "weight"}`` items: non-empty text, a weight that passes
    :func:`weight_problem`, at least one."""
    if not isinstance(raw, list):
        raise InputError(f"{where}: the rubric must be a list of criteria, found a JSON {type(raw).__name__}")
    if not raw:
        raise InputError(f"{where}: the rubric is empty (no criteria)")
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, Mapping) or "criterion" not in item or "weight" not in item:
            raise InputError(f'{where}: criterion {n} is not an object with "criterion" and "weight"')
        text, weight = item["criterion"], item["weight"]
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: criterion {n}: the text must be a non-empty string")
        problem = weight_problem(weight)
        if problem is not None:
            raise InputError(f"{where}: criterion {n} ({text[:80]!r}): {problem}")
        out.append({"criterion": text, "weight": _plain_number(weight)})
    return tuple(out)


def load_rubric(path: str | Path, label: str | None = None) -> LoadedRubric:
    """The rubric at ``path`` (see the module docstring); :class:`InputError` in one line otherwise."""
    p = Path(path)
    label = label if label is not None else str(path)
    if p.is_dir():
        log = p / "log.jsonl"
        if log.is_file():
            return _from_run_log(log, label)
        runs = sorted(str(d.relative_to(p)) for d in p.glob("*/*") if (d / "log.jsonl").is_file())
        if runs:
            raise InputError(
                f"{label}: an output folder of rubrics generate, not a run folder; give its run folders, "
                f"e.g. {p / runs[0]}"
            )
        raise InputError(f"{label}: a folder without log.jsonl; expected {FORMS}")
    if not p.exists():
        raise InputError(f"{label}: rubric not found")
    if p.suffix.lower() == ".jsonl":
        return _from_run_log(p, label)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: cannot read ({type(exc).__name__})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if isinstance(data, Mapping):
        if "final_criteria" not in data:
            raise InputError(f"{label}: a JSON object without final_criteria; expected {FORMS}")
        items = check_items(data["final_criteria"], label)
        return LoadedRubric(label, p, "record", items, rubric_sha256(items), record=_record_info(data))
    if isinstance(data, list):
        if not data:
            raise InputError(f"{label}: the rubric is empty (an empty list)")
        if all(isinstance(x, Mapping) and "final_criteria" in x for x in data):
            return _from_record_list(data, p, label)
        if all(isinstance(x, Mapping) and "criterion" in x for x in data):
            items = check_items(data, label)
            return LoadedRubric(label, p, "criteria", items, rubric_sha256(items))
    raise InputError(f"{label}: not a rubric; expected {FORMS}")


def _record_info(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: rec.get(k) for k in ("run", "position", "clip", "status")}


def _ok(rec: Mapping[str, Any]) -> bool:
    return rec.get("status", "ok") == "ok"


def _from_records(records: list[dict[str, Any]], path: Path, label: str, kind: Kind) -> LoadedRubric:
    ok = [r for r in records if _ok(r)]
    if not ok:
        what = "no records" if not records else f"{len(records)} record(s), all failed"
        raise InputError(f"{label}: no successful record ({what}); no rubric to use")
    last = ok[-1]
    items = check_items(last.get("final_criteria"), f"{label} (record {last.get('position', len(records) - 1)})")
    sizes = tuple(len(r.get("final_criteria") or []) for r in records)
    sources = {
        str(r["clip"]): int(r["reference_index"])
        for r in ok
        if r.get("new_criteria") and r.get("clip") is not None and int(r.get("reference_index") or 0) > 0
    }
    splits = {r.get("split") for r in ok if r.get("split")}
    return LoadedRubric(
        label,
        path,
        kind,
        items,
        rubric_sha256(items),
        record=_record_info(last),
        sizes=sizes,
        failed_clips=len(records) - len(ok),
        sources=sources,
        sources_split=next(iter(splits)) if len(splits) == 1 else None,
    )


def _from_run_log(log: Path, label: str) -> LoadedRubric:
    from lalm_bench.rubrics.common.records import RunRecord
    from lalm_bench.runs import read_records

    records = read_records(log, RunRecord, key=lambda r: r.position, repair=False, what="rubric record")
    ordered = sorted(records, key=lambda r: r.position)
    return _from_records([r.model_dump(mode="json") for r in ordered], log, label, "run_folder")


def _from_record_list(data: list[Any], path: Path, label: str) -> LoadedRubric:
    if len(data) == 1:  # a collected file written with --wrap-list
        items = check_items(data[0]["final_criteria"], label)
        return LoadedRubric(label, path, "record", items, rubric_sha256(items), record=_record_info(data[0]))
    return _from_records([dict(x) for x in data], path, label, "records")


def load_rubrics(paths: Sequence[str | Path]) -> list[LoadedRubric]:
    """Several rubrics, labelled by their paths as given (a path given again gets ``#2``, ``#3``...)."""
    seen: dict[str, int] = {}
    out = []
    for path in paths:
        label = str(path)
        seen[label] = seen.get(label, 0) + 1
        out.append(load_rubric(path, label if seen[label] == 1 else f"{label}#{seen[label]}"))
    return out
