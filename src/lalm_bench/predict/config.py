"""Settings of ``predict`` (see ``lalm-bench predict --help`` for their meaning) and where it writes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.audio.sent import CONDITIONS, NAMES, condition_slug, parse_condition, sends_audio
from lalm_bench.datasets.benchmark import BenchmarkColumns
from lalm_bench.errors import InputError
from lalm_bench.llm.options import LLMOptions, SamplingOptions
from lalm_bench.manifest import DEFAULT_SEED, config_parameters

AUDIO_CONDITIONS = ("audio", "noise", "silence", "mismatched")  # the base ones that send audio (sends_audio: all)
DEFAULT_OUTPUT = Path("predictions.parquet")
PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_ORDERS = 100
MAX_SAMPLES = 100


@dataclass(frozen=True)
class PredictConfig:
    """Everything that decides what ``predict`` does (output location aside)."""

    benchmark: Path
    model: str
    audio_root: Path | None = None  # default: the benchmark file's folder
    conditions: tuple[str, ...] = ("audio",)
    columns: BenchmarkColumns = field(default_factory=BenchmarkColumns)
    start: int = 0
    limit: int | None = None
    prompt_template: Path | None = None  # default: the built-in template (prompts.DEFAULT_TEMPLATE)
    system_prompt: str | None = None
    seed: int = DEFAULT_SEED
    noise_dbfs: float | None = None  # default: noise RMS-matched to each real clip
    max_audio_seconds: float | None = None
    sample_rate: int | None = None  # default: each file's own rate
    retry_failed: bool = False
    audio_tokens_per_second: float | None = None  # default: the encoder table (audio/tokens.py) by model name
    determinism_check: int | None = None  # items asked again at temperature 0 (checks.py); None: auto; 0: none
    permute_choices: int = 0  # K extra option orders per multiple-choice item (predict.orders)
    samples: int = 1  # each condition asked K times, sample k with seed + k (predict.samples)
    llm: LLMOptions = field(default_factory=LLMOptions)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    @property
    def root(self) -> Path:
        return Path(self.audio_root) if self.audio_root is not None else Path(self.benchmark).parent

    @property
    def sends_audio(self) -> bool:
        return any(sends_audio(c) for c in self.conditions)

    def parameters(self) -> dict[str, Any]:
        params = config_parameters(self)
        params["llm"] = self.llm.public()  # URLs without credentials
        params["audio_root"] = str(self.root)
        return params

    def validate(self) -> None:
        """Argument checks that need no file (one-line :class:`InputError`)."""
        if not self.conditions:
            raise InputError("--condition: give at least one of " + ", ".join(CONDITIONS))
        for c in self.conditions:
            _canonical(c)
        if len({condition_slug(c) for c in self.conditions}) != len(self.conditions):
            raise InputError("--condition: a condition is given twice")
        if self.start < 0 or (self.limit is not None and self.limit < 1):
            raise InputError("--start must be >= 0 and --limit >= 1")
        if not 0 <= self.permute_choices <= MAX_ORDERS:
            raise InputError(f"--permute-choices must be between 0 and {MAX_ORDERS}, got {self.permute_choices}")
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise InputError(f"--samples must be between 1 and {MAX_SAMPLES}, got {self.samples}")
        if self.seed < 0:
            raise InputError("--seed must be >= 0")
        if self.noise_dbfs is not None and (not math.isfinite(self.noise_dbfs) or self.noise_dbfs > 0):
            raise InputError(f"--noise-dbfs must be a finite level <= 0 dBFS, got {self.noise_dbfs}")
        if self.max_audio_seconds is not None and (
            not math.isfinite(self.max_audio_seconds) or self.max_audio_seconds <= 0
        ):
            raise InputError(f"--max-audio-seconds must be positive, got {self.max_audio_seconds}")
        if self.sample_rate is not None and not 1000 <= self.sample_rate <= 384_000:
            raise InputError(f"--sample-rate must be between 1000 and 384000 Hz, got {self.sample_rate}")
        if self.audio_tokens_per_second is not None and (
            not math.isfinite(self.audio_tokens_per_second) or self.audio_tokens_per_second <= 0
        ):
            raise InputError(f"--audio-tokens-per-second must be positive, got {self.audio_tokens_per_second}")
        if self.determinism_check is not None and self.determinism_check < 0:
            raise InputError("--determinism-check must be >= 0")
        if self.llm.concurrency < 1:
            raise InputError("--concurrency must be >= 1")
        if len(set(self.llm.base_urls)) != len(self.llm.base_urls):
            raise InputError("--base-url: a server is given twice")
        if self.sends_audio and not self.root.is_dir():
            raise InputError(f"--audio-root {self.root}: not a folder")


def parse_conditions(values: list[str] | tuple[str, ...] | str | None) -> tuple[str, ...]:
    """``audio,noise`` (or the flag repeated) → ``("audio", "noise")`` in the order given."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = [c.strip().lower() for v in values for c in v.split(",")]
    if any(not c for c in out):
        raise InputError("--condition: an empty name in the list (use e.g. audio,noise)")
    return tuple(_canonical(c) for c in out)


def _canonical(name: str) -> str:
    try:
        return parse_condition(name)
    except ValueError as exc:
        if str(exc).startswith("unknown condition"):
            raise InputError(f"--condition {name!r}: unknown (use {NAMES}; comma-separated)") from None
        raise InputError(f"--condition: {exc}") from None


def output_stem(output: Path) -> Path:
    """``preds.parquet`` → ``preds`` (the base of every file name). Any other name is refused, a name without
    a suffix too: ``-o results`` reads like a folder, yet the files would go beside it (``results_audio.parquet``,
    ``results.runs/``), so the user is asked to say ``results.parquet``."""
    output = Path(output)
    if output.suffix.lower() in PARQUET_SUFFIXES:
        return output.with_suffix("")
    example = f"{output.name or 'preds'}.parquet" if not output.suffix else f"{output.stem or 'preds'}.parquet"
    raise InputError(
        f"--output {output}: name a .parquet file, e.g. {example} (one file per condition is written beside "
        "it, NAME_audio.parquet, NAME_noise.parquet ..., with the run logs in NAME.runs/)"
    )


def condition_files(output: Path, condition: str) -> tuple[Path, Path]:
    """The Parquet file and manifest of one condition: ``preds_noise.parquet``, ``preds_noise.manifest.json``;
    a partial condition is spelled for files (``head:5`` → ``preds_head-5.parquet``, see ``condition_slug``)."""
    stem = output_stem(output)
    suffix = Path(output).suffix.lower() or ".parquet"
    base = stem.with_name(f"{stem.name}_{condition_slug(condition)}")
    return base.with_name(base.name + suffix), base.with_name(base.name + ".manifest.json")


def runs_folder(output: Path) -> Path:
    """Where the run folders of every condition live: ``preds.runs/<condition slug>/``."""
    stem = output_stem(output)
    return stem.with_name(stem.name + ".runs")
