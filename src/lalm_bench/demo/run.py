"""``run_demo``: the synthesised benchmark, ``predict`` per model under every condition and a second
noise seed, then ``similarity`` and ``accuracy`` per model, and each model's verdict.

Unlike a job's ``run``, this writes: it calls the jobs' command functions, each of which checks and
writes its own outputs (all or nothing per job). The summary (``demo.json``) is left to the command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lalm_bench.demo.config import CONDITIONS, SECOND_NOISE, DemoConfig, DemoPaths, ModelPaths
from lalm_bench.io import OutputOptions

if TYPE_CHECKING:
    from lalm_bench.embeddings import Embedder

FORMAT = "lalm-bench/demo/1"
Step = Callable[[str], None]
VERDICT_RULE = (
    "listens: the paired CI of the accuracy difference under noise lies below 0, the CI of the listening gap "
    "above 0, and the CI of the content difference (mismatched - audio over items where both clips carry "
    "sound) below 0; notices sound only: the first two hold but the content CI holds 0; does not listen: "
    "every control's difference CI and the gap's CI hold 0; otherwise unclear"
)


class DemoResult(BaseModel):
    """What the demo made and concluded: ``demo.json``."""

    format: str = FORMAT
    folder: str
    benchmark: dict[str, Any]
    models: dict[str, dict[str, Any]]  # model -> files and verdict
    report: str | None
    report_note: str | None
    timings_s: dict[str, float]
    manifest: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python")


def _predict(config: DemoConfig, model: str, bench: Path, paths: ModelPaths, overwrite: bool) -> None:
    from lalm_bench.llm.options import LLMOptions
    from lalm_bench.predict.command import predict_command
    from lalm_bench.predict.config import PredictConfig

    llm = LLMOptions(use_cache=False)  # the mock models answer in microseconds; a cache would only add files
    base = PredictConfig(benchmark=bench, model=model, conditions=CONDITIONS, seed=config.predict_seed, llm=llm)
    predict_command(base, OutputOptions(paths.predictions, overwrite=overwrite, quiet=True))
    second = PredictConfig(benchmark=bench, model=model, conditions=("noise",), seed=config.second_noise_seed, llm=llm)
    predict_command(second, OutputOptions(paths.second_noise, overwrite=overwrite, quiet=True))


def _similarity(config: DemoConfig, paths: ModelPaths, embedder: Embedder, overwrite: bool) -> dict[str, Any]:
    from lalm_bench.similarity.command import similarity_command
    from lalm_bench.similarity.config import SimilarityConfig

    sim = SimilarityConfig(
        noise_file=paths.condition("noise"),
        audio_file=paths.condition("audio"),
        noise_file_2=paths.second_noise_file,
        mismatched_file=paths.condition("mismatched"),
        cluster_column="audio_path",
        embedding=config.embedding,
        bootstrap=config.bootstrap,
    )
    options = OutputOptions(paths.similarity, overwrite=overwrite, quiet=True)
    result = similarity_command(sim, options, embedder=embedder)
    return result.to_json()


def _accuracy(config: DemoConfig, paths: ModelPaths, overwrite: bool) -> dict[str, Any]:
    from lalm_bench.accuracy.command import accuracy_command
    from lalm_bench.accuracy.config import AccuracyConfig

    controls = [(c, paths.condition(c)) for c in CONDITIONS if c not in ("audio", "noise")]
    acc = AccuracyConfig(
        audio_file=paths.condition("audio"),
        noise_file=paths.condition("noise"),
        conditions=(*controls, (SECOND_NOISE, paths.second_noise_file)),
        extractor="none",  # the mock models state their pick as "(B) text": the rules read every one
        bootstrap=config.bootstrap,
    )
    result = accuracy_command(acc, OutputOptions(paths.accuracy, overwrite=overwrite, quiet=True), items=paths.items)
    return result.to_json()


def identical_shares(paths: ModelPaths) -> dict[str, float]:
    """Per control, the share of items whose answer is byte-identical to the answer with the real audio."""
    from lalm_bench.io import read_parquet

    audio = read_parquet(paths.condition("audio")).set_index("id")["model_output"]
    files = {c: paths.condition(c) for c in CONDITIONS if c != "audio"}
    files[SECOND_NOISE] = paths.second_noise_file
    out = {}
    for name, path in files.items():
        other = read_parquet(path).set_index("id")["model_output"].reindex(audio.index)
        same = [a is not None and a == b for a, b in zip(audio.tolist(), other.tolist(), strict=True)]
        out[name] = sum(same) / len(same) if same else 0.0
    return out


def _sent_rms(cell: Any) -> float:
    """The loudest RMS among the audio parts a prediction row records as sent (0.0 when none)."""
    import json

    try:
        parts = json.loads(cell) if isinstance(cell, str) else []
    except ValueError:
        return 0.0
    return max((float(p.get("rms") or 0.0) for p in parts if isinstance(p, dict)), default=0.0)


def content_difference(paths: ModelPaths, bootstrap: int) -> dict[str, Any]:
    """Does the model use what is in the audio, beyond whether there is sound? The paired accuracy
    difference mismatched − audio over the scored items whose real clip and whose mismatched clip both
    carry sound (RMS > 0 as sent), clustered by the real clip."""
    from lalm_bench.io import read_parquet
    from lalm_bench.stats import paired_binary_difference

    items = read_parquet(paths.items).set_index("id")
    rms = {}
    for condition in ("audio", "mismatched"):
        frame = read_parquet(paths.condition(condition)).set_index("id")
        rms[condition] = frame["audio_sent"].map(_sent_rms).reindex(items.index).fillna(0.0)
    clips = read_parquet(paths.condition("audio")).set_index("id")["audio_path"].astype(str).reindex(items.index)
    both = (rms["audio"] > 0) & (rms["mismatched"] > 0)
    out = paired_binary_difference(
        items.loc[both, "correct_mismatched"].astype(float).to_numpy(),
        items.loc[both, "correct_audio"].astype(float).to_numpy(),
        clusters=clips[both].to_numpy(),
    )
    out["definition"] = (
        "accuracy(mismatched) - accuracy(audio) over the scored items whose real clip and mismatched clip both "
        "carry sound (RMS > 0 as sent); Tango's score interval for paired 0/1 outcomes, clustered by the real clip"
    )
    out["excluded_silent"] = int((~both).sum())
    return out


def kept_without_audio(paths: ModelPaths, bootstrap: int, seed: int = 0) -> dict[str, Any]:
    """The share of the full-audio score kept under ``none``: raw (none / audio) and chance-corrected
    ((none − chance) / (audio − chance), chance = mean of 1 / number of choices), each with a percentile
    CI from resampling clips (clusters) with their items; a resample where the ratio is undefined
    (audio at or below chance) is dropped and counted."""
    import numpy as np

    from lalm_bench.io import read_parquet

    items = read_parquet(paths.items)
    clips = read_parquet(paths.condition("audio")).set_index("id")["audio_path"].astype(str)
    cluster = items["id"].map(clips).fillna(items["id"].astype(str)).to_numpy()
    audio = items["correct_audio"].to_numpy(dtype=float)
    none = items["correct_none"].to_numpy(dtype=float)
    chance = 1.0 / items["n_choices"].to_numpy(dtype=float)

    def ratios(idx: np.ndarray) -> tuple[float | None, float | None]:
        a, n, c = audio[idx].mean(), none[idx].mean(), chance[idx].mean()
        return (n / a if a > 0 else None), ((n - c) / (a - c) if a > c else None)

    raw, corrected = ratios(np.arange(len(items)))
    out: dict[str, Any] = {"raw": raw, "chance_corrected": corrected, "ci95": None, "chance_corrected_ci95": None}
    out["ci_method"] = f"cluster-bootstrap percentile ({bootstrap} resamples of clips)"
    if bootstrap < 1 or not len(items):
        return out
    rng = np.random.default_rng(seed)
    names, codes = np.unique(cluster, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(len(names))]
    draws: list[tuple[float | None, float | None]] = []
    for _ in range(bootstrap):
        pick = rng.integers(0, len(members), len(members))
        draws.append(ratios(np.concatenate([members[k] for k in pick])))
    for key, pos in (("ci95", 0), ("chance_corrected_ci95", 1)):
        values = np.array([d[pos] for d in draws if d[pos] is not None], dtype=float)
        out[key] = [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))] if len(values) else None
        out[f"{key}_undefined_resamples"] = int(bootstrap - len(values))
    return out


def verdict(
    accuracy: dict[str, Any],
    similarity: dict[str, Any],
    identical: dict[str, float],
    content: dict[str, Any] | None = None,
    kept: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Does the model listen? From the accuracy drop under each control (paired CI), the listening gap
    (noise-vs-noise − audio-vs-noise, CI) and the share of answers identical to those with audio.

    The rule is :data:`VERDICT_RULE`; ``content`` and ``kept`` come from :func:`content_difference` and
    :func:`kept_without_audio`."""
    chance = accuracy.get("chance_accuracy")
    conditions = accuracy["conditions"]
    drops = {}
    for name, comp in accuracy["comparisons"].items():
        lo, hi = comp["ci95"] if comp.get("ci95") else (None, None)
        drops[name] = {
            "difference": comp["difference"],
            "ci95": comp.get("ci95"),
            "ci_method": comp.get("ci_method"),
            "ci_excludes_zero": lo is not None and hi is not None and (hi < 0 or lo > 0),
        }
    audio_acc = conditions["audio"]["accuracy"]
    gap = (similarity.get("listening") or {}).get("listening_gap", {}).get("overall") or {}
    gap_ci = gap.get("ci95")
    noise_drop = drops.get("noise", {})
    noise_ci = noise_drop.get("ci95")
    moves = bool(noise_ci and noise_ci[1] < 0 and gap_ci and gap_ci[0] > 0)
    content_ci = (content or {}).get("ci95")
    uses_content = bool(content_ci and content_ci[1] < 0)
    deaf = all(not d["ci_excludes_zero"] for d in drops.values()) and bool(gap_ci and gap_ci[0] <= 0 <= gap_ci[1])
    if moves:
        label = "listens" if uses_content or content is None else "notices sound only"
    else:
        label = "does not listen" if deaf else "unclear"
    same_noise = identical.get("noise", 0.0)

    def pct(v: float) -> str:
        return f"{100 * v:+.1f}"

    line = (
        f"accuracy {100 * audio_acc:.1f}% with audio (chance {100 * (chance or 0):.1f}%); under noise "
        f"{pct(noise_drop.get('difference', 0.0))} points"
        + (f" [{pct(noise_ci[0])}, {pct(noise_ci[1])}]" if noise_ci else "")
        + (
            f"; listening gap {gap['mean_difference']:+.3f} [{gap_ci[0]:+.3f}, {gap_ci[1]:+.3f}]"
            if gap_ci and gap.get("mean_difference") is not None
            else ""
        )
        + (
            f"; content (mismatched, both with sound) {pct(content['difference'])} points"
            f" [{pct(content_ci[0])}, {pct(content_ci[1])}]"
            if content and content_ci and content.get("difference") is not None
            else ""
        )
        + f"; answers identical to audio's under noise for {100 * same_noise:.0f}% of items"
    )
    conclusion = {
        "listens": "the answers depend on what is in the audio: this model uses it.",
        "notices sound only": "the answers change with sound against silence, not with what the sound is.",
        "does not listen": "the answers do not depend on the audio: this model is not using it.",
        "unclear": "the evidence is mixed; look at the controls one by one.",
    }[label]
    return {
        "label": label,
        "line": f"{line}: {conclusion}",
        "accuracy_audio": audio_acc,
        "chance_accuracy": chance,
        "accuracy_drop": drops,
        "listening_gap": {"mean": gap.get("mean_difference"), "ci95": gap_ci, "ci_method": gap.get("ci_method")},
        "content": content,
        "identical_to_audio": identical,
        "kept_without_audio": kept,
        "rule": VERDICT_RULE,
    }


def make_report(paths: DemoPaths, models: dict[str, ModelPaths], overwrite: bool) -> tuple[Path | None, str | None]:
    """The demo's HTML page (``lalm-bench report`` over every model folder, labelled by model):
    ``(page, None)``."""
    from lalm_bench.io import OutputOptions
    from lalm_bench.report.command import report_command
    from lalm_bench.report.config import ReportConfig

    config = ReportConfig(
        paths=tuple(mp.folder for mp in models.values()),
        labels={name: mp.folder for name, mp in models.items()},
        title="lalm-bench demo: which model listens?",
    )
    report_command(config, OutputOptions(paths.report, overwrite=overwrite, quiet=True))
    return paths.report, None


def run_demo(
    config: DemoConfig,
    output: OutputOptions,
    *,
    embedder: Embedder | None = None,
    step: Step | None = None,
) -> DemoResult:
    """Make the benchmark, run every job for every model, conclude. ``step`` is told what starts."""
    from lalm_bench.datasets.demo import write_demo_benchmark
    from lalm_bench.embeddings.options import build_embedder
    from lalm_bench.manifest import build_manifest

    say = step or (lambda _msg: None)
    paths = DemoPaths(Path(output.path))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    say("benchmark: synthesising the clips")
    bench = write_demo_benchmark(paths.benchmark_folder, config.seed)
    timings["benchmark"] = time.perf_counter() - t0
    per_model = {m: paths.model(m) for m in config.models}
    for model, mp in per_model.items():
        t = time.perf_counter()
        say(f"predict {model}: {', '.join(CONDITIONS)} and noise under a second seed")
        _predict(config, model, bench.path, mp, output.overwrite)
        timings[f"predict {model}"] = time.perf_counter() - t
    shared = embedder or build_embedder(config.embedding, progress=False)
    models: dict[str, dict[str, Any]] = {}
    for model, mp in per_model.items():
        t = time.perf_counter()
        say(f"similarity + accuracy {model}")
        sim = _similarity(config, mp, shared, output.overwrite)
        acc = _accuracy(config, mp, output.overwrite)
        timings[f"similarity + accuracy {model}"] = time.perf_counter() - t
        models[model] = {
            "folder": str(mp.folder),
            "files": {k: str(v) for k, v in mp.outputs().items()},
            "verdict": verdict(
                acc,
                sim,
                identical_shares(mp),
                content_difference(mp, config.bootstrap),
                kept_without_audio(mp, config.bootstrap),
            ),
        }
    t = time.perf_counter()
    page, note = make_report(paths, per_model, output.overwrite)
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    manifest = build_manifest(
        "demo",
        config.parameters(),
        inputs=[],
        model=shared.info(),
        wall_seconds=round(timings["total"], 3),
    )
    return DemoResult(
        folder=str(paths.root),
        benchmark=bench.describe(),
        models=models,
        report=str(page) if page else None,
        report_note=note,
        timings_s={k: round(v, 3) for k, v in timings.items()},
        manifest=manifest,
    )
