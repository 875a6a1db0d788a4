"""The inputs of the listening probe: the prediction files read, checked and matched per item, and every
answer embedded once (:func:`load_inputs`, :func:`embed_inputs`); the item groups and identical-answer counts
that need only the texts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lalm_bench.errors import InputError
from lalm_bench.similarity.arrival import leave_out_unarrived
from lalm_bench.similarity.config import SimilarityConfig
from lalm_bench.similarity.probe import (
    check_texts,
    check_texts_2,
    load_predictions,
    match_predictions,
    match_second_noise,
)

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.embeddings.encoder import Embedder, EncodeResult

DEFAULT_QUESTION_COLUMN = "question"
DEFAULT_CHOICES_COLUMN = "choices"


@dataclass
class Inputs:
    """The matched prediction files: one row per item with both answers (and the second noise answer)."""

    noise_path: Path
    audio_path: Path
    merged: pd.DataFrame
    matching: dict[str, Any]
    question_column: str | None
    text2: np.ndarray | None = None  # the second noise run's answer per row, None where it has none
    noise2_path: Path | None = None
    extra: dict[str, tuple[Path, np.ndarray]] = field(default_factory=dict)  # mismatched, audio_2: path, texts
    controls: dict[str, tuple[Path, np.ndarray]] = field(default_factory=dict)  # silence, head:S …: path, texts
    control_matching: dict[str, dict[str, Any]] = field(default_factory=dict)  # per control: as matching["noise_2"]


@dataclass
class Vectors:
    """Every answer embedded once; rows index distinct texts (``noise``, ``audio``, ``noise2`` for ``rows2``)."""

    enc: EncodeResult
    noise: np.ndarray
    audio: np.ndarray
    noise2: np.ndarray
    rows2: np.ndarray  # the rows that have a second noise answer
    sims: np.ndarray  # matched similarity per row
    extra: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name: (rows, distinct rows)
    controls: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # the same, per control


def load_inputs(config: SimilarityConfig) -> Inputs:
    """Read and match the prediction files (and the second noise run); every input check happens here."""
    exclude_pattern(config)
    extra = {
        k: c
        for k, c in (
            ("question", config.question_column),
            ("cluster", config.cluster_column),
            ("choices", config.choices_column),
        )
        if c
    }
    optional = {"question": DEFAULT_QUESTION_COLUMN} if config.question_column is None else {}
    if config.choices_column is None and config.question_column != "":
        optional["choices"] = DEFAULT_CHOICES_COLUMN
    noise = load_predictions(
        Path(config.noise_file), config.id_column, config.text_column, config.category_column, False, extra, optional
    )
    q_col = (config.question_column or DEFAULT_QUESTION_COLUMN) if "question" in noise.frame.columns else None
    audio = load_predictions(
        Path(config.audio_file), config.id_column, config.text_column, config.category_column, True
    )
    merged, matching = match_predictions(noise, audio)
    merged = leave_out_unarrived(config, merged, matching)
    matching["empty_texts"] = check_texts(merged, noise.path, audio.path, config.allow_empty)
    inputs = Inputs(noise.path, audio.path, merged, matching, q_col)
    if config.noise_file_2 is not None:
        noise2_path = Path(config.noise_file_2)
        if noise2_path.resolve() == noise.path.resolve():
            raise InputError(f"--noise-file-2 {noise2_path} is the --noise-file itself: give a second noise run")
        noise2 = load_predictions(noise2_path, config.id_column, config.text_column, config.category_column, False)
        text2, report2 = match_second_noise(merged, noise2)
        report2["empty_texts"] = check_texts_2(text2, noise2_path, config.allow_empty)
        has2 = np.array([t is not None for t in text2.tolist()], dtype=bool)
        report2["identical_to_noise"] = int(
            sum(t == u for t, u, h in zip(text2.tolist(), merged["text_noise"].tolist(), has2, strict=True) if h)
        )
        matching["noise_2"] = report2
        inputs.text2, inputs.noise2_path = text2, noise2_path
    if config.noise_repeats and config.noise_file_2 is None:
        raise InputError("--condition noise@2=…: give noise@1 (--noise-file-2) first")
    for name, flag, path in (
        ("mismatched", "--mismatched-file", config.mismatched_file),
        ("audio_2", "--audio-file-2", config.audio_file_2),
        *((f"noise@{k}", f"--condition noise@{k}", p) for k, p in enumerate(config.noise_repeats, start=2)),
    ):
        if path is None:
            continue
        path = Path(path)
        if path.resolve() in {noise.path.resolve(), audio.path.resolve()}:
            raise InputError(f"{flag} {path} is the --noise-file or --audio-file itself: give another run")
        other = load_predictions(path, config.id_column, config.text_column, config.category_column, False)
        texts, report = match_second_noise(merged, other)
        report["empty_texts"] = check_texts_2(texts, path, config.allow_empty)
        matching[name] = report
        inputs.extra[name] = (path, texts)
    for name, path in config.controls:
        path = Path(path)
        flag = f"--condition {name}"
        if path.resolve() in {noise.path.resolve(), audio.path.resolve()}:
            raise InputError(f"{flag}={path} is the --noise-file or --audio-file itself: give the {name} run")
        other = load_predictions(path, config.id_column, config.text_column, config.category_column, False)
        texts, report = match_second_noise(merged, other)
        report["empty_texts"] = check_texts_2(texts, path, config.allow_empty)
        report["only_in_control"] = report.pop("only_in_noise_2")
        inputs.controls[name] = (path, texts)
        inputs.control_matching[name] = report
    return inputs


def embed_inputs(inputs: Inputs, embedder: Embedder) -> Vectors:
    merged, n = inputs.merged, len(inputs.merged)
    texts = merged["text_noise"].tolist() + merged["text_audio"].tolist()
    rows2 = np.empty(0, dtype=np.int64)
    if inputs.text2 is not None:
        rows2 = np.flatnonzero(np.array([t is not None for t in inputs.text2.tolist()], dtype=bool))
        texts += [str(t) for t in inputs.text2[rows2].tolist()]
    starts: dict[str, tuple[np.ndarray, int]] = {}
    for name, (_, extra) in [*inputs.extra.items(), *((f"control:{c}", v) for c, v in inputs.controls.items())]:
        present = np.flatnonzero(np.array([x is not None for x in extra.tolist()], dtype=bool))
        starts[name] = (present, len(texts))
        texts += [str(x) for x in extra[present].tolist()]
    enc = embedder.encode(texts)
    inv = enc.inverse
    rows = np.arange(n)
    noise2 = inv[2 * n + np.arange(rows2.size)]
    vec = Vectors(enc, inv[rows], inv[rows + n], noise2, rows2, enc.cosines(rows, rows + n))
    rows_of = {name: (present, inv[start + np.arange(present.size)]) for name, (present, start) in starts.items()}
    vec.extra = {name: v for name, v in rows_of.items() if not name.startswith("control:")}
    vec.controls = {name[8:]: v for name, v in rows_of.items() if name.startswith("control:")}
    return vec


def exclude_pattern(config: SimilarityConfig) -> re.Pattern[str] | None:
    if not config.exclude_questions:
        return None
    try:
        return re.compile(config.exclude_questions)
    except re.error as exc:
        raise InputError(
            f"--exclude-questions {config.exclude_questions!r}: not a regular expression ({exc})"
        ) from None


def question_groups(config: SimilarityConfig, merged: pd.DataFrame) -> tuple[np.ndarray, dict[str, Any]]:
    """The same-question group label of each item: its question and its choices; ``None`` (no group) for
    items without a question and for those whose question matches ``--exclude-questions``."""
    questions = merged["question"].to_numpy(dtype=object)
    has_choices = "choices" in merged.columns
    labels = np.array(
        [
            None if q is None else (f"{q}\u241e{c}" if has_choices and c is not None else q)
            for q, c in zip(
                questions.tolist(), merged["choices"].tolist() if has_choices else [None] * len(questions), strict=True
            )
        ],
        dtype=object,
    )
    excluded = 0
    pattern = exclude_pattern(config)
    if pattern is not None:
        for k, q in enumerate(questions.tolist()):
            if q is not None and pattern.search(q):
                labels[k] = None
                excluded += 1
    doc = {
        "grouped_by": ["question", "choices"] if has_choices else ["question"],
        "choices_column": (config.choices_column or DEFAULT_CHOICES_COLUMN) if has_choices else None,
        "exclude_questions": config.exclude_questions,
        "items_excluded": excluded,
    }
    return labels, doc


def identical_answers(inputs: Inputs) -> dict[str, Any]:
    """The share of byte-identical answers in each comparison: a model whose answers do not change at all
    gets large, "significant" differences against the baselines while it ignores the audio."""
    merged = inputs.merged
    noise, audio = merged["text_noise"].tolist(), merged["text_audio"].tolist()
    pairs: dict[str, tuple[list[Any], list[Any]]] = {"audio_vs_noise": (audio, noise)}
    if inputs.text2 is not None:
        pairs["noise_vs_noise_2"] = (noise, inputs.text2.tolist())
    for name, (_, texts) in inputs.extra.items():
        pairs[f"audio_vs_{name}"] = (audio, texts.tolist())
    out: dict[str, Any] = {}
    for name, (a, b) in pairs.items():
        both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        same = sum(x == y for x, y in both)
        out[name] = {"items": len(both), "identical": same, "share": same / len(both) if both else None}
    return out
