"""Settings of one ``accuracy`` run (recorded in the manifest), and the check of its conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lalm_bench.accuracy.extraction import DEFAULT_MIN_MARGIN, DEFAULT_MIN_SIMILARITY
from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.errors import InputError
from lalm_bench.llm.options import LLMOptions
from lalm_bench.manifest import DEFAULT_SEED, config_parameters
from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE

DEFAULT_MODEL = "BAAI/bge-base-en-v1.5"
REFERENCE = "audio"  # the condition every control is compared with
Extractor = Literal["embedding", "llm", "none"]
EXTRACTORS: tuple[str, ...] = ("embedding", "llm", "none")
# a condition name becomes part of column names (choice_<name>): letters, digits, '_' and '-', then
# optionally @k for the k-th repeat of a condition (another noise seed or sample: noise@1, noise@2)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}(?:@[1-9][0-9]{0,2})?")


def base_condition(name: str) -> str:
    """The condition a repeat belongs to: ``noise@2`` -> ``noise``; other names unchanged."""
    return name.split("@", 1)[0]


@dataclass(frozen=True)
class AccuracyConfig:
    """Prediction files per condition, their columns, how answers are read, statistics.

    ``audio_file`` is the reference; ``noise_file`` and ``conditions`` (``(name, file)`` pairs) are the
    controls. With no file at all the bundled sample predictions (audio and noise) are used.
    ``audio_column`` and ``question_column`` left ``None`` mean ``audio_path`` and ``question`` when the
    audio file has them (a name given explicitly must exist). ``cluster_column`` (of the audio file), when
    given, replaces the audio paths as what makes items one cluster.
    A control named ``NAME@k`` is the k-th repeat of control ``NAME`` (another seed or sample)."""

    audio_file: Path | None = None
    noise_file: Path | None = None
    conditions: tuple[tuple[str, Path], ...] = ()
    id_column: str = "id"
    text_column: str = "model_output"
    category_column: str = "category"
    choices_column: str = "choices"
    answer_column: str = "answer"
    question_column: str | None = None
    audio_column: str | None = None
    cluster_column: str | None = None
    extractor: Extractor = "embedding"
    llm_model: str | None = None
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    min_margin: float = DEFAULT_MIN_MARGIN
    embedding: EmbeddingOptions = field(default_factory=lambda: EmbeddingOptions(model=DEFAULT_MODEL))
    llm: LLMOptions = field(default_factory=LLMOptions)
    bootstrap: int = 1000
    seed: int = DEFAULT_SEED
    keep_unarrived: bool = False  # keep items predict flagged as dropped or cut (audio_arrival)

    def parameters(self) -> dict[str, Any]:
        params = config_parameters(self)
        params["conditions"] = {name: str(path) for name, path in self.files()}
        params["llm"] = self.llm.public()  # URLs without credentials
        return params

    def files(self) -> list[tuple[str, Path]]:
        """``(condition, file)`` pairs, the reference first, then ``noise``, then the others as given.

        Refused in one line: a condition named twice (``--noise-file`` and ``--condition noise=…``
        count as the same name), a bad name, no ``audio`` file, fewer than two conditions, one file
        under two conditions."""
        if self.audio_file is None and self.noise_file is None and not self.conditions:
            return [(REFERENCE, SAMPLE_AUDIO), ("noise", SAMPLE_NOISE)]
        named: list[tuple[str, Path, str]] = []
        if self.audio_file is not None:
            named.append((REFERENCE, Path(self.audio_file), "--audio-file"))
        if self.noise_file is not None:
            named.append(("noise", Path(self.noise_file), "--noise-file"))
        for name, path in self.conditions:
            if not _NAME.fullmatch(name):
                raise InputError(
                    f"--condition {name}={path}: a condition name is 1-40 letters, digits, '_' or '-' "
                    "(it becomes part of column names), or NAME@k for the k-th repeat of NAME (k from 1: noise@1)"
                )
            named.append((name, Path(path), f"--condition {name}=…"))
        seen: dict[str, str] = {}
        for name, _, flag in named:
            if name in seen:
                raise InputError(f"condition {name!r} is given twice ({seen[name]} and {flag}); give it once")
            seen[name] = flag
        if REFERENCE not in seen:
            raise InputError("give --audio-file: the predictions with the real audio are the reference")
        for name, _, flag in named:
            base = base_condition(name)
            if base == name:
                continue
            if base == REFERENCE:
                raise InputError(
                    f"{flag}: repeats of the reference ({name}) are not supported; repeat a control "
                    "(--condition noise@1=FILE)"
                )
            if base not in seen:
                raise InputError(
                    f"{flag}: {name} repeats condition {base!r}, which is not given "
                    f"(give --condition {base}=FILE{' or --noise-file' if base == 'noise' else ''})"
                )
        if len(named) < 2:
            raise InputError(
                "accuracy needs at least two conditions: the audio file and a control "
                "(--noise-file, or --condition NAME=FILE such as silence=…)"
            )
        for i, (name, path, _) in enumerate(named):
            for other, prev, _ in named[:i]:
                if path.resolve() == prev.resolve():
                    raise InputError(f"conditions {other!r} and {name!r} name the same file {path}")
        ordered = sorted(named, key=lambda t: (t[0] != REFERENCE, base_condition(t[0]) != "noise"))
        return [(name, path) for name, path, _ in ordered]

    def repeats(self) -> dict[str, list[str]]:
        """Controls given with repeats: ``{"noise": ["noise", "noise@1", …]}`` (only those with two or more runs)."""
        groups: dict[str, list[str]] = {}
        for name, _ in self.files()[1:]:
            groups.setdefault(base_condition(name), []).append(name)
        return {base: names for base, names in groups.items() if len(names) > 1}


def parse_condition(spec: str) -> tuple[str, Path]:
    """``NAME=FILE`` from ``--condition`` as ``(name, path)``."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise InputError(f"--condition {spec!r}: expected NAME=FILE (e.g. silence=preds_silence.parquet)")
    return name.strip(), Path(path.strip())
