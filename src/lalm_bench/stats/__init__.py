"""Statistics helpers shared by the jobs: means, confidence intervals, z-scores, tests, rater agreement.

All functions return plain Python floats (or ``None`` where a statistic is undefined), so their
results can go straight into strict JSON.

The helpers live in submodules and are all importable from here (``from lalm_bench import stats``):

* :mod:`~lalm_bench.stats.ci`: confidence intervals of a mean (:func:`mean_ci`, :func:`cluster_mean_ci`,
  :func:`bootstrap_mean_ci`), with how the method is chosen and :data:`CI_METHODS`;
* :mod:`~lalm_bench.stats.summary`: :func:`describe`, :func:`mean`, :func:`sample_std`, :func:`zscores`,
  :func:`robust_z`, :func:`quantiles`, :func:`clamp_cosine`, :func:`spread`;
* :mod:`~lalm_bench.stats.hypothesis`: :func:`paired_difference`, :func:`wilcoxon_paired`, :func:`mcnemar_exact`,
  :func:`holm`, :func:`holm_family`, :func:`format_p`;
* :mod:`~lalm_bench.stats.paired_binary`: :func:`paired_binary_difference` (Tango's score interval for
  paired 0/1 outcomes, clustered with a design effect), :func:`benjamini_hochberg`;
* :mod:`~lalm_bench.stats.agreement`: :func:`krippendorff_alpha`, :func:`fleiss_kappa`, :func:`cohen_kappa`;
* :mod:`~lalm_bench.stats.permutation`: :func:`sign_flip_test` (exact or Monte Carlo, clustered).
"""

from __future__ import annotations

from lalm_bench.stats.agreement import Level, cohen_kappa, fleiss_kappa, krippendorff_alpha
from lalm_bench.stats.arrays import REL_TOL
from lalm_bench.stats.ci import (
    BOOTSTRAP_MIN_N,
    CI_METHODS,
    MIN_CI_N,
    bootstrap_mean_ci,
    cluster_bootstrap_ci,
    cluster_mean_ci,
    mean_ci,
)
from lalm_bench.stats.hypothesis import (
    format_p,
    holm,
    holm_family,
    mcnemar_exact,
    paired_difference,
    wilcoxon_paired,
)
from lalm_bench.stats.paired_binary import benjamini_hochberg, paired_binary_difference
from lalm_bench.stats.permutation import sign_flip_test
from lalm_bench.stats.summary import (
    clamp_cosine,
    describe,
    mean,
    quantiles,
    robust_z,
    sample_std,
    spread,
    zscores,
)

__all__ = [
    "BOOTSTRAP_MIN_N",
    "CI_METHODS",
    "MIN_CI_N",
    "REL_TOL",
    "Level",
    "benjamini_hochberg",
    "bootstrap_mean_ci",
    "clamp_cosine",
    "cluster_bootstrap_ci",
    "cluster_mean_ci",
    "cohen_kappa",
    "describe",
    "fleiss_kappa",
    "format_p",
    "holm",
    "holm_family",
    "krippendorff_alpha",
    "mcnemar_exact",
    "mean",
    "mean_ci",
    "paired_binary_difference",
    "paired_difference",
    "quantiles",
    "robust_z",
    "sample_std",
    "sign_flip_test",
    "spread",
    "wilcoxon_paired",
    "zscores",
]
