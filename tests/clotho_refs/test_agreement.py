"""The agreement computation: per-clip blocks vs brute force, chance pairs, bootstrap, a small real run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lalm_bench.clotho_refs.agreement import chance_pairs, clip_pair_similarities
from lalm_bench.clotho_refs.config import ClothoRefsConfig
from lalm_bench.clotho_refs.run import measure_agreement
from lalm_bench.datasets import load_caption_table
from lalm_bench.io import dumps_strict
from lalm_bench.stats import cluster_bootstrap_ci


def brute_force(emb, sizes):
    pairs, means, start = [], [], 0
    for c, k in enumerate(sizes):
        rows = range(start, start + k)
        for a in rows:
            means.append(np.mean([float(emb[a] @ emb[b]) for b in rows if b != a]))
            pairs += [(c, a - start, b - start, float(emb[a] @ emb[b])) for b in rows if b > a]
        start += k
    return pairs, np.array(means)


def test_blocks_match_brute_force_with_mixed_clip_sizes():
    rng = np.random.default_rng(1)
    sizes = [5, 2, 3, 5, 4, 2]
    emb = rng.normal(size=(sum(sizes), 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    clip, i, j, sim, cap_mean = clip_pair_similarities(emb, sizes, chunk=1)  # chunk=1: every chunk path
    pairs, means = brute_force(emb.astype(np.float64), sizes)
    assert list(zip(clip.tolist(), i.tolist(), j.tolist(), strict=True)) == [p[:3] for p in pairs]
    np.testing.assert_allclose(sim, [p[3] for p in pairs], atol=1e-12)
    np.testing.assert_allclose(cap_mean, means, atol=1e-12)


def test_clip_with_one_caption_is_refused_by_the_kernel():
    with pytest.raises(ValueError):
        clip_pair_similarities(np.ones((3, 2), dtype=np.float32), [2, 1])


def test_chance_pairs_cross_clips_and_are_seeded():
    clip_of = np.repeat(np.arange(40), 5)  # 19,500 cross-clip pairs
    a, b = chance_pairs(clip_of, 1000, seed=3)
    assert len(a) == 1000 and np.all(clip_of[a] != clip_of[b])
    a2, b2 = chance_pairs(clip_of, 1000, seed=3)
    assert np.array_equal(a, a2) and np.array_equal(b, b2)
    assert not np.array_equal(chance_pairs(clip_of, 1000, seed=4)[0], a)
    assert chance_pairs(np.zeros(5, dtype=int), 10, 0)[0].size == 0  # one clip: no cross-clip pair


def test_chance_pairs_are_all_cross_clip_pairs_when_few():
    clip_of = np.array([2, 0, 1, 0, 2, 2, 1])  # not grouped: the enumeration must not assume order
    a, b = chance_pairs(clip_of, 100, seed=0)
    got = sorted(tuple(sorted(p)) for p in zip(a.tolist(), b.tolist(), strict=True))
    assert got == [(i, j) for i in range(7) for j in range(i + 1, 7) if clip_of[i] != clip_of[j]]
    assert np.array_equal(chance_pairs(clip_of, 100, seed=5)[0], a)  # exact: no seed involved
    a, _ = chance_pairs(clip_of, 15, seed=0)  # 16 cross pairs > 15: sampled
    assert len(a) == 15


def test_cluster_bootstrap_is_reproducible_and_brackets_the_mean():
    rng = np.random.default_rng(0)
    sums, counts = rng.uniform(2, 8, 300), np.full(300, 10.0)
    ci = cluster_bootstrap_ci(sums, counts, 500, seed=7)
    assert ci == cluster_bootstrap_ci(sums, counts, 500, seed=7)
    assert ci[0] < sums.sum() / counts.sum() < ci[1]
    assert cluster_bootstrap_ci(sums, counts, 0, seed=7) is None


CLIPS = {
    "rain.wav": [
        "Rain falls heavily on a tin roof.",
        "Heavy rain pours onto a metal roof.",
        "Rain drums on a roof during a storm.",
        "A downpour hits the roof loudly.",
        "A man is typing on a computer keyboard.",  # a wrong reference
    ],
    "dog.wav": [
        "A dog barks repeatedly.",
        "A dog is barking loudly outside.",
        "The dog barks at something.",
        "Barking from a large dog.",
        "A dog barks over and over.",
    ],
    "birds.wav": [
        "Birds chirp in the trees.",
        "Many birds are singing in a forest.",
        "Birds sing early in the morning.",
        "Chirping birds in the woods.",
        "Small birds tweet outside.",
    ],
    "car.wav": [
        "A car engine starts and idles.",
        "An engine revs and then idles.",
        "A vehicle starts its motor.",
        "The car engine is running.",
        "A motor idles in a garage.",
    ],
    "thin.wav": ["Only one caption here.", "", "", "", ""],
}
CAPTIONS = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n" + "".join(
    ",".join([name, *caps]) + "\n" for name, caps in CLIPS.items()
)


@pytest.fixture(scope="module")
def embedder(minilm_path):
    from lalm_bench.embeddings import Embedder

    return Embedder(minilm_path, device="cpu", batch_size=8, progress=False)


def test_small_run_against_an_independent_computation(tmp_path, embedder):
    path = tmp_path / "clotho_captions_evaluation.csv"
    path.write_text(CAPTIONS)
    table = load_caption_table(path, split="evaluation")
    cfg = ClothoRefsConfig(z_threshold=1.5, bootstrap=200, seed=1)
    res = measure_agreement(table, cfg, embedder)
    s = res.summary
    assert s["clips"] == 4 and s["pairs"] == 40 and s["dataset"]["clips_skipped"] == 1
    assert s["dataset"]["skipped_examples"] == ["thin.wav"]

    texts = [c for caps in table.captions for c in caps]
    emb = embedder.st.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(np.float64)
    pairs, means = brute_force(emb, table.sizes)
    sims = np.array([p[3] for p in pairs])
    np.testing.assert_allclose(res.pairs["similarity"], sims, atol=1e-5)
    assert res.pairs[["i", "j"]].iloc[:4].values.tolist() == [[1, 2], [1, 3], [1, 4], [1, 5]]
    assert s["mean"] == pytest.approx(sims.mean(), abs=1e-5)
    assert s["std"] == pytest.approx(sims.std(ddof=1), abs=1e-5)
    assert s["quantiles"]["q50"] == pytest.approx(np.median(sims), abs=1e-5)
    z = (sims - sims.mean()) / sims.std(ddof=1)
    np.testing.assert_allclose(res.pairs["z"], z, atol=1e-4)
    assert s["outliers"]["low"] == int((z <= -1.5).sum())
    if sims.mean() + 1.5 * sims.std(ddof=1) > 1:  # no pair can reach z >= 1.5: null, not 0
        assert s["outliers"]["high"] is None and "high_reason" in s["outliers"]
    else:
        assert s["outliers"]["high"] == int((z >= 1.5).sum())
    assert set(res.outliers["direction"]) <= {"low", "high"}
    assert list(res.outliers["z"]) == sorted(res.outliers["z"])

    cz = (means - means.mean()) / means.std(ddof=1)
    assert s["caption_outliers"]["low"] == int((cz <= -1.5).sum()) >= 1
    worst = res.caption_outliers.iloc[0]
    assert worst["caption"] == "A man is typing on a computer keyboard."  # the planted wrong reference
    assert (worst["file_name"], worst["caption_index"]) == ("rain.wav", 5)
    assert worst["mean_similarity"] == pytest.approx(means[4], abs=1e-5)

    assert s["chance"]["count"] == (20 * 20 - 4 * 25) // 2 and s["chance"]["mean"] < s["mean"]  # every cross pair
    assert s["ci95"][0] < s["mean"] < s["ci95"][1] and s["ci_method"] == "cluster-t"  # 4 clips: t, not bootstrap
    assert s["manifest"]["inputs"][0]["path"] == str(path)
    json.loads(dumps_strict(s))  # strict JSON


def test_identical_captions_give_null_z_not_nan_json(tmp_path, embedder):
    path = tmp_path / "same.csv"
    path.write_text("file_name,caption_1,caption_2\na.wav,same text,same text\nb.wav,same text,same text\n")
    res = measure_agreement(load_caption_table(path), ClothoRefsConfig(bootstrap=0), embedder)
    text = dumps_strict(res.summary)
    assert "NaN" not in text and json.loads(text)["ci95"] is None
    assert res.outliers.empty and res.summary["outliers"]["total"] is None  # null with a reason, never 0
    assert "fewer than two pairs" in res.summary["outliers"]["reason"] or "equal" in res.summary["outliers"]["reason"]
    assert res.summary["counts"]["caption"] is None and res.summary["rules"]["clip"]["low"] is None
