"""Reference agreement: how much the human captions of each clip agree (``lalm-bench clotho-refs``)."""

from lalm_bench.references.agreement import (
    AgreementResult,
    ReferenceConfig,
    chance_pairs,
    clip_pair_similarities,
    run_reference_agreement,
)

__all__ = [
    "AgreementResult",
    "ReferenceConfig",
    "chance_pairs",
    "clip_pair_similarities",
    "run_reference_agreement",
]
