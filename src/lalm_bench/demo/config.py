"""Settings of ``lalm-bench demo`` and where it writes each file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lalm_bench.embeddings.options import EmbeddingOptions
from lalm_bench.errors import InputError
from lalm_bench.manifest import DEFAULT_SEED, config_parameters

DEFAULT_MODELS = ("mock/listener", "mock/deaf")
CONDITIONS = ("audio", "noise", "silence", "none", "mismatched")
#: The accuracy condition name of the second noise run (predict's ``noise`` under ``second_noise_seed``).
SECOND_NOISE = "noise@1"  # a repeat of noise (another seed): accuracy reads it as such
DEFAULT_EMBEDDING = "mock:hash"


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs: the benchmark's seed, the models, the seeds of the two noise runs, the
    embedding model of ``similarity`` and the resamples of every CI."""

    seed: int = DEFAULT_SEED
    models: tuple[str, ...] = DEFAULT_MODELS
    predict_seed: int = 42
    second_noise_seed: int = 43
    embedding: EmbeddingOptions = field(default_factory=lambda: EmbeddingOptions(model=DEFAULT_EMBEDDING))
    bootstrap: int = 1000

    def parameters(self) -> dict[str, Any]:
        return config_parameters(self)

    def validate(self) -> None:
        if self.seed < 0 or self.predict_seed < 0 or self.second_noise_seed < 0:
            raise InputError("--seed must be >= 0")
        if self.predict_seed == self.second_noise_seed:
            raise InputError("the two noise runs need different seeds")
        if not self.models:
            raise InputError("--model: give at least one chat model")
        from lalm_bench.llm.mock import MODES
        from lalm_bench.llm.registry import parse_model_spec

        for model in self.models:
            provider, name = parse_model_spec(model)
            if provider == "mock" and name not in MODES:
                known = ", ".join("mock/" + m for m in MODES)
                raise InputError(f"--model {model}: unknown mock model (use one of {known})")
        labels = [model_label(m) for m in self.models]
        if len(set(labels)) != len(labels):
            raise InputError(f"--model: two models share the folder name {labels}; give each model once")
        if self.bootstrap < 0:
            raise InputError("--bootstrap must be >= 0")


def model_label(model: str) -> str:
    """The folder of a model's outputs: ``mock/listener`` → ``listener``; ``openai/Qwen/X`` → ``openai-Qwen-X``."""
    provider, _, name = model.partition("/")
    text = name if provider == "mock" else model
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-.") or "model"


@dataclass(frozen=True)
class ModelPaths:
    """Every file of one model under the demo folder."""

    folder: Path

    @property
    def predictions(self) -> Path:
        return self.folder / "preds.parquet"

    @property
    def second_noise(self) -> Path:
        return self.folder / "preds-seed2.parquet"

    def condition(self, condition: str) -> Path:
        return self.folder / f"preds_{condition}.parquet"

    def manifest(self, condition: str) -> Path:
        return self.folder / f"preds_{condition}.manifest.json"

    @property
    def second_noise_file(self) -> Path:
        return self.folder / "preds-seed2_noise.parquet"

    @property
    def similarity(self) -> Path:
        return self.folder / "similarity.json"

    @property
    def accuracy(self) -> Path:
        return self.folder / "accuracy.json"

    @property
    def items(self) -> Path:
        return self.folder / "items.parquet"

    def outputs(self) -> dict[str, Path]:
        files = {f"preds_{c}": self.condition(c) for c in CONDITIONS}
        files.update({f"manifest {c}": self.manifest(c) for c in CONDITIONS})
        files["second noise"] = self.second_noise_file
        files["second noise manifest"] = self.folder / "preds-seed2_noise.manifest.json"
        files.update(similarity=self.similarity, accuracy=self.accuracy, items=self.items)
        return files


@dataclass(frozen=True)
class DemoPaths:
    """The demo folder's layout."""

    root: Path

    @property
    def benchmark_folder(self) -> Path:
        return self.root / "benchmark"

    @property
    def summary(self) -> Path:
        return self.root / "demo.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    def model(self, model: str) -> ModelPaths:
        return ModelPaths(self.root / model_label(model))
