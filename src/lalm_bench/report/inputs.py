"""What the report reads: every path recognised by its ``format`` field or its manifest, grouped by model.

Recognised (files, or anything found under a folder):

- ``predict``: ``preds_<condition>.parquet`` beside ``preds_<condition>.manifest.json`` (``command: predict``);
  the run folders ``<name>.runs/`` are skipped when scanning (the Parquet files hold what the page needs);
- ``accuracy`` / ``similarity`` JSON (``lalm-bench/accuracy/…``, ``lalm-bench/similarity/…``); the
  prediction files they name in their manifest are read for the answers;
- ``accuracy --run`` JSON (``lalm-bench/accuracy-models/…``, model against model): its leaderboard is a table;
- ``rubrics judge`` (``summary.json`` of a judge folder), ``rubrics compare`` JSON, ``clotho-refs`` summary.

A model label comes from ``--label NAME=PATH``, else the model of the predict manifest, else the folder of
the prediction file made with audio. Two inputs that cannot belong to one model (another benchmark,
another item set, another prediction file) are one ``error:`` line naming both files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError

PREDICT_SUFFIX = ".manifest.json"
JOB_FORMATS = {
    "lalm-bench/accuracy/": "accuracy",
    "lalm-bench/accuracy-models/": "models",
    "lalm-bench/similarity/": "similarity",
    "lalm-bench/rubrics-judge/": "judge",
    "lalm-bench/rubrics-compare/": "compare",
    "lalm-bench/clotho-refs/": "clotho-refs",
}


@dataclass
class PredictRun:
    """One condition of a predict output: its Parquet file and manifest."""

    condition: str
    parquet: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def benchmark_sha256(self) -> str | None:
        return (self.manifest.get("settings") or {}).get("benchmark_sha256")


@dataclass
class JobDoc:
    """A recognised JSON output: its kind, path and content."""

    kind: str
    path: Path
    doc: dict[str, Any]


@dataclass
class ModelInputs:
    """Everything under one model label."""

    label: str
    predict: dict[str, PredictRun] = field(default_factory=dict)
    accuracy: JobDoc | None = None
    similarity: JobDoc | None = None
    label_given: bool = False

    def files(self) -> list[Path]:
        out = [p for r in self.predict.values() for p in (r.parquet, r.manifest_path)]
        out += [d.path for d in (self.accuracy, self.similarity) if d is not None]
        return out

    def prediction_files(self) -> dict[str, Path]:
        """Condition → prediction file: predict's own, else those named by accuracy, then similarity."""
        out: dict[str, Path] = {c: r.parquet for c, r in self.predict.items()}
        if self.accuracy is not None:
            for c, p in (self.accuracy.doc.get("manifest", {}).get("parameters", {}).get("conditions") or {}).items():
                out.setdefault(c, Path(p))
        if self.similarity is not None:
            params = self.similarity.doc.get("manifest", {}).get("parameters", {})
            for c, key in (("audio", "audio_file"), ("noise", "noise_file"), ("noise-2", "noise_file_2")):
                if params.get(key):
                    out.setdefault(c, Path(params[key]))
        return out


@dataclass
class Inputs:
    models: dict[str, ModelInputs]
    judge: list[JobDoc]
    compare: list[JobDoc]
    clotho_refs: list[JobDoc]
    files: list[Path]
    models_compared: list[JobDoc] = field(default_factory=list)  # accuracy --run results (model against model)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _kind(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    fmt = doc.get("format")
    if isinstance(fmt, str):
        for prefix, kind in JOB_FORMATS.items():
            if fmt.startswith(prefix):
                return kind
    if doc.get("command") == "predict" and isinstance(doc.get("condition"), str):
        return "predict"
    return None


def _predict_run(manifest_path: Path, doc: dict[str, Any]) -> PredictRun:
    parquet = manifest_path.with_name(manifest_path.name[: -len(PREDICT_SUFFIX)] + ".parquet")
    if not parquet.is_file():
        raise InputError(f"{manifest_path}: its predictions {parquet.name} are not beside it")
    return PredictRun(str(doc["condition"]), parquet, manifest_path, doc)


def _scan(path: Path, explicit: bool) -> list[tuple[str, Path, Any]]:
    """(kind, path, content) of every recognised output at ``path`` (a file, or files under a folder)."""
    if path.is_dir():
        found: list[tuple[str, Path, Any]] = []
        for p in sorted(path.rglob("*.json")):
            if any(part.endswith(".runs") for part in p.relative_to(path).parts[:-1]):
                continue
            try:
                doc = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            kind = _kind(doc)
            if kind == "predict" and not p.name.endswith(PREDICT_SUFFIX):
                continue  # a run folder's run.json: the manifest beside the Parquet file is what counts
            if kind is not None:
                found.append((kind, p, doc))
        return found
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix.lower() in {".parquet", ".pq"}:
        manifest = path.with_name(path.stem + PREDICT_SUFFIX)
        if not manifest.is_file():
            raise InputError(
                f"{path}: a prediction file without its predict manifest ({manifest.name}); give the accuracy or "
                "similarity JSON made from it instead"
            )
        path = manifest
    doc = _load_json(path)
    kind = _kind(doc)
    if kind == "predict" and not path.name.endswith(PREDICT_SUFFIX):
        raise InputError(f"{path}: a predict run file; give the predictions (preds_<condition>.parquet) instead")
    if kind is None and explicit:
        raise InputError(f"{path}: not an output of a lalm-bench job (no known 'format', not a predict manifest)")
    return [] if kind is None else [(kind, path, doc)]


def _seed(run: PredictRun) -> Any:
    return (run.manifest.get("settings") or {}).get("seed", (run.manifest.get("parameters") or {}).get("seed"))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _under(p: Path, folder: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
        return True
    except (OSError, ValueError):
        return False


def _given_label(p: Path, labels: dict[str, Path], owner: Path) -> str | None:
    for name, target in labels.items():
        if _same(p, target) or _same(owner, target) or (target.is_dir() and _under(p, target)):
            return name
    return None


def _audio_key(job: JobDoc) -> Path | None:
    params = job.doc.get("manifest", {}).get("parameters", {})
    if job.kind == "accuracy":
        p = (params.get("conditions") or {}).get("audio") or params.get("audio_file")
    else:
        p = params.get("audio_file")
    return Path(p) if p else None


def _input_sha(job: JobDoc, path: Path | None) -> str | None:
    if path is None:
        return None
    for entry in job.doc.get("manifest", {}).get("inputs", []):
        if isinstance(entry, dict) and entry.get("path") and _same(Path(entry["path"]), path):
            return entry.get("sha256")
    return None


def collect_inputs(paths: list[Path] | tuple[Path, ...], labels: dict[str, Path] | None = None) -> Inputs:
    """Recognise every path and group the model outputs by label (see the module doc)."""
    labels = dict(labels or {})
    found = _find(paths, labels)
    compared = [JobDoc(k, fp, doc) for k, fp, doc, _ in found if k == "models"]
    files = [Path(f[1]) for f in found]
    found = [f for f in found if f[0] != "models"]
    models: dict[str, ModelInputs] = {}
    predict_label: dict[Path, str] = {}  # resolved parquet -> label
    _add_predict_runs(found, labels, models, predict_label)
    judge, compare, refs = _add_job_docs(found, labels, models, predict_label)
    for m in models.values():
        _check_belongs(m)
    return Inputs(models, judge, compare, refs, files, compared)


Found = tuple[str, Path, Any, Path]  # kind, file, document, the PATH it was found under


def _find(paths: list[Path] | tuple[Path, ...], labels: dict[str, Path]) -> list[Found]:
    """Every lalm-bench output under ``paths`` once; a ``--label`` naming no input is refused."""
    if not paths:
        raise InputError("give at least one PATH: an output file or folder of predict, accuracy, similarity, …")
    for name, target in labels.items():
        if not any(_same(target, p) or _under(target, p) or (Path(p).is_dir() and _under(p, target)) for p in paths):
            raise InputError(f"--label {name}={target}: that path is not among the inputs")
    found: list[Found] = []
    seen: set[Path] = set()
    for p in paths:
        for kind, fp, doc in _scan(Path(p), explicit=True):
            key = fp.resolve()
            if key not in seen:
                seen.add(key)
                found.append((kind, fp, doc, Path(p)))
    if not found:
        raise InputError(f"no lalm-bench output found in {', '.join(str(p) for p in paths)}")
    return found


def _model(models: dict[str, ModelInputs], label: str, given: bool) -> ModelInputs:
    m = models.setdefault(label, ModelInputs(label))
    m.label_given = m.label_given or given
    return m


def _add_predict_runs(
    found: list[Found], labels: dict[str, Path], models: dict[str, ModelInputs], predict_label: dict[Path, str]
) -> None:
    """Each predict output under its model's label; a second noise seed becomes ``noise-2``; two files of one
    condition, or two benchmarks, under one label are refused."""
    second_noise = {
        Path(d["manifest"]["parameters"]["noise_file_2"]).resolve()
        for k, _, d, _ in found
        if k == "similarity" and (d.get("manifest") or {}).get("parameters", {}).get("noise_file_2")
    }

    def predict_order(entry: tuple[int, Found]) -> tuple[bool, int]:
        parquet = _predict_run(entry[1][1], entry[1][2]).parquet.resolve()
        return (parquet in second_noise, entry[0])

    ordered = sorted(((i, f) for i, f in enumerate(found) if f[0] == "predict"), key=predict_order)
    for _, fp, doc, owner in (f for _, f in ordered):
        run = _predict_run(fp, doc)
        given = _given_label(fp, labels, owner)
        spec = (doc.get("model") or {}).get("spec") or doc.get("parameters", {}).get("model")
        m = _model(models, given or str(spec or "model"), given is not None)
        label_of_run = m.label
        base, k = run.condition, 2
        while run.condition in m.predict and _seed(m.predict[run.condition]) != _seed(run):
            run.condition = f"{base}-{k}"  # another seed of the same control: a second noise run
            k += 1
        if run.condition in m.predict:
            other = m.predict[run.condition]
            raise InputError(
                f"two {run.condition!r} prediction files under model label {label_of_run!r}: {other.manifest_path} and "
                f"{fp} (name them apart with --label NAME=PATH)"
            )
        for other in m.predict.values():
            if other.benchmark_sha256 != run.benchmark_sha256:
                raise InputError(
                    f"inputs from different benchmarks under model label {label_of_run!r}: {other.manifest_path} "
                    f"and {fp} "
                    "(name them apart with --label NAME=PATH)"
                )
        m.predict[run.condition] = run
        predict_label[run.parquet.resolve()] = label_of_run


def _add_job_docs(
    found: list[Found], labels: dict[str, Path], models: dict[str, ModelInputs], predict_label: dict[Path, str]
) -> tuple[list[JobDoc], list[JobDoc], list[JobDoc]]:
    """accuracy and similarity results under the label of the predictions they read (or their own); judge,
    compare and clotho-refs results apart. Two results of one job under one label are refused."""
    judge: list[JobDoc] = []
    compare: list[JobDoc] = []
    refs: list[JobDoc] = []
    for kind, fp, doc, owner in found:
        if kind == "predict":
            continue
        job = JobDoc(kind, fp, doc)
        if kind in ("judge", "compare", "clotho-refs"):
            {"judge": judge, "compare": compare, "clotho-refs": refs}[kind].append(job)
            continue
        audio = _audio_key(job)
        given = _given_label(fp, labels, owner)
        label: str | None = given
        if label is None and audio is not None:
            key = audio.resolve()
            label = predict_label.get(key)
            if label is None:
                label = audio.parent.name or audio.stem
                if label in models:
                    label = f"{label}/{audio.stem}"
                n = 2
                while label in models:
                    label = f"{audio.parent.name}/{audio.stem} ({n})"
                    n += 1
                predict_label[key] = label
        if given is not None and audio is not None:
            predict_label.setdefault(audio.resolve(), given)
        m = _model(models, label or fp.stem, given is not None)
        previous: JobDoc | None = getattr(m, kind)
        if previous is not None:
            raise InputError(
                f"two {kind} results under model label {m.label!r}: {previous.path} and {fp} "
                "(name them apart with --label NAME=PATH)"
            )
        setattr(m, kind, job)
    return judge, compare, refs


def _check_belongs(m: ModelInputs) -> None:
    """Under one label: one audio prediction file and one benchmark."""
    acc, sim = m.accuracy, m.similarity
    if acc is not None and sim is not None:
        a, s = _audio_key(acc), _audio_key(sim)
        sa, ss = _input_sha(acc, a), _input_sha(sim, s)
        if (sa and ss and sa != ss) or (not (sa and ss) and a and s and not _same(a, s)):
            raise InputError(
                f"inputs that do not belong together under model label {m.label!r}: {acc.path} and {sim.path} "
                "were made from different prediction files (name them apart with --label NAME=PATH)"
            )
    if m.predict and acc is not None:
        files = {c: r.parquet for c, r in m.predict.items()}
        a = _audio_key(acc)
        if a is not None and "audio" in files and not _same(a, files["audio"]):
            raise InputError(
                f"inputs that do not belong together under model label {m.label!r}: "
                f"{m.predict['audio'].manifest_path} and {acc.path} (made from {a})"
            )
