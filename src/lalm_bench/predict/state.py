"""What a ``predict`` call holds while it runs: the checked inputs, the models, one run per condition.

The helpers (run folders, the per-item ask, the outputs) take this state, never the job: the job
module sits above them and they never import it back.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.io import OutputOptions
from lalm_bench.predict import prompts
from lalm_bench.predict.config import PredictConfig
from lalm_bench.predict.schema import PredictRecord, RunSettings
from lalm_bench.runs import Dispatcher, Models, RunSlot

if TYPE_CHECKING:
    from lalm_bench.audio.mismatch import MismatchPartner
    from lalm_bench.datasets.benchmark import Benchmark, BenchmarkItem


@dataclasses.dataclass(kw_only=True)
class ConditionRun(RunSlot[PredictRecord]):
    """The run of one condition: its folder and settings, the latest record of each item, this call's records."""

    condition: str
    settings: RunSettings
    parquet: Path
    manifest: Path
    latest: dict[str, PredictRecord]  # item id -> its latest record (the whole log)
    resumed_from: int = 0
    order: int = 0  # --permute-choices: the option order this run asks (0 = the benchmark's)
    sample: int = 0  # --samples: the repeat this run is (0 = the plain run; predict.samples)
    new: list[PredictRecord] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        """The condition's name for this sample's outputs: ``noise``, ``noise@2`` (``predict.samples``)."""
        return self.condition if self.sample == 0 else f"{self.condition}@{self.sample}"


@dataclasses.dataclass
class PredictState:
    """One ``predict`` call: its config, the selected items, the prompt, the models and the condition runs."""

    cfg: PredictConfig
    output: OutputOptions
    benchmark: Benchmark | None = None
    selection: list[BenchmarkItem] = dataclasses.field(default_factory=list)
    by_id: dict[str, BenchmarkItem] = dataclasses.field(default_factory=dict)
    template: prompts.PromptTemplate = dataclasses.field(default_factory=prompts.default_template)
    partners: dict[str, MismatchPartner] = dataclasses.field(default_factory=dict)
    models: Models = dataclasses.field(default_factory=Models)
    dispatcher: Dispatcher = dataclasses.field(default_factory=lambda: Dispatcher(1))
    runs: list[ConditionRun] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    preflight: dict[str, Any] = dataclasses.field(default_factory=dict)
    determinism: dict[str, Any] = dataclasses.field(default_factory=dict)  # the temperature-0 re-ask (checks.py)
    started: float = dataclasses.field(default_factory=time.perf_counter)

    def orders(self, it: BenchmarkItem) -> list[tuple[int, ...]]:
        """The option orders item ``it`` is asked with (only the benchmark's without --permute-choices)."""
        if self.cfg.permute_choices and len(it.choices) >= prompts.MIN_CHOICES:
            from lalm_bench.predict.orders import choice_orders

            return choice_orders(len(it.choices), self.cfg.permute_choices, self.cfg.seed, it.id)
        return [tuple(range(len(it.choices)))]

    def asks(self, run: ConditionRun, it: BenchmarkItem) -> bool:
        """Whether ``run`` asks item ``it`` (an item with few options has fewer orders than asked for)."""
        return run.order == 0 or run.order < len(self.orders(it))

    @property
    def model_info(self) -> list[dict[str, Any]]:
        """What the manifests record of each server's model, in ``--base-url`` order."""
        return list(self.models.info.values())
