"""``lalm-bench rubrics collect`` (the seed's ``rm_dup.py``): the final record of every run.

A seed results file (``results_<k>.json``) is a JSON list of records, the last one holding the
final rubric (``final_criteria``); a run log (``<run>/log.jsonl``) holds one record per line. For
each input the last record is written to ``dst_dir`` under the same name (a run log
``<run>/log.jsonl`` or ``<name>.jsonl`` becomes ``<run>.json`` / ``<name>.json``), as the object
itself or, with ``wrap_list``, as a one-element list.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError
from lalm_bench.io import write_json

DEFAULT_PATTERN = "*.json"
RUN_LOG_PATTERN = "*/log.jsonl"


@dataclass
class CollectResult:
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    pattern: str = DEFAULT_PATTERN

    def counts(self) -> dict[str, int]:
        return {"processed": len(self.processed), "skipped": len(self.skipped), "failed": len(self.failed)}


class BadFile(ValueError):
    """An input that holds no usable last record (the reason is one line)."""


def output_name(path: Path) -> str:
    if path.suffix.lower() == ".jsonl":
        return f"{path.parent.name if path.name == 'log.jsonl' else path.stem}.json"
    return path.name


def last_record(path: Path) -> dict[str, Any]:
    """The last object of a JSON list, or the last complete line of a JSONL log."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(f"cannot read ({type(exc).__name__})") from exc
    if path.suffix.lower() == ".jsonl":
        lines = text.split("\n")[:-1]  # the part after the last newline is a torn write
        for line in reversed(lines):
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadFile(f"last complete line is not JSON ({exc.msg})") from exc
                if not isinstance(obj, dict):
                    raise BadFile("last line is not a JSON object")
                return obj
        raise BadFile("no complete record")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, list):
        raise BadFile(f"expected a JSON list of records, found a JSON {type(data).__name__}")
    if not data:
        raise BadFile("empty list")
    if not isinstance(data[-1], dict):
        raise BadFile(f"last item is a JSON {type(data[-1]).__name__}, not an object")
    return data[-1]


def collect(
    src_dir: Path,
    dst_dir: Path,
    pattern: str | None = None,
    wrap_list: bool = False,
    overwrite: bool = False,
    quiet: bool = False,
) -> CollectResult:
    """Write the last record of each matching file in ``src_dir`` to ``dst_dir``.

    Without ``pattern``: ``*.json`` files, or the run logs ``*/log.jsonl`` when there are none.
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    if not src_dir.is_dir():
        raise InputError(f"--src-dir {src_dir}: not a directory")
    result = CollectResult(pattern=pattern or DEFAULT_PATTERN)
    files = sorted(p for p in src_dir.glob(result.pattern) if p.is_file())
    if not files and pattern is None:
        result.pattern = RUN_LOG_PATTERN
        files = sorted(p for p in src_dir.glob(RUN_LOG_PATTERN) if p.is_file())
    if dst_dir.resolve() == src_dir.resolve():
        raise InputError("--dst-dir must differ from --src-dir")
    seen: dict[str, Path] = {}
    for path in files:
        name = output_name(path)
        if name in seen:
            result.failed.append((str(path), f"output name {name} already used by {seen[name]}"))
            continue
        seen[name] = path
        dst = dst_dir / name
        if dst.exists() and not overwrite:
            result.skipped.append(str(path))
            continue
        try:
            record = last_record(path)
        except BadFile as exc:
            result.failed.append((str(path), str(exc)))
            continue
        write_json(dst, [record] if wrap_list else record)
        result.processed.append(str(path))
    if not quiet:
        for failed, reason in result.failed:
            print(f"failed: {failed}: {reason}", file=sys.stderr)
        c = result.counts()
        print(
            f"{c['processed']} processed, {c['skipped']} skipped, {c['failed']} failed "
            f"({len(files)} files matching {result.pattern} in {src_dir}) -> {dst_dir}"
        )
        if c["skipped"]:
            print("skipped files exist in the destination; pass --overwrite to replace them")
    return result
