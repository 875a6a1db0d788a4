"""What a ``predict`` call returns: counts per condition, the canary, the manifests and the Parquet-ready tables."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, PrivateAttr

from lalm_bench.audio.arrival import ARRIVAL_COLUMN, EXPECTED_COLUMN, OBSERVED_COLUMN
from lalm_bench.errors import LalmBenchError
from lalm_bench.predict.folders import other_conditions
from lalm_bench.predict.schema import PredictRecord
from lalm_bench.predict.state import ConditionRun, PredictState
from lalm_bench.tables import Column, arrow_column

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from lalm_bench.datasets.benchmark import BenchmarkItem, Rows

FORMAT = "lalm-bench/predict/1"
#: Columns ``predict`` adds to the benchmark's (a benchmark column of the same name is kept as ``benchmark_<name>``).
OUTPUT_COLUMNS = (
    "model_output",
    "condition",
    "seed",
    "audio_sha256",
    "audio_seconds",
    "audio_original_seconds",
    "audio_truncated",
    "audio_parts",
    "mismatched_with",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "cached",
    "attempt",
    "error",
    "audio_sent",
)
#: Added after them: did the audio arrive? (:mod:`lalm_bench.audio.arrival`)
ARRIVAL_COLUMNS = (ARRIVAL_COLUMN, OBSERVED_COLUMN, EXPECTED_COLUMN)
#: Added with ``--permute-choices``: one row per (id, permutation_index); see :mod:`lalm_bench.predict.orders`.
ORDER_COLUMNS = ("permutation_index", "permutation")
UUID_NOTE = (
    "no multimodal uuid is sent; vLLM then keys its media cache on the audio bytes, so different audio never "
    "shares a cache entry"
)


class ConditionSummary(BaseModel):
    """Counts of one condition; ``processed``/``new_ok``/``new_failed``/``cache_hits`` cover this call only."""

    condition: str
    parquet: str
    manifest: str
    folder: str
    items: int
    ok: int
    failed: int
    resumed_from: int
    processed: int
    new_ok: int
    new_failed: int
    retried: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int


class PredictResult(BaseModel):
    """What a ``predict`` call produced: counts per condition, the serving canary, the manifests; the tables
    to write are in :meth:`tables` (Arrow) and :meth:`frames` (pandas, as ``pd.read_parquet`` reads them)."""

    format: str = FORMAT
    model: str
    conditions: list[ConditionSummary]
    canary: dict[str, Any]
    manifests: dict[str, dict[str, Any]]
    warnings: list[str]
    notes: list[str] = []  # what the user should know that is no problem (e.g. windows merged)
    _tables: dict[str, Any] = PrivateAttr(default_factory=dict)

    def tables(self) -> dict[str, pa.Table]:
        """``{condition: table}``: the benchmark's columns and :data:`OUTPUT_COLUMNS`, one row per selected item,
        with the ``pandas`` metadata that makes ``pd.read_parquet`` give the dtypes pandas would have written
        (:mod:`lalm_bench.tables`); built without pandas."""
        return dict(self._tables)

    def frames(self) -> dict[str, pd.DataFrame]:
        """:meth:`tables` as pandas frames (what ``pd.read_parquet`` gives for the written files)."""
        from lalm_bench.tables import to_pandas

        return {name: to_pandas(table) for name, table in self._tables.items()}

    @property
    def processed(self) -> int:
        return sum(c.processed for c in self.conditions)

    @property
    def processed_ok(self) -> int:
        return sum(c.new_ok for c in self.conditions)


def _common_manifest(state: PredictState) -> dict[str, Any]:
    import numpy as np
    import soundfile

    cfg = state.cfg
    assert state.benchmark is not None
    return {
        "model": {"spec": cfg.model, "servers": state.model_info},
        "prompt": state.template.describe(),
        "system_prompt": cfg.system_prompt,
        "sampling": {**dataclasses.asdict(cfg.sampling), "seed": cfg.seed},
        "seeds": {
            "seed": cfg.seed,
            "request": "sent as the request's seed",
            "noise": "PCG64 seeded by SHA-256 of JSON ['lalm-bench', 'noise/v1', seed, item id, file index]",
            "mismatch": "one seeded random cycle per group (category and number of audio files)",
        },
        "noise": {
            "level": "rms-matched per channel to the real clip as sent"
            if cfg.noise_dbfs is None
            else f"{cfg.noise_dbfs} dBFS RMS (full scale 1.0)",
            "dbfs": cfg.noise_dbfs,
            "kind": "white Gaussian, same frames, sample rate and channels as the real clip as sent",
        },
        "audio": {
            "root": str(cfg.root),
            "sent_as": "16-bit PCM WAV, base64 input_audio part(s) before the prompt text",
            "sample_rate": cfg.sample_rate,
            "max_seconds": cfg.max_audio_seconds,
            "multimodal_uuid": None,
            "uuid_note": UUID_NOTE,
            "preflight": state.preflight,
        },
        "columns": state.benchmark.columns,
        "selection": {"start": cfg.start, "limit": cfg.limit, "items": len(state.selection)},
        "table": "every benchmark item logged in the run folder, this call's window and earlier ones (merged)",
        "libraries": {
            "numpy": np.__version__,
            "soundfile": soundfile.__version__,
            "libsndfile": getattr(soundfile, "__libsndfile_version__", None),
        },
    }


def _inputs(state: PredictState) -> list[str | Path]:
    template = [state.cfg.prompt_template] if state.cfg.prompt_template is not None else []
    return [state.cfg.benchmark, *template]


def run_manifest(state: PredictState, run: ConditionRun) -> dict[str, Any]:
    """The manifest of a condition's run folder (``run.json``), written when its run starts."""
    from lalm_bench.manifest import build_manifest

    return build_manifest(
        "predict",
        state.cfg.parameters(),
        inputs=_inputs(state),
        condition=run.condition,
        settings=run.settings.model_dump(mode="json"),
        **_common_manifest(state),
        log=run.folder.log_path.name,
    )


def build_result(state: PredictState) -> PredictResult:
    """The counts, canary, manifests and tables of every condition, from its whole log."""
    from lalm_bench.manifest import build_manifest
    from lalm_bench.predict.arrival import arrival_columns
    from lalm_bench.predict.canary import serving_canary
    from lalm_bench.predict.checks import add_to_canary

    for run in state.runs:
        missing = [it.id for it in state.selection if state.asks(run, it) and it.id not in run.latest]
        if missing:  # only after a fatal stop, which raises before this
            raise LalmBenchError(f"{run.label}: {len(missing)} items have no record; rerun to resume")
    base_runs = [r for r in state.runs if r.order == 0]  # the benchmark's option order, one per sample
    first = [r for r in base_runs if r.sample == 0]  # the canary's and the arrival flags'
    by_condition = {r.condition: {it.id: r.latest[it.id] for it in state.selection} for r in first}
    others = other_conditions(state)
    canary = serving_canary({**others, **by_condition})
    canary["compared_from_earlier_calls"] = sorted(set(canary["conditions"]) - set(by_condition))
    arrivals = add_to_canary(state, canary, {**others, **{r.condition: r.latest for r in first}})
    common = _common_manifest(state)
    summaries, manifests, tables = [], {}, {}
    renamed = _renamed(state)
    if renamed:
        names = ", ".join(f"{a} -> {b}" for a, b in renamed.items())
        state.warnings.append(f"benchmark columns named like output columns were renamed: {names}")
    assert state.benchmark is not None
    notes: list[str] = []
    for run in base_runs:
        # order 0, then the other option orders, of this sample
        orders = [r for r in state.runs if r.condition == run.condition and r.sample == run.sample]
        # Windows merge: the table holds every item of the benchmark logged in this run folder (this
        # call's --start/--limit window and those of earlier calls), in the benchmark's order, so that
        # another window never replaces the rows of the last one; then the rows of the other orders.
        logged = [[it for it in state.benchmark.items if it.id in r.latest] for r in orders]
        table_items = [it for items in logged for it in items]
        latest = [r.latest[it.id] for r, items in zip(orders, logged, strict=True) for it in items]
        earlier = len(logged[0]) - len(state.selection)
        if earlier:
            notes.append(
                f"{run.label}: {run.parquet} holds {len(logged[0])} items: the {len(state.selection)} of this "
                f"call's window and {earlier} logged by earlier calls (windows are merged; --overwrite starts over)"
            )
        new = [rec for r in orders for rec in r.new]
        replies = [r.reply for r in new if r.reply is not None]
        summary = ConditionSummary(
            condition=run.label,
            parquet=str(run.parquet),
            manifest=str(run.manifest),
            folder=str(run.folder.folder),
            items=len(latest),
            ok=sum(r.status == "ok" for r in latest),
            failed=sum(r.status == "failed" for r in latest),
            resumed_from=sum(r.resumed_from for r in orders),
            processed=len(new),
            new_ok=sum(r.status == "ok" for r in new),
            new_failed=sum(r.status == "failed" for r in new),
            retried=sum(r.attempt > 1 for r in new),
            cache_hits=sum(s.cached for s in replies),
            prompt_tokens=sum(s.prompt_tokens for s in replies if not s.cached),
            completion_tokens=sum(s.completion_tokens for s in replies if not s.cached),
        )
        summaries.append(summary)
        # judged on the benchmark's order of sample 0 only: the rows of the other orders and samples get null flags
        judged = [it.id if k == 0 else None for k, items in enumerate(logged) for it in items]
        flags = arrival_columns(judged, arrivals.get(run.condition) if run.sample == 0 else None)
        tables[run.label], encoded = _table(state, table_items, latest, renamed, flags)
        counts = summary.model_dump(exclude={"condition", "parquet", "manifest", "folder"})
        counts["failed_audio"] = sum(r.failed_step == "audio" for r in latest)
        counts["failed_request"] = sum(r.failed_step == "request" for r in latest)
        if state.cfg.permute_choices:
            counts["rows_per_order"] = {str(r.order): len(items) for r, items in zip(orders, logged, strict=True)}
        manifests[run.label] = build_manifest(
            "predict",
            state.cfg.parameters(),
            inputs=_inputs(state),
            condition=run.condition,
            output=str(run.parquet),
            settings=run.settings.model_dump(mode="json"),
            **common,
            renamed_columns=renamed,
            json_encoded_columns=encoded,
            counts=counts,
            canary=canary,
            run_folder=str(run.folder.folder),
            run_folders=[str(r.folder.folder) for r in orders],
            choice_orders=None
            if not state.cfg.permute_choices
            else {
                "extra_orders": state.cfg.permute_choices,
                "rule": "order 0: the benchmark's; then the cyclic shifts; then seeded random permutations "
                "(PCG64 from SHA-256 of ['lalm-bench', 'order/v1', seed, item id]); rows keyed by (id, "
                "permutation_index); permutation: displayed position -> index into choices",
            },
            sample=None if state.cfg.samples == 1 else _sample_block(state, run),
            wall_seconds=round(time.perf_counter() - state.started, 3),
        )
    result = PredictResult(
        model=state.cfg.model,
        conditions=summaries,
        canary=canary,
        manifests=manifests,
        warnings=list(state.warnings),
        notes=notes,
    )
    result._tables = tables
    return result


def _sample_block(state: PredictState, run: ConditionRun) -> dict[str, Any]:
    """What the manifest of a ``--samples`` repeat records: which sample, its seed and temperature."""
    from lalm_bench.predict.samples import SEED_RULE, deterministic_warning

    return {
        "index": run.sample,
        "samples": state.cfg.samples,
        "name": run.label,
        "seed": run.settings.seed,
        "temperature": state.cfg.sampling.temperature,
        "rule": SEED_RULE + "; the mismatched partners stay those of --seed",
        "warning": deterministic_warning(state.cfg.samples, state.cfg.sampling.temperature),
    }


def _renamed(state: PredictState) -> dict[str, str]:
    assert state.benchmark is not None
    taken = set(map(str, state.benchmark.rows.names))
    out = {}
    for c in (*OUTPUT_COLUMNS, *ARRIVAL_COLUMNS, *(ORDER_COLUMNS if state.cfg.permute_choices else ())):
        if c in taken:
            new = f"benchmark_{c}"
            while new in taken:
                new = f"benchmark_{new}"
            out[c] = new
    return out


#: The pandas dtype of each output column (the others: ``object``).
DTYPES = {
    "prompt_tokens": "Int64",
    "completion_tokens": "Int64",
    "audio_parts": "Int64",
    "seed": "int64",
    "attempt": "int64",
    "audio_seconds": "float64",
    "audio_original_seconds": "float64",
    "latency_s": "float64",
    "audio_truncated": "boolean",
    "cached": "boolean",
    "permutation_index": "int64",
}


def _table(
    state: PredictState,
    items: list[BenchmarkItem],
    records: list[PredictRecord],
    renamed: dict[str, str],
    flags: list[Column],
) -> tuple[pa.Table, list[str]]:
    """The output table of ``items`` (then the arrival ``flags``) and the benchmark columns that had to become
    JSON text (mixed types Parquet cannot hold, e.g. a string in one row and a list in another)."""
    from lalm_bench.tables import assemble

    assert state.benchmark is not None
    add_category = state.benchmark.columns["category"] is None  # `similarity` reads a category column
    names, arrays, entries, encoded = _benchmark_part(
        state.benchmark.rows, [it.row for it in items], renamed, add_category
    )
    cols: dict[str, list[Any]] = {c: [] for c in (*OUTPUT_COLUMNS, *ORDER_COLUMNS)}
    for r in records:
        reply = r.reply
        answered = r.status == "ok" and reply is not None
        cols["model_output"].append(r.model_output if r.status == "ok" else None)
        cols["condition"].append(r.condition)
        cols["seed"].append(r.seed)
        cols["audio_sha256"].append(",".join(a.sha256 for a in r.audio) or None)
        cols["audio_seconds"].append(r.audio_seconds)
        cols["audio_original_seconds"].append(
            None if r.failed_step == "audio" else float(sum(a.original_seconds for a in r.audio))
        )
        cols["audio_truncated"].append(None if r.failed_step == "audio" else any(a.truncated for a in r.audio))
        cols["audio_parts"].append(None if r.failed_step == "audio" else len(r.audio))
        cols["mismatched_with"].append(r.mismatched_with)
        cols["finish_reason"].append(reply.finish_reason if answered and reply else None)
        cols["prompt_tokens"].append(reply.prompt_tokens if answered and reply else None)
        cols["completion_tokens"].append(reply.completion_tokens if answered and reply else None)
        cols["latency_s"].append(reply.seconds if reply is not None else None)
        cols["cached"].append(reply.cached if reply is not None else None)
        cols["attempt"].append(r.attempt)
        cols["error"].append(r.error)
        cols["audio_sent"].append(json.dumps([a.model_dump(mode="json") for a in r.audio]))
        cols["permutation_index"].append(r.permutation_index)
        cols["permutation"].append(r.permutation)
    own = [*OUTPUT_COLUMNS, *(ORDER_COLUMNS if state.cfg.permute_choices else ())]
    for column in [*(Column(c, cols[c], DTYPES.get(c, "object")) for c in own), *flags]:
        array, entry = arrow_column(column)
        names.append(column.name)
        arrays.append(array)
        entries.append(entry)
    return assemble(names, arrays, entries), encoded


def _benchmark_part(
    rows: Rows, selected: list[int], renamed: dict[str, str], add_category: bool
) -> tuple[list[str], list[Any], list[dict[str, Any]], list[str]]:
    """The benchmark's columns of the ``selected`` rows (renamed), a null ``category`` column where asked and
    absent: names, Arrow arrays, ``pandas`` metadata entries, and the columns written as JSON text.

    JSON rows take the pandas dtype :func:`~lalm_bench.tables.json_dtype` gives (no pandas); a Parquet
    benchmark, or a JSON column of values it cannot type, goes through pandas as before."""
    import pyarrow as pa

    from lalm_bench.tables import json_dtype

    columns: list[Column] = []
    if rows.records is not None:
        dtypes = {name: json_dtype(rows.cells(name)) for name in rows.names}
        if all(d is not None for d in dtypes.values()):
            for name in rows.names:
                cells = rows.cells(name)
                columns.append(Column(renamed.get(name, name), [cells[i] for i in selected], str(dtypes[name])))
    if rows.records is None or len(columns) != len(rows.names):
        return _benchmark_part_pandas(rows, selected, renamed, add_category)
    if add_category and "category" not in {c.name for c in columns}:
        columns.append(Column("category", [None] * len(selected), "object"))
    names, arrays, entries, encoded = [], [], [], []
    for column in columns:
        try:
            array, entry = arrow_column(column)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            # pandas gives a column set anew from a list of text its text dtype
            array, entry = arrow_column(Column(column.name, _json_text(column.values), "str"))
            encoded.append(column.name)
        names.append(column.name)
        arrays.append(array)
        entries.append(entry)
    return names, arrays, entries, encoded


def _benchmark_part_pandas(
    rows: Rows, selected: list[int], renamed: dict[str, str], add_category: bool
) -> tuple[list[str], list[Any], list[dict[str, Any]], list[str]]:
    """:func:`_benchmark_part` through pandas (a Parquet benchmark keeps its own dtypes)."""
    import pandas as pd
    import pyarrow as pa

    from lalm_bench.io import redact_frame
    from lalm_bench.tables import pandas_entries

    frame = rows.frame().iloc[selected].reset_index(drop=True).rename(columns=renamed)
    if add_category and "category" not in frame.columns:
        frame["category"] = pd.Series([None] * len(frame), dtype=object)
    encoded = _parquet_ready(frame)
    table = pa.Table.from_pandas(redact_frame(frame), preserve_index=False)
    return list(table.column_names), list(table.columns), pandas_entries(table), encoded


def _parquet_ready(frame: pd.DataFrame) -> list[str]:
    """Turn (in place) the columns pyarrow cannot convert into JSON text; return their names."""
    import pyarrow as pa

    encoded = []
    for col in frame.columns:
        try:
            pa.Table.from_pandas(frame[[col]], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame[col] = _json_text(frame[col].tolist())
            encoded.append(str(col))
    return encoded


def _json_text(values: Sequence[Any]) -> list[str | None]:
    """A benchmark column Parquet cannot hold as it is, as JSON text (missing cells stay missing)."""
    from lalm_bench.io import dumps_strict

    return [None if _is_missing(v) else dumps_strict(v, indent=None) for v in values]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
