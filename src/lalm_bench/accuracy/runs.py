"""Several models' prediction files for one ``accuracy`` call: ``--run NAME=SPEC`` and ``--runs FILE``.

A SPEC is one of

* a folder of ``predict`` outputs (every ``*.manifest.json`` of ``command: predict`` in it, not below):
  the output that holds ``audio`` gives each condition its plain name; the conditions of any other
  output in the folder (another seed: ``preds-seed2_noise.parquet``) are repeats, ``noise@1``,
  ``noise@2`` … in file-name order — the layout ``lalm-bench demo`` writes per model; the samples of
  ``predict --samples K`` (``preds_noise@1.parquet`` …) keep their names (those of ``audio`` are left out:
  accuracy repeats controls, not its reference);
* a ``predict`` output path as given to ``predict -o`` (``out/preds.parquet``; the file itself need not
  exist): its ``preds_<condition>.parquet`` files;
* a ``.json`` or ``.toml`` file mapping condition to prediction file (``{"audio": "a.parquet",
  "noise": "n.parquet", "noise@1": "n2.parquet"}``; relative paths from the file's folder).

``--runs FILE`` (JSON or TOML) maps model names to SPECs or to such mappings, under ``runs`` or at the
top level. Every problem is one :class:`~lalm_bench.errors.InputError` line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError

MANIFEST_SUFFIX = ".manifest.json"
PARQUET_SUFFIXES = (".parquet", ".pq")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,79}")


@dataclass(frozen=True)
class ModelRun:
    """One model's prediction files: ``(condition, file)`` pairs, ``audio`` among them; ``source`` is what
    the user gave."""

    name: str
    files: tuple[tuple[str, Path], ...]
    source: str

    def conditions(self) -> dict[str, str]:
        return {c: str(p) for c, p in self.files}


def parse_run(spec: str) -> ModelRun:
    """``NAME=SPEC`` of ``--run`` as a :class:`ModelRun`."""
    name, sep, target = spec.partition("=")
    name, target = name.strip(), target.strip()
    if not sep or not name or not target:
        raise InputError(f"--run {spec!r}: expected NAME=FOLDER, NAME=PREDICT_OUTPUT.parquet or NAME=MANIFEST.json")
    return resolve_run(name, target, f"--run {name}")


def resolve_run(name: str, target: str | Path, where: str) -> ModelRun:
    """The files of model ``name`` from a SPEC (a path)."""
    if not _NAME.fullmatch(name):
        raise InputError(f"{where}: a model name is 1-80 letters, digits or '_.:/+-' (got {name!r})")
    path = Path(target)
    if path.is_dir():
        files = _folder(path, None, where)
    elif path.suffix.lower() in (".json", ".toml") and path.is_file():
        files = _mapping(_load(path, where), path.parent, f"{where} ({path})")
    elif path.suffix.lower() in PARQUET_SUFFIXES:
        files = _folder(path.parent if str(path.parent) else Path("."), path.stem, where)
    else:
        raise InputError(
            f"{where}: {path} is not a folder of predict outputs, a predict output (NAME.parquet) or a "
            ".json/.toml file mapping conditions to prediction files"
        )
    return ModelRun(name, files, str(target))


def read_runs_file(path: Path) -> list[ModelRun]:
    """The models of a ``--runs`` manifest (JSON or TOML): ``{"runs": {NAME: SPEC or {condition: file}}}``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--runs {path}: no such file")
    doc = _load(path, f"--runs {path}")
    runs = doc.get("runs", doc)
    if not isinstance(runs, dict) or not runs:
        raise InputError(f"--runs {path}: expected a table 'runs' mapping model names to prediction files")
    out = []
    for name, target in runs.items():
        where = f"--runs {path}: model {name!r}"
        if isinstance(target, str):
            target = str(path.parent / target) if not Path(target).is_absolute() else target
            out.append(resolve_run(str(name), target, where))
        elif isinstance(target, dict):
            if not _NAME.fullmatch(str(name)):
                raise InputError(f"{where}: a model name is 1-80 letters, digits or '_.:/+-'")
            out.append(ModelRun(str(name), _mapping(target, path.parent, where), f"{path}#{name}"))
        else:
            raise InputError(f"{where}: expected a path or a table of condition = file")
    return out


def check_runs(runs: list[ModelRun]) -> None:
    """At least two models, each named once."""
    seen: set[str] = set()
    for run in runs:
        if run.name in seen:
            raise InputError(f"model {run.name!r} is given twice (--run/--runs); give each model once")
        seen.add(run.name)
    if len(runs) < 2:
        raise InputError("comparing models needs at least two runs (--run NAME=… twice, or --runs FILE)")


def _load(path: Path, where: str) -> dict[str, Any]:
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            doc: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError and JSONDecodeError are ValueErrors
        raise InputError(f"{where}: cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: {path} holds no table")
    return doc


def _mapping(doc: dict[str, Any], base: Path, where: str) -> tuple[tuple[str, Path], ...]:
    doc = doc.get("conditions", doc) if isinstance(doc.get("conditions"), dict) else doc
    files = []
    for cond, file in doc.items():
        if not isinstance(file, str) or not file.strip():
            raise InputError(f"{where}: condition {cond!r} must name a prediction file")
        p = Path(file)
        files.append((str(cond), p if p.is_absolute() else base / p))
    return _ordered(files, where)


def _ordered(files: list[tuple[str, Path]], where: str) -> tuple[tuple[str, Path], ...]:
    names = [c for c, _ in files]
    if "audio" not in names:
        raise InputError(f"{where}: no prediction file with the real audio (condition 'audio')")
    if len(names) < 2:
        raise InputError(f"{where}: only 'audio'; a control (noise, silence, none, …) is needed too")
    return tuple(sorted(files, key=lambda t: (t[0] != "audio", t[0].split("@")[0] != "noise", t[0])))


def _folder(folder: Path, stem: str | None, where: str) -> tuple[tuple[str, Path], ...]:
    """The predict outputs in ``folder`` (only those named ``<stem>_<condition>`` when ``stem`` is given)."""
    outputs: dict[str, dict[str, Path]] = {}  # predict output stem -> condition -> parquet
    for manifest in sorted(folder.glob("*" + MANIFEST_SUFFIX)):
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("command") != "predict" or not isinstance(doc.get("condition"), str):
            continue
        cond = doc["condition"]
        sample = doc.get("sample")
        if isinstance(sample, dict) and isinstance(sample.get("index"), int) and sample["index"] >= 1:
            if cond == "audio":  # accuracy repeats controls, not its reference
                continue
            cond = f"{cond}@{sample['index']}"  # predict --samples K: sample k of the condition is a repeat
        base = manifest.name[: -len(MANIFEST_SUFFIX)]
        if not base.endswith("_" + cond):
            continue
        out_stem = base[: -len(cond) - 1]
        if stem is not None and out_stem != stem:
            continue
        parquet = next((folder / (base + s) for s in PARQUET_SUFFIXES if (folder / (base + s)).is_file()), None)
        if parquet is not None:
            outputs.setdefault(out_stem, {})[cond] = parquet
    what = f"{folder}/{stem}_<condition>.parquet" if stem is not None else f"{folder}/"
    if not outputs:
        hint = " (name the path given to predict -o, e.g. preds.parquet, not one condition's file)" if stem else ""
        raise InputError(f"{where}: no predict output in {what} (a *_<condition>.parquet beside its manifest){hint}")
    primary = [s for s, conds in outputs.items() if "audio" in conds]
    if len(primary) != 1:
        found = ", ".join(sorted(primary)) or "none"
        raise InputError(
            f"{where}: {what} must hold one predict output with the audio condition (found: {found}); "
            "name the output (NAME=FOLDER/preds.parquet) or give a manifest of condition = file"
        )
    files = list(outputs[primary[0]].items())
    taken = {name for name, _ in files}
    for out_stem in sorted(s for s in outputs if s != primary[0]):
        for cond, parquet in sorted(outputs[out_stem].items()):
            if cond == "audio":
                continue
            plain, k = cond.split("@")[0], 1
            while f"{plain}@{k}" in taken:  # after the primary output's own samples (predict --samples)
                k += 1
            taken.add(f"{plain}@{k}")
            files.append((f"{plain}@{k}", parquet))
    return _ordered(files, where)
