"""``lalm-bench rubrics collect`` (the original scripts' ``rm_dup.py``): the final record of every run.

A results file of the original scripts (``results_<k>.json``) is a JSON list of records, the last one
holding the final rubric (``final_criteria``); a run log (``<run>/log.jsonl``) holds one record per
line. For each input the last record is written to ``dst_dir`` under the same name (a run log
``<run>/log.jsonl`` or ``<name>.jsonl`` becomes ``<run>.json`` / ``<name>.json``; a run log deeper
down, ``deter/<run>/log.jsonl``, becomes ``deter_<run>.json``), as the object itself or, with
``wrap_list``, as a one-element list.

A file that cannot be used (not JSON, nested too deeply, a run log holding a clip twice, a link
leading outside ``src_dir``) is counted as failed with its reason, and the others are still
collected. Only files under ``src_dir`` are read: ``--pattern`` must be relative and stay inside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError, first_line
from lalm_bench.io import check_folder_writable, write_json
from lalm_bench.rubrics.collect.config import DEFAULT_PATTERN, PATTERNS, CollectConfig


@dataclass
class CollectResult:
    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    pattern: str = DEFAULT_PATTERN
    src_dir: str = ""
    dst_dir: str = ""
    matched: int = 0

    def counts(self) -> dict[str, int]:
        return {"processed": len(self.processed), "skipped": len(self.skipped), "failed": len(self.failed)}


class BadFile(ValueError):
    """An input that holds no usable last record (the reason is one line)."""


def output_name(path: Path, src_dir: Path | None = None) -> str:
    """``<name>.json`` for ``<name>.json``/``<name>.jsonl``; a run log is named for its run folder, with the
    folders between ``src_dir`` and it joined by ``_`` (``deter/run_0/log.jsonl`` -> ``deter_run_0.json``)."""
    if path.suffix.lower() != ".jsonl":
        return path.name
    if path.name != "log.jsonl":
        return f"{path.stem}.json"
    parts = path.parent.relative_to(src_dir).parts if src_dir is not None else ()
    return f"{'_'.join(parts) or path.parent.name}.json"


def _loads(text: str, what: str = "not valid JSON") -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadFile(f"{what} ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise BadFile(f"{what} (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise BadFile(f"{what} ({first_line(exc).split(':')[0][:120]})") from None


def _check_unique(records: list[tuple[int, Any]]) -> None:
    """A run log names each clip (and position) once; twice means two processes wrote one run."""
    for field_name in ("position", "clip"):
        seen: dict[Any, int] = {}
        for lineno, rec in records:
            if not isinstance(rec, dict) or field_name not in rec:
                continue
            value = rec[field_name]
            if not isinstance(value, (str, int)):
                continue
            if value in seen:
                raise BadFile(
                    f"{field_name} {value!r} is logged twice (lines {seen[value]} and {lineno}): two processes "
                    "wrote this run; redo it with rubrics generate --overwrite"
                )
            seen[value] = lineno


def last_record(path: Path) -> dict[str, Any]:
    """The last object of a JSON list, or the last complete line of a JSONL log (whose records must
    each name a different clip)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFile(f"cannot read ({type(exc).__name__})") from exc
    if path.suffix.lower() == ".jsonl":
        lines = text.split("\n")[:-1]  # the part after the last newline is a torn write
        records = [(i, _loads(line, f"line {i} is not JSON")) for i, line in enumerate(lines, 1) if line.strip()]
        if not records:
            raise BadFile("no complete record")
        _check_unique(records)
        last = records[-1][1]
        if not isinstance(last, dict):
            raise BadFile("last line is not a JSON object")
        return last
    data = _loads(text)
    if not isinstance(data, list):
        raise BadFile(f"expected a JSON list of records, found a JSON {type(data).__name__}")
    if not data:
        raise BadFile("empty list")
    if not isinstance(data[-1], dict):
        raise BadFile(f"last item is a JSON {type(data[-1]).__name__}, not an object")
    return data[-1]


def check_pattern(pattern: str) -> str:
    """A glob relative to ``--src-dir`` that cannot leave it."""
    from pathlib import PurePath

    pure = PurePath(pattern)
    if not pattern.strip() or pure.is_absolute() or pattern.startswith(("~", "/", "\\")):
        raise InputError(f"--pattern {pattern!r}: give a pattern relative to --src-dir, e.g. '*.json'")
    if ".." in pure.parts:
        raise InputError(f"--pattern {pattern!r}: '..' would read outside --src-dir")
    return pattern


def run_collect(config: CollectConfig, dst_dir: Path, *, overwrite: bool = False) -> CollectResult:
    """Write the last record of each matching file in ``config.src_dir`` to ``dst_dir``.

    Without a pattern: the first of ``*.json``, ``*/log.jsonl`` and ``*/*/log.jsonl`` (a ``rubrics generate``
    output folder) that matches a file.
    """
    src_dir, dst_dir, pattern = Path(config.src_dir), Path(dst_dir), config.pattern
    if not src_dir.is_dir():
        raise InputError(
            f"--src-dir {src_dir}: not a directory (the default is where rubrics generate writes, ./rubrics)"
        )
    if pattern is not None:
        check_pattern(pattern)
    if dst_dir.resolve() == src_dir.resolve():
        raise InputError("-o/--output must differ from --src-dir")
    check_folder_writable(dst_dir, "-o/--output")
    result = CollectResult(pattern=pattern or DEFAULT_PATTERN, src_dir=str(src_dir), dst_dir=str(dst_dir))
    files: list[Path] = []
    for candidate in [pattern] if pattern is not None else PATTERNS:
        result.pattern = candidate
        files = sorted(p for p in src_dir.glob(candidate) if p.is_file())
        if files:
            break
    result.matched = len(files)
    root = src_dir.resolve()
    seen: dict[str, Path] = {}
    for path in files:
        if not path.resolve().is_relative_to(root):
            result.failed.append((str(path), "a link leading outside --src-dir (not read)"))
            continue
        name = output_name(path, src_dir)
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
        try:
            write_json(dst, [record] if config.wrap_list else record)
        except OSError as exc:
            result.failed.append((str(path), f"cannot write {dst} ({exc.strerror or type(exc).__name__})"))
            continue
        except RecursionError:
            result.failed.append((str(path), "the last record is nested too deeply to write"))
            continue
        result.processed.append(str(path))
    return result
