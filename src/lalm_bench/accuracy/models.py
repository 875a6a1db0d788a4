"""Model against model: several models' prediction files in one ``accuracy`` call (``--run``, ``--runs``).

Each model is scored exactly as a single ``accuracy`` run (:func:`lalm_bench.accuracy.run.run_accuracy`,
one shared answer reader); then every pair of models is compared on the items both scored
(:mod:`lalm_bench.accuracy.model_stats`): accuracy with audio A − B, per shared control the same difference
and the difference-in-differences of their losses, Holm across pairs × categories, and a listening
leaderboard. Writes nothing.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from lalm_bench.accuracy import model_stats
from lalm_bench.accuracy.config import REFERENCE, AccuracyConfig, base_condition
from lalm_bench.accuracy.items import load_items
from lalm_bench.accuracy.run import AccuracyResult, run_accuracy
from lalm_bench.accuracy.runs import ModelRun, check_runs

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.embeddings import Embedder
    from lalm_bench.llm.options import ModelFactory

FORMAT = "lalm-bench/accuracy-models/1"


@dataclass(frozen=True)
class AccuracyModelsConfig:
    """The models' runs and the settings every model is scored with (``base``: columns, reader, statistics;
    its own files are ignored)."""

    runs: tuple[ModelRun, ...]
    base: AccuracyConfig = dataclasses.field(default_factory=AccuracyConfig)

    def model_config(self, run: ModelRun) -> AccuracyConfig:
        audio = dict(run.files)[REFERENCE]
        others = tuple((c, p) for c, p in run.files if c != REFERENCE)
        return dataclasses.replace(self.base, audio_file=audio, noise_file=None, conditions=others)

    def check(self) -> None:
        """Two or more models, each one's files valid as a single ``accuracy`` run."""
        from lalm_bench.errors import InputError

        check_runs(list(self.runs))
        for run in self.runs:
            try:
                self.model_config(run).files()
            except InputError as exc:
                raise InputError(f"model {run.name!r}: {exc}") from None

    def parameters(self) -> dict[str, Any]:
        params = self.base.parameters()
        params.pop("conditions", None)
        for key in ("audio_file", "noise_file"):
            params.pop(key, None)
        params["runs"] = {r.name: {"source": r.source, "conditions": r.conditions()} for r in self.runs}
        return params


class AccuracyModelsResult(BaseModel):
    """What ``accuracy --run …`` writes as JSON: every model's accuracy result, the pairs, the leaderboard."""

    format: str = FORMAT
    models: dict[str, dict[str, Any]]
    pairs: dict[str, dict[str, Any]]
    leaderboard: dict[str, Any]
    controls: list[str]
    definitions: dict[str, str]
    warnings: list[str]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    def table(self) -> pd.DataFrame:
        """Every model's per-item table, one after the other, with a first column ``model``."""
        import pandas as pd

        frames = []
        for name, doc in self.models.items():
            frame = AccuracyResult.model_validate(doc).table()
            frame.insert(0, "model", name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def run_accuracy_models(
    config: AccuracyModelsConfig,
    *,
    embedder: Embedder | None = None,
    model_factory: ModelFactory | None = None,
    progress: bool = True,
) -> AccuracyModelsResult:
    """Score every model, then compare every pair on the items both scored (no files written)."""
    t0 = time.perf_counter()
    config.check()
    if embedder is None and config.base.extractor == "embedding":
        from lalm_bench.embeddings.options import build_embedder

        embedder = build_embedder(config.base.embedding, progress=progress)  # loads its model only to encode
    results: dict[str, AccuracyResult] = {}
    clusters: dict[str, dict[Any, str]] = {}
    for run in config.runs:
        cfg = config.model_config(run)
        results[run.name] = run_accuracy(cfg, embedder=embedder, model_factory=model_factory, progress=progress)
        items = load_items(cfg)
        clusters[run.name] = dict(zip(items.ids, items.clusters, strict=True))
    docs = {name: r.to_json() for name, r in results.items()}
    shared = [c for c in results[config.runs[0].name].conditions if c != REFERENCE and base_condition(c) == c]
    controls = [c for c in shared if all(c in r.conditions for r in results.values())]
    warnings: list[str] = []
    pairs: dict[str, dict[str, Any]] = {}
    for a, b in combinations([r.name for r in config.runs], 2):
        pair, note = _pair(results[a], results[b], clusters[a], controls, config.base.bootstrap, config.base.seed)
        pair["models"] = [a, b]
        pairs[f"{a} vs {b}"] = pair
        if note:
            warnings.append(f"{a} vs {b}: {note}")
    model_stats.add_holm(pairs, controls)
    primary = "noise" if "noise" in controls else (controls[0] if controls else None)
    board = model_stats.leaderboard(docs, pairs, primary)
    for name, r in results.items():
        warnings.extend(f"{name}: {w}" for w in r.warnings)
    return AccuracyModelsResult(
        models=docs,
        pairs=pairs,
        leaderboard=board,
        controls=controls,
        definitions={
            "difference": "accuracy(A) - accuracy(B) on the items both scored (unparsed = wrong); Tango's score "
            "interval for paired proportions, cluster-tango where items share a clip; McNemar's exact test",
            "audio_parsed": "the same difference on the items whose audio answer both models' picks were read "
            "from (no unparsed answer on either side)",
            "did": model_stats.DID_DEFINITION,
            "did_ci": "stats.mean_ci of the per-item values: t (cluster-t) below 30 items (clusters), percentile "
            "(cluster) bootstrap above; sign-flip test p-value (models swapped on whole clips)",
            "holm": "p_holm per statistic (audio, did of each control): overall across model pairs; per category "
            "across pairs x categories with a testable comparison",
            "clusters": "items sharing an audio clip (or --cluster-column) in the first model of the pair",
        },
        warnings=warnings,
        manifest=_manifest(config, docs, time.perf_counter() - t0),
    )


def _pair(
    a: AccuracyResult,
    b: AccuracyResult,
    clusters: dict[Any, str],
    controls: list[str],
    bootstrap: int,
    seed: int,
) -> tuple[dict[str, Any], str | None]:
    rows_b = {row["id"]: row for row in b.items}
    rows = [(row, rows_b[row["id"]]) for row in a.items if row["id"] in rows_b]
    names = [REFERENCE, *controls]

    def arrays(k: int, subset: list[int]) -> dict[str, np.ndarray]:
        return {c: np.array([bool(rows[i][k][f"correct_{c}"]) for i in subset], dtype=bool) for c in names}

    def stats_of(subset: list[int]) -> dict[str, Any]:
        cl = np.array([str(clusters.get(rows[i][0]["id"], rows[i][0]["id"])) for i in subset], dtype=object)
        parsed = np.array(
            [rows[i][0][f"choice_{REFERENCE}"] is not None and rows[i][1][f"choice_{REFERENCE}"] is not None
             for i in subset], dtype=bool,
        )  # fmt: skip
        return model_stats.compare_pair(arrays(0, subset), arrays(1, subset), controls, cl, bootstrap, seed, parsed)

    everything = list(range(len(rows)))
    overall = stats_of(everything)
    by_category = {}
    for cat in sorted({str(r[0]["category"]) for r in rows}):
        by_category[cat] = stats_of([i for i in everything if str(rows[i][0]["category"]) == cat])
    only_a, only_b = len(a.items) - len(rows), len(b.items) - len(rows)
    note = None
    if only_a or only_b:
        note = (
            f"compared on the {len(rows)} items both scored ({only_a} scored only in the first, {only_b} only in "
            "the second)"
        )
    return {
        "items_compared": len(rows),
        "scored_only_in_a": only_a,
        "scored_only_in_b": only_b,
        "overall": overall,
        "by_category": by_category,
    }, note


def _manifest(config: AccuracyModelsConfig, docs: dict[str, dict[str, Any]], seconds: float) -> dict[str, Any]:
    from lalm_bench.manifest import build_manifest

    inputs: list[str | Path] = [p for run in config.runs for _, p in run.files]
    return build_manifest(
        "accuracy",
        config.parameters(),
        inputs=inputs,
        statistics={
            "per_model": "as a single accuracy run (each model's manifest under models.<name>.manifest)",
            "difference_ci": "stats.paired_binary_difference (Tango; cluster-tango where items share a clip)",
            "did_ci": "stats.mean_ci of the per-item difference-in-differences (bounds [-2, 2])",
            "did_p": "stats.sign_flip_test: exact up to 16 non-zero clusters, else Monte Carlo",
            "holm": "per statistic: overall across pairs; per category across pairs x testable categories",
            "bootstrap": config.base.bootstrap,
            "seed": config.base.seed,
        },
        wall_seconds=round(seconds, 3),
        models=list(docs),
    )
