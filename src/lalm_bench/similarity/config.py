"""Settings of one ``similarity`` run (recorded verbatim in the manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.errors import InputError
from lalm_bench.manifest import DEFAULT_SEED, config_parameters
from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE

DEFAULT_MODEL = "BAAI/bge-base-en-v1.5"


@dataclass(frozen=True)
class SimilarityConfig:
    """Two prediction files (noise and real audio), optionally a second noise run, a mismatched run, a
    repeat of the audio run and controls (silence, head:S …), their columns, the embedding model, statistics."""

    noise_file: Path = SAMPLE_NOISE
    audio_file: Path = SAMPLE_AUDIO
    id_column: str = "id"
    text_column: str = "model_output"
    category_column: str = "category"
    question_column: str | None = None  # None: "question" when the noise file has it; "": no same-question baseline
    noise_file_2: Path | None = None  # a second noise run (another noise seed): the ignores-audio reference
    mismatched_file: Path | None = None  # predict's mismatched condition: another clip's audio (content probe)
    audio_file_2: Path | None = None  # a repeat of the audio run: the run-to-run reference of the content probe
    noise_repeats: tuple[Path, ...] = ()  # noise@2, noise@3 …: more noise runs (run-to-run spread), after noise_file_2
    controls: tuple[tuple[str, Path], ...] = ()  # (canonical name, file): silence, none, head:S …: audio-vs-control
    choices_column: str | None = None  # None: "choices" when the noise file has it; "": group by question alone
    exclude_questions: str | None = None  # regex: items whose question matches leave the same-question groups
    cluster_column: str | None = None  # CIs resample clusters of this column (question template, audio clip)
    embedding: EmbeddingOptions = field(default_factory=lambda: EmbeddingOptions(model=DEFAULT_MODEL))
    bootstrap: int = 1000
    seed: int = DEFAULT_SEED
    allow_empty: bool = False
    keep_unarrived: bool = False  # keep items predict flagged as dropped or cut (audio_arrival)

    def parameters(self) -> dict[str, Any]:
        return config_parameters(self)


def prediction_files(noise_file: Path | None, audio_file: Path | None) -> tuple[Path, Path]:
    """``(noise, audio)``: both given, or neither (the bundled sample); one alone is refused, so that a
    forgotten flag never scores the user's file against the sample."""
    if noise_file is None and audio_file is None:
        return SAMPLE_NOISE, SAMPLE_AUDIO
    if noise_file is None or audio_file is None:
        given, missing = ("--audio-file", "--noise-file") if noise_file is None else ("--noise-file", "--audio-file")
        raise InputError(f"{given} needs {missing} too (without both, similarity runs on the bundled sample)")
    return Path(noise_file), Path(audio_file)
