import numpy as np
import pytest

from lalm_bench import stats


def test_mean_and_sample_std_by_hand() -> None:
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert stats.mean(values) == 5.0
    # Σ(x-5)² = 32, n-1 = 7
    assert stats.sample_std(values) == pytest.approx((32 / 7) ** 0.5)


def test_std_undefined_for_one_value() -> None:
    assert stats.sample_std([0.3]) is None
    assert stats.describe([0.3]) == {"mean": 0.3, "std": None, "count": 1}
    assert stats.describe([]) == {"mean": None, "std": None, "count": 0}


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.8, 0.1, 300)
    a = stats.bootstrap_mean_ci(x, 1000, seed=7)
    b = stats.bootstrap_mean_ci(x, 1000, seed=7)
    c = stats.bootstrap_mean_ci(x, 1000, seed=8)
    assert a == b and a != c
    assert a is not None and a[0] < x.mean() < a[1]
    # close to the normal-theory interval mean ± 1.96 s/√n
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert a[1] - a[0] == pytest.approx(2 * half, rel=0.15)


def test_bootstrap_chunking_does_not_change_result() -> None:
    x = np.linspace(0, 1, 50)
    assert stats.bootstrap_mean_ci(x, 200, seed=3) == stats.bootstrap_mean_ci(x, 200, seed=3, chunk=60)


def test_bootstrap_off_or_too_small() -> None:
    assert stats.bootstrap_mean_ci([1.0, 2.0], 0) is None
    assert stats.bootstrap_mean_ci([1.0], 100) is None
    assert stats.describe([1.0, 2.0], bootstrap=50)["ci95"] is not None


def test_zscores_sample_std() -> None:
    z = stats.zscores([1.0, 2.0, 3.0])
    assert z.tolist() == pytest.approx([-1.0, 0.0, 1.0])
    assert np.isnan(stats.zscores([1.0, 1.0])).all()


def test_quantiles_keys() -> None:
    q = stats.quantiles(np.arange(101), [0.05, 0.5, 0.95])
    assert q == {"q05": 5.0, "q50": 50.0, "q95": 95.0}


def test_wilcoxon_paired_matches_scipy_and_handles_degenerate() -> None:
    from scipy.stats import wilcoxon

    x = np.array([0.9, 0.8, 0.95, 0.7, 0.85, 0.6])
    y = np.array([0.3, 0.4, 0.2, 0.5, 0.1, 0.65])
    out = stats.wilcoxon_paired(x, y)
    ref = wilcoxon(x, y)
    assert out["statistic"] == ref.statistic and out["p_value"] == pytest.approx(ref.pvalue)
    assert out["n"] == 6
    assert stats.wilcoxon_paired([1.0], [0.0])["p_value"] is None
    assert stats.wilcoxon_paired([1.0, 2.0], [1.0, 2.0])["p_value"] is None
