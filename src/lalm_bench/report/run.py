"""``run_report``: read every input, compute each model's verdict, build the items, the audio, the figures
and the tables of the page. Writes nothing (the command writes the page and the audio files)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from lalm_bench.report import figures as fig
from lalm_bench.report.audio import AudioPlan, plan_audio
from lalm_bench.report.config import ReportConfig
from lalm_bench.report.inputs import Inputs, ModelInputs, collect_inputs
from lalm_bench.report.items import ModelItems, build_items, order_conditions
from lalm_bench.report.probes import SUMMARY_KEYS, probe_figures, probe_tables
from lalm_bench.report.tables import headline_tables

FORMAT = "lalm-bench/report/1"


class ReportResult(BaseModel):
    """Everything the page shows: ``data`` goes into the page as JSON; ``figures`` are inline SVG;
    ``audio_files`` are written beside the page with ``--audio link``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    format: str = FORMAT
    title: str
    data: dict[str, Any]
    figures: list[dict[str, str]]
    tables: dict[str, list[dict[str, Any]]]
    audio_files: dict[str, bytes]
    manifest: dict[str, Any]


def _verdict(m: ModelInputs, items: ModelItems, config: ReportConfig) -> dict[str, Any]:
    from lalm_bench.stats.verdict import listening_verdict

    v = listening_verdict(
        m.accuracy.doc if m.accuracy else None,
        m.similarity.doc if m.similarity else None,
        identical=items.identical,
        n_resamples=config.bootstrap,
        seed=config.seed,
    )
    return v.to_json()


def _provenance(m: ModelInputs) -> dict[str, Any]:
    out: dict[str, Any] = {"manifests": {}, "warnings": [], "canary": {}, "prompt": None, "seeds": None}
    for cond, run in m.predict.items():
        man = run.manifest
        out["manifests"][f"predict {cond} ({run.manifest_path.name})"] = man
        if man.get("canary"):
            out["canary"][cond] = man["canary"]
        out["prompt"] = out["prompt"] or man.get("prompt")
        out["seeds"] = out["seeds"] or man.get("seeds")
        out["warnings"] += [str(w) for w in (man.get("canary") or {}).get("warnings", []) if w]
    for job in (m.accuracy, m.similarity):
        if job is not None:
            out["manifests"][f"{job.kind} ({job.path.name})"] = job.doc.get("manifest", {})
            out["warnings"] += [f"{job.kind}: {w}" for w in job.doc.get("warnings", []) if isinstance(w, str)]
    out["warnings"] = list(dict.fromkeys(out["warnings"]))
    return out


def _summary(m: ModelInputs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.accuracy is not None:
        d = m.accuracy.doc
        keys = ("format", "scored", "not_scored", "chance_accuracy", "conditions", "comparisons", "by_category",
                "reliance", "extraction", "matching", *SUMMARY_KEYS)  # fmt: skip
        out["accuracy"] = {k: d.get(k) for k in keys}
        out["accuracy"]["file"] = str(m.accuracy.path)
    if m.similarity is not None:
        d = m.similarity.doc
        out["similarity"] = {k: d.get(k) for k in ("format", "overall", "by_category", "floor", "comparison",
                                                   "listening", "matching")}  # fmt: skip
        out["similarity"]["same_question"] = {
            k: v for k, v in (d.get("same_question") or {}).items() if k != "comparison"
        }
        out["similarity"]["file"] = str(m.similarity.path)
    out["predict"] = {c: str(r.parquet) for c, r in m.predict.items()}
    out["model"] = next((r.manifest.get("model") for r in m.predict.values() if r.manifest.get("model")), None)
    return out


def model_figures(label: str, s: dict[str, Any]) -> list[dict[str, str]]:
    """Accuracy per condition (chance marked), per-category forest plots of each control's paired change, and
    the similarity baselines."""
    out: list[dict[str, str]] = []
    acc = s.get("accuracy")
    if acc:
        conds = acc["conditions"]
        rows = [
            fig.Row(c, [fig.Point("accuracy", conds[c].get("accuracy"), *(conds[c].get("ci95") or (None, None)))])
            for c in order_conditions(list(conds))
        ]
        chance = acc.get("chance_accuracy")
        out.append({
            "model": label, "kind": "accuracy",
            "svg": fig.dot_whisker(
                f"{label}: accuracy per condition (95% CI)", rows, percent=True, x_range=(0.0, 1.0),
                lines=[(chance, "chance")] if chance is not None else [], x_label="accuracy",
            ),
        })  # fmt: skip
        cats = acc.get("by_category") or {}
        controls = order_conditions(list(acc.get("comparisons") or {}))
        if controls:

            def points(g: dict[str, Any]) -> list[fig.Point]:
                comps = g.get("comparisons") or {}
                return [
                    fig.Point(c, comps.get(c, {}).get("difference"), *(comps.get(c, {}).get("ci95") or (None, None)))
                    for c in controls
                ]

            rows = [fig.Row(f"all items (n={acc.get('scored')})", points(acc))]
            rows += [fig.Row(f"{cat} (n={g.get('count')})", points(g)) for cat, g in cats.items()]
            out.append({
                "model": label, "kind": "forest",
                "svg": fig.dot_whisker(
                    f"{label}: accuracy under each control − with audio, per category (paired, 95% CI)", rows,
                    percent=True, lines=[(0.0, "no change")], x_label="change in accuracy",
                ),
            })  # fmt: skip
    sim = s.get("similarity")
    if sim:
        rows = []
        cmp = sim.get("comparison") or {}
        lst = sim.get("listening") or {}
        names = ["(all)", *(sim.get("by_category") or {})]
        for name in names:
            d = sim["overall"] if name == "(all)" else sim["by_category"][name]
            fl = (sim.get("floor") or {}).get("overall" if name == "(all)" else "by_category", {})
            fl = fl if name == "(all)" else fl.get(name, {})
            pts = [
                fig.Point("audio vs noise (matched)", d.get("mean"), *(d.get("ci95") or (None, None))),
                fig.Point("floor (other items)", fl.get("mean"), *(fl.get("ci95") or (None, None))),
            ]
            if lst.get("available"):
                nn = lst["noise_vs_noise"]["overall" if name == "(all)" else "by_category"]
                nn = nn if name == "(all)" else nn.get(name, {})
                pts.append(
                    fig.Point("noise vs noise (ignores audio)", nn.get("mean"), *(nn.get("ci95") or (None, None)))
                )
            rows.append(fig.Row(name, pts))
        del cmp
        out.append({
            "model": label, "kind": "similarity",
            "svg": fig.dot_whisker(
                f"{label}: answer similarity and its baselines (95% CI)", rows, x_label="cosine similarity",
            ),
        })  # fmt: skip
    return out


def _rubric_panels(inputs: Inputs) -> dict[str, Any]:
    """Compact views of judge, compare and clotho-refs outputs (their own numbers, not recomputed)."""
    out: dict[str, Any] = {"judge": [], "compare": [], "clotho_refs": [], "figures": []}
    for job in inputs.judge:
        d = job.doc.get("summary", job.doc)
        verdicts = _judge_verdicts(job.path)
        out["judge"].append({
            "file": str(job.path), "systems": d.get("systems"),
            "human_level": d.get("human_level") or d.get("human_ceiling"),  # judge format 1: human_ceiling
            "criteria": (d.get("criteria") or [])[:200] if isinstance(d.get("criteria"), list) else d.get("criteria"),
            "differences": d.get("differences"), "policy": d.get("policy"), "verdicts": verdicts,
        })  # fmt: skip
    for job in inputs.compare:
        d = job.doc
        growth = d.get("growth") or {}
        surv = d.get("survival") or {}
        out["compare"].append({
            "file": str(job.path), "f1_matrix": d.get("f1_matrix"),
            "survivors": surv.get("survivors"), "n_survivors": surv.get("n_survivors"),
            "per_rubric": surv.get("per_rubric"), "growth": {k: v for k, v in growth.items() if k != "curves"},
        })  # fmt: skip
        curves: dict[str, list[float]] = {
            str(k): [float(x) for x in v["sizes"]]
            for k, v in (growth.get("curves") or {}).items()
            if isinstance(v, dict) and v.get("sizes")
        }
        if curves:
            out["figures"].append({
                "model": "", "kind": "growth",
                "svg": fig.line_chart("rubric size after each clip", curves, x_label="clips", y_label="criteria"),
            })  # fmt: skip
    for job in inputs.clotho_refs:
        out["clotho_refs"].append({"file": str(job.path), "summary": job.doc, "flagged": _flagged_clips(job.path)})
    return out


def _judge_verdicts(summary_path: Path, limit: int = 300) -> list[dict[str, Any]]:
    """The first ``limit`` verdicts with reasons of a judge folder (``verdicts.parquet``/``.csv``)."""
    for name in ("verdicts.parquet", "verdicts.csv"):
        p = summary_path.with_name(name)
        if p.is_file():
            from lalm_bench.io import read_table

            try:
                df = read_table(p)
            except Exception:  # a damaged side table must not stop the page
                return []
            return [{k: (None if v != v else v) for k, v in r.items()} for r in df.head(limit).to_dict("records")]
    return []


def _flagged_clips(summary_path: Path, limit: int = 200) -> list[dict[str, Any]]:
    """Clips flagged by clotho-refs (any ``flag`` column true), from the ``clips`` CSV beside the summary."""
    folder = summary_path.parent
    for p in sorted(folder.glob("*clips*.csv")):
        import pandas as pd

        try:
            df = pd.read_csv(p)
        except Exception:  # a damaged side table must not stop the page
            return []
        flags = [c for c in df.columns if "flag" in c.lower()]
        if flags:
            mask = df[flags].fillna(False).astype(bool).any(axis=1)
            df = df[mask]
        rows = df.head(limit).to_dict("records")
        return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]
    return []


def run_report(config: ReportConfig, *, report_path: Path | None = None, progress: bool = True) -> ReportResult:
    """Read and assemble everything the page shows (no files written)."""
    from lalm_bench.manifest import build_manifest

    t0 = time.perf_counter()
    inputs = collect_inputs(config.paths, config.labels)
    report_path = report_path or Path("report.html")
    models: dict[str, Any] = {}
    items_data: dict[str, Any] = {}
    figures: list[dict[str, str]] = []
    plan = AudioPlan()
    summaries: dict[str, dict[str, Any]] = {}
    for label, m in inputs.models.items():
        items = build_items(m)
        plan_audio(label, m, items, mode=config.audio, n_items=config.audio_items, report_path=report_path, plan=plan)
        s = _summary(m)
        summaries[label] = s
        models[label] = {
            "label": label,
            "verdict": _verdict(m, items, config),
            "summary": s,
            "provenance": _provenance(m),
            "warnings": items.warnings,
            "conditions": items.conditions,
        }
        items_data[label] = {"conditions": items.conditions, "rows": items.rows}
        figures += model_figures(label, s) + probe_figures(label, s.get("accuracy") or {})
    tables = headline_tables(
        {k: {"accuracy": v.get("accuracy"), "similarity": v.get("similarity")} for k, v in summaries.items()}
    )
    if inputs.models_compared:
        from lalm_bench.report.tables import model_rows

        tables["models_compared"] = model_rows([job.doc for job in inputs.models_compared])
    tables.update(probe_tables({k: {"accuracy": v.get("accuracy")} for k, v in summaries.items()}))
    panels = _rubric_panels(inputs)
    figures += panels.pop("figures")
    manifest = build_manifest(
        "report",
        config.parameters(),
        inputs=list(dict.fromkeys([*inputs.files, *(p for m in inputs.models.values() for p in m.files())])),
        wall_seconds=round(time.perf_counter() - t0, 3),
    )
    data = {
        "format": FORMAT,
        "title": config.title,
        "models": models,
        "items": items_data,
        "audio": plan.players,
        "audio_mode": config.audio,
        "audio_notes": plan.notes,
        "panels": panels,
        "tables": tables,
        "manifest": manifest,
    }
    return ReportResult(
        title=config.title, data=data, figures=figures, tables=tables, audio_files=plan.files, manifest=manifest
    )
