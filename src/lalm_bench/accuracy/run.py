"""The choice-level listening probe: is the answer still right when the audio is gone?

Reads the prediction files of every condition, reads which choice each answer picked
(:mod:`lalm_bench.accuracy.reading`), and scores accuracy per condition with clustered CIs, each
control against ``audio`` (paired difference, McNemar, flips), per category, and a reliance label
per item (:mod:`lalm_bench.accuracy.scoring`). Writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from lalm_bench.accuracy import order, partial, scoring
from lalm_bench.accuracy.arrival import leave_out_unarrived
from lalm_bench.accuracy.config import REFERENCE, AccuracyConfig, base_condition
from lalm_bench.accuracy.extraction import CALIBRATION_MODEL, DEFAULT_MIN_MARGIN, DEFAULT_MIN_SIMILARITY
from lalm_bench.accuracy.fallback import PROMPT_VERSION
from lalm_bench.accuracy.items import NOT_SCORED_REASONS, Items, load_items
from lalm_bench.accuracy.reading import Reading, is_calibration_model, read_answers
from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from lalm_bench.embeddings import Embedder
    from lalm_bench.llm.interface import ChatModel
    from lalm_bench.llm.options import ModelFactory

FORMAT = "lalm-bench/accuracy/2"  # 2: Tango intervals, refusals apart, labels renamed, needs-audio from repeats


class AccuracyResult(BaseModel):
    """What ``accuracy`` writes as JSON; :meth:`table` is the per-item table of ``--items``."""

    format: str = FORMAT
    scored: int
    not_scored: dict[str, int]
    chance_accuracy: float | None
    conditions: dict[str, dict[str, Any]]
    comparisons: dict[str, dict[str, Any]]
    by_category: dict[str, dict[str, Any]]
    reliance: dict[str, Any]
    extraction: dict[str, Any]
    matching: dict[str, Any]
    clusters: dict[str, Any]
    warnings: list[str]
    run_to_run: dict[str, Any] | None = None  # repeated controls: accuracy.repeats.run_to_run
    items: list[dict[str, Any]]
    not_scored_items: list[dict[str, Any]]
    manifest: dict[str, Any]
    arrival: dict[str, Any] = {}  # audio that never arrived (accuracy/arrival.py)
    partial_audio: dict[str, Any] = {}  # head:S curves (accuracy.partial); empty without head conditions
    option_order: dict[str, Any] = {}  # --permute-choices rows (accuracy.order); empty without them

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    def table(self) -> pd.DataFrame:
        """One row per scored item: ``id``, ``category``, ``gold``, ``n_choices``, per condition ``choice_<c>``
        (0-based, null when unparsed), ``method_<c>``, ``rule_<c>``, ``hedged_<c>``, ``correct_<c>``, then
        ``reliance`` and,
        with repeated controls, ``needs_audio_p``, ``needs_audio_q``, ``needs_audio``."""
        import pandas as pd

        names = list(self.conditions)
        columns = ["id", "category", "gold", "n_choices"]
        for c in names:
            columns += [f"choice_{c}", f"method_{c}", f"rule_{c}", f"hedged_{c}", f"correct_{c}"]
        columns.append("reliance")
        if self.reliance.get(scoring.NEEDS_AUDIO) is not None:
            columns += ["needs_audio_p", "needs_audio_q", "needs_audio"]
        columns += [f"shortest_head_{fill}" for fill in self.partial_audio.get("curves", {})]
        df = pd.DataFrame(self.items, columns=columns)
        for col in ["gold", "n_choices", *(f"choice_{c}" for c in names)]:
            df[col] = df[col].astype("Int64")
        for c in names:
            df[f"correct_{c}"] = df[f"correct_{c}"].astype(bool)
            df[f"hedged_{c}"] = df[f"hedged_{c}"].astype(bool)
        return df

    def subset(self, label: str) -> list[Any]:
        """The ids of the items labelled ``label`` (a :data:`~lalm_bench.accuracy.scoring.RELIANCE` label, or
        ``needs-audio``: the items with evidence across repeated controls), in file order."""
        if label == scoring.NEEDS_AUDIO:
            return [row["id"] for row in self.items if row.get("needs_audio")]
        label = scoring.OLD_LABELS.get(label, label)
        return [row["id"] for row in self.items if row["reliance"] == label]


@dataclass(frozen=True)
class _Outcomes:
    """Per condition and item: the choice read, how, and whether it is right, hedged, missing or a refusal."""

    names: list[str]
    choice: dict[str, np.ndarray]
    correct: dict[str, np.ndarray]
    methods: dict[str, list[str]]
    rules: dict[str, list[str | None]]
    hedged: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]
    refused: dict[str, np.ndarray]


def run_accuracy(
    config: AccuracyConfig,
    *,
    embedder: Embedder | None = None,
    model_factory: ModelFactory | None = None,
    progress: bool = True,
) -> AccuracyResult:
    """Run the choice-level probe (no files written). ``embedder`` / ``model_factory`` replace the ones
    the config describes (the embedder is built, and the LLM asked, only for answers the rules leave open)."""
    t0 = time.perf_counter()
    items = load_items(config)
    items, arrival, arrival_warnings = leave_out_unarrived(config, items)
    if not len(items):
        reasons = ", ".join(f"{k} {r}" for r, k in items.not_scored.items()) or "no rows"
        raise InputError(f"nothing to score: no item has two or more choices with its answer among them ({reasons})")
    reading, used = _read(config, items, embedder, model_factory, progress)
    o = _outcomes(items, reading)
    n_choices = np.array([len(ch) for ch in items.choices], dtype=np.float64)
    clusters = np.asarray(items.clusters, dtype=object)
    categories = np.asarray(items.categories, dtype=object)
    # repeats (noise@1) do not enter the labels, nor do partial-audio conditions (a long head is the clip)
    primary = [c for c in o.names[1:] if base_condition(c) == c]
    whole = [c for c in primary if not partial.is_partial(c)]
    primary = whole or primary
    labels = np.asarray(
        scoring.reliance_labels(o.correct[REFERENCE], [o.correct[c] for c in primary], [o.refused[c] for c in primary]),
        dtype=object,
    )
    repeats = config.repeats()
    needs: dict[str, dict[str, Any]] = {
        base: scoring.needs_audio_test(o.correct[REFERENCE], [o.correct[c] for c in group])
        for base, group in repeats.items()
    }
    needs_flag = np.logical_and.reduce([t["flag"] for t in needs.values()]) if needs else None

    def group(mask: np.ndarray) -> dict[str, Any]:
        return scoring.group_stats(
            mask, o.names, o.correct, o.choice, o.methods, o.rules, o.missing, n_choices, clusters, labels,
            config.bootstrap, config.seed, needs_flag, o.hedged,
        )  # fmt: skip

    overall = group(np.ones(len(items), dtype=bool))
    by_category = {cat: group(categories == cat) for cat in sorted(set(items.categories))}
    scoring.add_holm(overall, by_category)
    run_to_run = None
    if repeats:
        from lalm_bench.accuracy import repeats as repeat_stats

        run_to_run = repeat_stats.run_to_run(repeats, o.correct, o.choice, clusters)
        repeat_stats.add_spread([overall, *by_category.values()], repeats)

    extraction, warnings = _extraction_info(config, items, reading, used.get("embedder"))
    warnings = arrival_warnings + warnings
    rows = _item_rows(
        items, o.names, o.choice, o.methods, o.rules, o.hedged, o.correct, labels, needs, needs_flag
    )  # fmt: skip
    reliance = _reliance(overall, primary, repeats, needs, needs_flag, o.refused, labels)
    partial_audio = partial.partial_audio(o.names, o.correct, overall["conditions"], REFERENCE, rows)
    option_order = order.option_order(items, overall, config.bootstrap, config.seed)
    if needs:
        warnings.extend(_needs_audio_warnings(needs, repeats))
    return AccuracyResult(
        scored=len(items),
        not_scored={r: items.not_scored.get(r, 0) for r in NOT_SCORED_REASONS},
        chance_accuracy=overall["chance_accuracy"],
        conditions=overall["conditions"],
        comparisons=overall["comparisons"],
        by_category=by_category,
        reliance=reliance,
        extraction=extraction,
        matching=items.matching,
        clusters=items.cluster_info,
        warnings=warnings,
        run_to_run=run_to_run,
        items=rows,
        not_scored_items=items.not_scored_items,
        arrival=arrival,
        partial_audio=partial_audio,
        option_order=option_order,
        manifest=_manifest(config, items, used, extraction, time.perf_counter() - t0),
    )


def _read(
    config: AccuracyConfig,
    items: Items,
    embedder: Embedder | None,
    model_factory: ModelFactory | None,
    progress: bool,
) -> tuple[Reading, dict[str, Embedder]]:
    """Read every answer; the embedder (kept in the returned dict) and the LLM are made only when the rules
    leave answers open."""
    used: dict[str, Embedder] = {}

    def make_embedder() -> Embedder:
        if embedder is not None:
            used["embedder"] = embedder
        else:
            from lalm_bench.embeddings.options import build_embedder

            used["embedder"] = build_embedder(config.embedding, progress=progress)
        return used["embedder"]

    def make_model() -> ChatModel:
        from lalm_bench.llm.options import default_model_factory

        assert config.llm_model is not None
        return (model_factory or default_model_factory)(config.llm_model, config.llm)

    reading = read_answers(
        items.answers,
        items.choices,
        items.questions,
        extractor=config.extractor,
        min_similarity=config.min_similarity,
        min_margin=config.min_margin,
        embedder_factory=make_embedder,
        model_factory=make_model,
        concurrency=config.llm.concurrency,
        progress=progress,
    )
    return reading, used


def _outcomes(items: Items, reading: Reading) -> _Outcomes:
    names = list(items.answers)
    ex = reading.extractions
    gold = np.asarray(items.gold, dtype=np.int64)
    choice = {c: np.array([-1 if e.choice is None else e.choice for e in ex[c]], dtype=np.int64) for c in names}
    rules = {c: [e.rule for e in ex[c]] for c in names}
    return _Outcomes(
        names=names,
        choice=choice,
        correct={c: choice[c] == gold for c in names},
        methods={c: [str(e.method) for e in ex[c]] for c in names},
        rules=rules,
        hedged={c: np.array([e.hedged for e in ex[c]], dtype=bool) for c in names},
        missing={c: np.array([a is None for a in items.answers[c]], dtype=bool) for c in names},
        refused={
            c: np.array([r == scoring.REFUSAL_RULE for r in rules[c]], dtype=bool) & (choice[c] < 0) for c in names
        },
    )


def _manifest(
    config: AccuracyConfig, items: Items, used: dict[str, Embedder], extraction: dict[str, Any], seconds: float
) -> dict[str, Any]:
    from lalm_bench.manifest import build_manifest

    return build_manifest(
        "accuracy",
        config.parameters(),
        inputs=list(items.files.values()),
        model=used["embedder"].info() if "embedder" in used else None,
        extraction=extraction,
        statistics={
            "accuracy_ci": "stats.describe(binary=True): Wilson interval; cluster-Wilson where items share an audio "
            "clip (connected components over audio files, or --cluster-column)",
            "difference_ci": "stats.paired_binary_difference: Tango's score interval for paired proportions; "
            "cluster-tango (counts divided by the design effect, t(G-1)) where items share a clip",
            "mcnemar": "exact two-sided binomial test of audio_only_right vs control_only_right",
            "holm": "mcnemar_p_holm: overall across controls; per category across the categories with a testable "
            "comparison (two or more items and a discordant pair), per control",
            "needs_audio": "per item, one-sided exact sign test across the repeats of a control, "
            f"Benjamini-Hochberg q <= {scoring.NEEDS_AUDIO_FDR}",
            "bootstrap": config.bootstrap,
            "seed": config.seed,
        },
        wall_seconds=round(seconds, 3),
    )


def _reliance(
    overall: dict[str, Any],
    primary: list[str],
    repeats: dict[str, list[str]],
    needs: dict[str, dict[str, Any]],
    needs_flag: np.ndarray | None,
    refused: dict[str, np.ndarray],
    labels: np.ndarray,
) -> dict[str, Any]:
    counts = overall["reliance"]
    out: dict[str, Any] = {
        "counts": counts,
        "controls": primary,
        "expected_by_flipping": scoring.expected_by_flipping(counts),
        "right_under_a_control": counts["right-both"] + counts["right-only-without-audio"],
        "definition": scoring.RELIANCE_DEFINITION,
        scoring.NEEDS_AUDIO: None,
    }
    if len(primary) > 1:
        out["expected_by_flipping"]["note"] = (
            "the labels combine several controls (right under any); the exchangeability holds per control: "
            "see expected_by_flipping of each comparison"
        )
    if needs_flag is not None:
        right_only = np.isin(labels, ["right-only-with-audio", "refused-without-audio"])
        any_refused = np.logical_or.reduce([refused[c] for group in repeats.values() for c in group])
        out[scoring.NEEDS_AUDIO] = {
            "count": int(needs_flag.sum()),
            "repeats": repeats,
            "test": "per item, one-sided exact sign test of (right with audio, wrong under the repeat) against "
            "the reverse across the repeats; Benjamini-Hochberg over all scored items",
            "fdr": scoring.NEEDS_AUDIO_FDR,
            "min_p": {base: t["min_p"] for base, t in needs.items()},
            "with_a_refusal": int((needs_flag & any_refused).sum()),
            "right_only_with_audio_single_run": int(right_only.sum()),
        }
    return out


def _needs_audio_warnings(needs: dict[str, dict[str, Any]], repeats: dict[str, list[str]]) -> list[str]:
    out = []
    for base, t in needs.items():
        m = int(t["p"].size)
        # BH can flag the smallest p only if p <= fdr / m · (number of items at that p); at best all m
        if t["min_p"] > scoring.NEEDS_AUDIO_FDR:
            runs = len(repeats[base])
            need = int(np.ceil(np.log2(1 / scoring.NEEDS_AUDIO_FDR)))
            out.append(
                f"{runs} runs of {base!r}: the smallest per-item p-value is 2^-{runs} = {t['min_p']:.3g} > "
                f"{scoring.NEEDS_AUDIO_FDR}, so no item can show that it needs the audio; give at least {need} runs "
                f"(--condition {base}@{runs}=FILE …), more for {m} items under Benjamini-Hochberg"
            )
    return out


def _extraction_info(
    config: AccuracyConfig, items: Items, reading: Any, embedder: Embedder | None
) -> tuple[dict[str, Any], list[str]]:
    warnings = list(items.notes)
    info: dict[str, Any] = {
        "extractor": config.extractor,
        "pipeline": "rules; answers in which the rules find no option (rule no-option) go to the fallback "
        + {"embedding": "(nearest choice by cosine)", "llm": "(LLM pick)", "none": "(none: they stay unparsed)"}[
            config.extractor
        ],
        "fallback": reading.fallback,
    }
    if config.extractor == "embedding":
        model = embedder.info()["name"] if embedder is not None else config.embedding.model
        calibrated = is_calibration_model(str(model))
        defaults = (config.min_similarity, config.min_margin) == (DEFAULT_MIN_SIMILARITY, DEFAULT_MIN_MARGIN)
        info["embedding"] = {
            "model": model,
            "min_similarity": config.min_similarity,
            "min_margin": config.min_margin,
            "thresholds": "the calibrated defaults" if defaults else "given (--min-similarity/--min-margin)",
            "calibration_model": CALIBRATION_MODEL,
            "calibrated_for_this_model": calibrated and defaults,
        }
        if not calibrated and defaults and reading.fallback.get("answers_sent"):
            warnings.append(
                f"the embedding thresholds ({config.min_similarity}, margin {config.min_margin}) were calibrated "
                f"with {CALIBRATION_MODEL}, not {model}: {reading.fallback.get('resolved', 0)} of "
                f"{reading.fallback['answers_sent']} fallback answers were read with uncalibrated thresholds "
                f"(use --model {CALIBRATION_MODEL}, or recalibrate with benchmarks/extractor_calibration.py "
                "and pass --min-similarity/--min-margin)"
            )
    if config.extractor == "llm":
        info["llm"] = {"model": config.llm_model, "prompt_version": PROMPT_VERSION, **reading.fallback.get("llm", {})}
        failed = info["llm"].get("failed", 0)
        if failed:
            warnings.append(
                f"{failed} LLM choice pick(s) failed and count as unparsed (llm-failed); rerun to retry them "
                "(successful picks come from the response cache)"
            )
    return info, warnings


def _item_rows(
    items: Items,
    names: list[str],
    choice: dict[str, np.ndarray],
    methods: dict[str, list[str]],
    rules: dict[str, list[str | None]],
    hedged: dict[str, np.ndarray],
    correct: dict[str, np.ndarray],
    labels: np.ndarray,
    needs: dict[str, dict[str, Any]],
    needs_flag: np.ndarray | None,
) -> list[dict[str, Any]]:
    rows = []
    for i, item_id in enumerate(items.ids):
        row: dict[str, Any] = {
            "id": item_id,
            "category": items.categories[i],
            "gold": items.gold[i],
            "n_choices": len(items.choices[i]),
        }
        for c in names:
            k = int(choice[c][i])
            row[f"choice_{c}"] = None if k < 0 else k
            row[f"method_{c}"] = methods[c][i]
            row[f"rule_{c}"] = rules[c][i]
            row[f"hedged_{c}"] = bool(hedged[c][i])
            row[f"correct_{c}"] = bool(correct[c][i])
        row["reliance"] = str(labels[i])
        if needs_flag is not None:
            row["needs_audio_p"] = max(float(t["p"][i]) for t in needs.values())
            row["needs_audio_q"] = max(float(t["q"][i]) for t in needs.values())
            row["needs_audio"] = bool(needs_flag[i])
        rows.append(row)
    return rows
