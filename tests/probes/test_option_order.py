"""Option order: the orders predict asks, the statistics against hand values, and the demo models
(``mock/first-option`` caught by the position statistics, ``mock/listener`` consistent with audio)."""

from __future__ import annotations

import json
import math
from itertools import permutations

import pandas as pd
import pytest

from lalm_bench.accuracy.order import OrderedAnswer, consistency, position_bias
from lalm_bench.predict.orders import choice_orders


def test_cyclic_shifts_first_then_distinct_seeded_permutations():
    orders = choice_orders(4, 3, seed=42, item_id="x")
    assert orders == [(0, 1, 2, 3), (1, 2, 3, 0), (2, 3, 0, 1), (3, 0, 1, 2)]
    for pos in range(4):  # every option visits every position
        assert {o[pos] for o in orders} == {0, 1, 2, 3}
    more = choice_orders(4, 8, seed=42, item_id="x")
    assert more[:4] == orders and len(set(more)) == 9 and all(sorted(o) == [0, 1, 2, 3] for o in more)
    assert more == choice_orders(4, 8, seed=42, item_id="x") and more != choice_orders(4, 8, seed=43, item_id="x")
    assert choice_orders(2, 5, seed=0, item_id="y") == [(0, 1), (1, 0)]  # only 2! - 1 extra orders exist
    assert set(choice_orders(3, 99, seed=0, item_id="z")) == set(permutations(range(3)))


def _answers(table: dict[str, list[int | None]], gold: dict[str, int], n: int = 3) -> list[OrderedAnswer]:
    """Hand table: per item, the option *content* picked under the cyclic shifts 0, 1, 2."""
    out = []
    for item, picks in table.items():
        for s, content in enumerate(picks):
            perm = tuple((p + s) % n for p in range(n))
            picked = None if content is None else perm.index(content)
            out.append(OrderedAnswer(item, "c", gold[item], perm, picked))
    return out


def test_consistency_and_correct_under_every_order_against_hand_values():
    table = {"a": [0, 0, 0], "b": [1, 1, 1], "c": [2, 0, 2], "d": [0, None, 0]}
    gold = {"a": 0, "b": 0, "c": 2, "d": 0}
    res = consistency(_answers(table, gold), bootstrap=0)
    assert res["items"] == 4 and res["orders_per_item"] == [3]
    assert res["consistent"] == 2 and res["consistency_rate"]["rate"] == 0.5  # a and b; d has an unparsed answer
    assert res["correct_every_order"] == 1 and res["correct_every_order_rate"]["rate"] == 0.25  # a only
    assert res["correct_base_order"] == 3
    lo, hi = res["consistency_rate"]["ci95"]
    assert lo < 0.5 < hi


def test_position_bias_counts_and_chi_square_against_hand_values():
    table = {"a": [0, 0, 0], "b": [1, 1, 1], "c": [2, 0, 2], "d": [0, None, 0]}
    gold = {k: 0 for k in table}
    res = position_bias(_answers(table, gold), bootstrap=0)["by_n_choices"]["3"]
    # content c sits at position (c - s) mod 3 under shift s: a 0,2,1; b 1,0,2; c 2,2,0; d 0,-,1
    assert [p["picked"] for p in res["positions"]] == [4, 3, 4] and res["answers"] == 11
    expected = 11 / 3
    chi2 = sum((k - expected) ** 2 / expected for k in (4, 3, 4))
    assert res["chi_square"] == pytest.approx(chi2) and res["p_value"] == pytest.approx(math.exp(-chi2 / 2))
    assert res["positions"][1]["rate"] == pytest.approx(3 / 11)


@pytest.fixture(scope="module")
def demo_orders(tmp_path_factory: pytest.TempPathFactory):
    from lalm_bench.cli import main
    from lalm_bench.datasets.demo import write_demo_benchmark

    folder = tmp_path_factory.mktemp("orders")
    demo = write_demo_benchmark(folder / "bench")
    results = {}
    for model in ("mock/first-option", "mock/listener"):
        stem = folder / model.split("/")[1]
        try:
            main(["predict", "--benchmark", str(demo.path), "--model", model, "--condition", "audio,noise",
                  "--permute-choices", "3", "--output", str(stem) + ".parquet", "--quiet"])  # fmt: skip
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        out = folder / f"{stem.name}_acc.json"
        try:
            main(["accuracy", "--audio-file", f"{stem}_audio.parquet", "--noise-file", f"{stem}_noise.parquet",
                  "--extractor", "none", "--output", str(out), "--quiet"])  # fmt: skip
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
        results[model] = (json.loads(out.read_text()), pd.read_parquet(f"{stem}_audio.parquet"))
    return results


def test_predict_writes_one_row_per_item_and_order(demo_orders):
    _, frame = demo_orders["mock/listener"]
    assert set(frame["permutation_index"]) == {0, 1, 2, 3}
    assert not frame.duplicated(["id", "permutation_index"]).any()
    base = frame[frame["permutation_index"] == 0]
    assert base["id"].is_unique and len(frame[frame["permutation_index"] == 3]) < len(base)  # 2-option items stop at 1
    for _, row in frame[frame["permutation_index"] > 0].head(20).iterrows():
        assert sorted(row["permutation"]) == list(range(len(row["choices"])))


def test_first_option_is_caught_by_the_position_statistics(demo_orders):
    doc, _ = demo_orders["mock/first-option"]
    audio = doc["option_order"]["conditions"]["audio"]["overall"]
    for n, block in audio["position_bias"]["by_n_choices"].items():
        first = block["positions"][0]
        assert first["rate"] == 1.0 and first["ci95"][0] > 1 / int(n), n
        assert block["p_value"] < 1e-6, n  # uniformity rejected
    assert audio["consistency_rate"]["rate"] == 0.0  # it follows the position, not the content


def test_listener_keeps_its_choices_under_every_order_with_audio(demo_orders):
    doc, _ = demo_orders["mock/listener"]
    side = doc["option_order"]["side_by_side"]
    assert side["audio"]["consistency_rate"] >= 0.95
    assert side["audio"]["correct_every_order_rate"] >= 0.9
    assert side["noise"]["accuracy_drop_vs_audio"] < 0  # it listens: noise costs accuracy
    p = doc["option_order"]["conditions"]["audio"]["overall"]["position_bias"]["by_n_choices"]
    assert all(block["p_value"] > 1e-3 for block in p.values())  # no position preference
    assert "NaN" not in json.dumps(doc)


def test_a_run_without_orders_resumes_and_only_the_new_orders_are_asked(tmp_path, run_cli):
    from lalm_bench.datasets.demo import write_demo_benchmark

    demo = write_demo_benchmark(tmp_path / "bench")
    args = ("predict", "--benchmark", demo.path, "--model", "mock/listener", "--output", tmp_path / "p.parquet",
            "--limit", "6", "--quiet")  # fmt: skip
    assert run_cli(*args).exit_code == 0
    log = tmp_path / "p.runs" / "audio" / "log.jsonl"
    before = log.read_bytes()
    res = run_cli(*args, "--permute-choices", "1")
    assert res.exit_code == 0, res.stderr
    assert log.read_bytes() == before  # order 0 resumed: nothing asked again
    frame = pd.read_parquet(tmp_path / "p_audio.parquet")
    asked = frame[frame["permutation_index"] == 1]
    base = frame[frame["permutation_index"] == 0]
    assert len(base) == 6 and len(asked) == int((base["choices"].map(len) >= 2).sum()) > 0
    assert (tmp_path / "p.runs" / "audio.order1" / "log.jsonl").exists()
    bad = run_cli("predict", "--benchmark", demo.path, "--model", "mock/listener", "--output", tmp_path / "q.parquet",
                  "--permute-choices", "-1")  # fmt: skip
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --permute-choices")
