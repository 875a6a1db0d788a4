"""clotho-refs outlier rules: degenerate inputs, reachability, chance ranks, leave-one-out, low-agreement clips."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from lalm_bench import stats
from lalm_bench.clotho_refs.agreement import chance_rank, leave_one_out, max_abs_z, z_rule
from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.clotho_refs.run import measure_agreement
from lalm_bench.datasets import load_caption_table
from lalm_bench.io import dumps_strict


def test_max_abs_z_is_reached_by_one_value_against_the_rest() -> None:
    for n in (2, 3, 5, 6, 50):
        x = np.zeros(n)
        x[0] = 1.0
        assert abs(stats.zscores(x)[0]) == pytest.approx(max_abs_z(n))
    assert max_abs_z(5) < 2 < max_abs_z(6)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([0.5], "fewer than two pairs"),
        ([0.4, 0.4, 0.4], "all pairs are equal"),
        ([0.1, 0.5, 0.5, 0.5, 0.5], "at most (n-1)/√n = 1.789 < 2"),
    ],
)
def test_degenerate_splits_give_null_with_a_reason(values, fragment) -> None:
    _, low, high, doc = z_rule(np.array(values), 2.0, "pairs")
    assert doc["low"] is None and doc["high"] is None and doc["total"] is None
    assert fragment in doc["reason"]
    assert not low.any() and not high.any()
    json.loads(dumps_strict(doc))


def test_reachable_split_counts_and_a_high_cut_above_one_is_null() -> None:
    x = np.array([0.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.95])  # 7 values: a single low value can reach z <= -2
    _, low, _, doc = z_rule(x, 2.0, "pairs")
    assert doc["low"] == 1 and low[0] and doc["reason"] is None
    m, sd = x.mean(), x.std(ddof=1)
    assert doc["cut_high"] == pytest.approx(m + 2 * sd) and m + 2 * sd > 1
    assert doc["high"] is None and "no value can be a high outlier" in doc["high_reason"]
    assert doc["total"] == 1 and doc["fraction_flagged"] == pytest.approx(1 / 7)
    # a symmetric sample inside [-1, 1] keeps both directions
    y = np.concatenate([np.full(20, 0.5), [0.0, 1.0]])
    _, _, _, d2 = z_rule(y * 0.5, 2.0, "pairs")
    assert d2["low"] == 1 and d2["high"] == 1 and d2["total"] == 2
    _, _, _, d3 = z_rule(x, 2.0, "captions", low_only=True)
    assert "high_reason" not in d3 and d3["high"] is None and d3["total"] == 1


def test_chance_rank_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    chance = rng.normal(0.2, 0.1, 500)
    chance[:10] = 0.3  # ties
    vals = np.concatenate([rng.normal(0.5, 0.2, 200), [0.3, -5, 5]])
    want = np.array([(chance < v).mean() for v in vals])
    np.testing.assert_array_equal(chance_rank(vals, chance), want)
    assert np.isnan(chance_rank(vals, np.empty(0))).all()


def test_leave_one_out_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    sizes = np.array([5, 3, 2, 4])
    sims = [rng.uniform(-0.2, 1, (k, k)) for k in sizes]
    sims = [(s + s.T) / 2 for s in sims]
    cap_mean, clip_sums, want = [], [], []
    for s, k in zip(sims, sizes, strict=True):
        iu = np.triu_indices(k, 1)
        clip_sums.append(s[iu].sum())
        for i in range(k):
            others = [j for j in range(k) if j != i]
            m = np.mean([s[i, j] for j in others])
            cap_mean.append(m)
            among = [s[a, b] for a in others for b in others if a < b]
            want.append(m - np.mean(among) if among else np.nan)
    got = leave_one_out(np.array(cap_mean), sizes, np.array(clip_sums))
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.isnan(got[8:10]).all()  # the clip of two captions


CLIPS = {
    # one wrong caption: a likely bad reference
    "rain.wav": [
        "rain falls on a tin roof",
        "heavy rain on a roof",
        "rain on the roof",
        "rain falls hard",
        "a keyboard types quickly",
    ],
    # two wrong captions: a low-agreement clip, not two bad references
    "odd.wav": [
        "a door creaks open",
        "the door creaks",
        "a cat meows loudly",
        "violin music plays",
        "a door opens slowly",
    ],
}
FILLER = [
    ["a dog barks", "the dog barks", "a dog barks loudly", "dog barking", "a dog is barking"],
    ["birds sing", "birds sing outside", "the birds sing", "birds are singing", "many birds sing"],
    ["a car engine runs", "the car engine runs", "an engine runs", "a car engine idles", "the engine runs"],
    ["water flows", "water flows fast", "the water flows", "flowing water", "water is flowing"],
    ["people talk", "people talk loudly", "the people talk", "people are talking", "two people talk"],
    ["wind blows", "the wind blows", "strong wind blows", "wind is blowing", "wind blows hard"],
]


def test_caption_rule_separates_bad_references_from_low_agreement_clips(tmp_path) -> None:
    from lalm_bench.embeddings import Embedder

    rows = {**CLIPS, **{f"f{k}.wav": caps for k, caps in enumerate(FILLER)}}
    path = tmp_path / "caps.csv"
    path.write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
        + "".join(",".join([n, *c]) + "\n" for n, c in rows.items())
    )
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    res = measure_agreement(load_caption_table(path), ClothoRefsConfig(z_threshold=1.5, bootstrap=0), emb)
    cap = res.summary["rules"]["caption"]
    flagged = res.caption_outliers
    per_clip = flagged.groupby("file_name").size().to_dict()
    assert per_clip.get("rain.wav") == 1 and per_clip.get("odd.wav", 0) >= 2
    assert cap["low_agreement_clips"] == sum(v >= 2 for v in per_clip.values())
    assert cap["single_flagged_captions"] == sum(v == 1 for v in per_clip.values())
    assert cap["captions_in_low_agreement_clips"] == sum(v for v in per_clip.values() if v >= 2)
    rain = flagged[flagged["file_name"] == "rain.wav"].iloc[0]
    assert rain["caption"] == "a keyboard types quickly" and not rain["low_agreement_clip"]
    assert flagged[flagged["file_name"] == "odd.wav"]["low_agreement_clip"].all()
    assert rain["leave_one_out"] < 0  # it agrees with the others less than they agree among themselves
    clips = res.clips.set_index("file_name")
    assert bool(clips.loc["odd.wav", "low_agreement"]) and not bool(clips.loc["rain.wav", "low_agreement"])
    np.testing.assert_allclose(clips["robust_z"], stats.robust_z(clips["mean_similarity"]), equal_nan=True)
    np.testing.assert_allclose(clips["z"], stats.zscores(clips["mean_similarity"]), equal_nan=True)
    assert res.summary["counts"]["clip"] == int((clips["robust_z"] <= -1.5).sum())
    # 8 clips x 5 captions: the chance distribution is every cross-clip pair, exactly
    assert res.summary["chance"]["count"] == (40 * 40 - 8 * 25) // 2
    assert res.summary["ci95"] is None and res.summary["ci_note"] == "disabled"
    json.loads(dumps_strict(res.summary))


def test_two_clips_are_too_few_for_the_clip_rule_and_ci(tmp_path) -> None:
    from lalm_bench.embeddings import Embedder

    path = tmp_path / "caps.csv"
    path.write_text("file_name,caption_1,caption_2,caption_3\na.wav,x y,x z w,y\nb.wav,p q,p r s t,q\n")
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    # 6 pairs and 6 captions: |z| can reach 5/√6 = 2.04 at most, below the threshold 2.5
    res = measure_agreement(load_caption_table(path), ClothoRefsConfig(bootstrap=100, z_threshold=2.5), emb)
    s = res.summary
    assert s["rules"]["clip"]["low"] is None and "too few" in s["rules"]["clip"]["reason"]
    assert s["rules"]["pair_z"]["low"] is None and "no outlier can exist" in s["rules"]["pair_z"]["reason"]
    assert s["counts"]["pair_z"] is None and s["counts"]["caption"] is None
    assert s["ci95"] is None and "2 clusters < 3" in s["ci_note"] and s["ci_method"] is None
    text = dumps_strict(s)
    assert "NaN" not in text
    clips = pd.DataFrame(res.clips)
    assert not clips["clip_outlier"].any()


def test_small_split_uses_the_cluster_t_interval(tmp_path) -> None:
    from lalm_bench.embeddings import Embedder

    rows = [",".join([f"c{k}.wav", *FILLER[k % len(FILLER)]]) for k in range(12)]
    path = tmp_path / "caps.csv"
    path.write_text("file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n" + "\n".join(rows) + "\n")
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    s = measure_agreement(load_caption_table(path), ClothoRefsConfig(bootstrap=100), emb).summary
    assert s["ci_method"] == "cluster-t" and s["ci_clusters"] == 12 and s["ci_resamples"] is None
    assert s["ci95"][0] < s["mean"] < s["ci95"][1] and s["ci95"][1] <= 1.0
    assert "t-interval" in s["ci_description"]
    assert math.isfinite(s["mean_minus_chance"])


def _write_rows(tmp_path, rows) -> object:
    path = tmp_path / "caps.csv"
    path.write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
        + "".join(",".join([n, *c]) + "\n" for n, c in rows.items())
    )
    return path


def test_sampled_chance_reports_its_monte_carlo_error(tmp_path) -> None:
    from lalm_bench.clotho_refs.agreement import monte_carlo_error
    from lalm_bench.embeddings import Embedder

    rows = {**CLIPS, **{f"f{k}.wav": caps for k, caps in enumerate(FILLER)}}
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    table = load_caption_table(_write_rows(tmp_path, rows))
    exact = measure_agreement(table, ClothoRefsConfig(bootstrap=0), emb).summary["chance"]
    assert exact["monte_carlo"]["exact"] and exact["monte_carlo"]["mean_se"] == 0.0
    sampled = measure_agreement(table, ClothoRefsConfig(bootstrap=0, chance_cap=300), emb).summary["chance"]
    mc = sampled["monte_carlo"]
    assert not mc["exact"] and mc["n"] == 300
    assert mc["mean_se"] == pytest.approx(sampled["std"] / math.sqrt(300))
    lo, hi = mc["quantile_ci95"]["q50"]
    assert lo <= sampled["quantiles"]["q50"] <= hi
    # the interval covers the exact quantile (every cross-clip pair) from most seeds
    covered = 0
    for seed in range(20):
        s = measure_agreement(table, ClothoRefsConfig(bootstrap=0, chance_cap=300, seed=seed), emb).summary["chance"]
        lo, hi = s["monte_carlo"]["quantile_ci95"]["q50"]
        covered += lo <= exact["quantiles"]["q50"] <= hi
    assert covered >= 17
    assert monte_carlo_error(np.array([0.1]), exact=False)["mean_se"] is None


def test_pairs_not_above_chance_is_named_for_what_it_counts_and_the_old_key_stays(tmp_path) -> None:
    from lalm_bench.embeddings import Embedder

    rows = {**CLIPS, **{f"f{k}.wav": caps for k, caps in enumerate(FILLER)}}
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    res = measure_agreement(load_caption_table(_write_rows(tmp_path, rows)), ClothoRefsConfig(bootstrap=0), emb)
    new, old = res.summary["pairs_not_above_chance_q95"], res.summary["pairs_below_chance_q95"]
    q95 = np.quantile(res.chance_similarities, 0.95)
    assert new["count"] == int((res.pair_similarities < q95).sum()) == old["count"]
    assert "deprecated" in old["note"]


def test_caption_flags_against_clip_difficulty_and_the_clip_relative_rule(tmp_path) -> None:
    from lalm_bench.embeddings import Embedder

    rows = {**CLIPS, **{f"f{k}.wav": caps for k, caps in enumerate(FILLER)}}
    emb = Embedder("mock:hash", progress=False, use_cache=False)
    table = load_caption_table(_write_rows(tmp_path, rows))
    split = measure_agreement(table, ClothoRefsConfig(bootstrap=0, z_threshold=1.5), emb)
    follows = split.summary["rules"]["caption"]["follows_clip_difficulty"]
    flagged = split.caption_outliers
    median = float(np.median(split.clips["mean_similarity"]))
    assert follows["flagged"] == len(flagged)
    assert follows["in_clips_below_median"] == int((flagged["clip_mean"] < median).sum())
    clip = measure_agreement(table, ClothoRefsConfig(bootstrap=0, z_threshold=1.5, caption_rule="clip"), emb)
    cap = clip.summary["rules"]["caption"]
    assert cap["rule"] == "clip" and cap["low"] == len(clip.caption_outliers)
    assert (clip.caption_outliers["z"] <= -1.5).all()
    assert "a keyboard types quickly" in clip.caption_outliers["caption"].tolist()  # the bad reference
    assert "follows_clip_difficulty" in cap
    json.loads(dumps_strict(clip.summary))
