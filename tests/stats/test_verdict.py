"""The verdict line from accuracy and similarity documents: each conclusion, and the kept-score shares."""

from __future__ import annotations

import numpy as np
import pytest

from lalm_bench.stats.verdict import kept_shares, listening_verdict


def _accuracy(correct_audio: list[bool], correct_noise: list[bool], diff_ci: list[float]) -> dict:
    n = len(correct_audio)
    items = [
        {"id": str(i), "n_choices": 4, "correct_audio": a, "correct_noise": b}
        for i, (a, b) in enumerate(zip(correct_audio, correct_noise, strict=True))
    ]
    acc_a, acc_n = float(np.mean(correct_audio)), float(np.mean(correct_noise))
    return {
        "chance_accuracy": 0.25,
        "conditions": {
            "audio": {"accuracy": acc_a, "ci95": [acc_a - 0.1, acc_a + 0.1]},
            "noise": {"accuracy": acc_n, "ci95": [acc_n - 0.1, acc_n + 0.1]},
        },
        "comparisons": {
            "noise": {
                "count": n,
                "difference": acc_n - acc_a,
                "ci95": diff_ci,
                "ci_method": "cluster-bootstrap",
                "audio_only_right": sum(a and not b for a, b in zip(correct_audio, correct_noise, strict=True)),
                "control_only_right": sum(b and not a for a, b in zip(correct_audio, correct_noise, strict=True)),
            }
        },
        "items": items,
    }


def test_a_drop_with_a_ci_below_zero_listens_and_reports_the_kept_shares():
    audio = [True] * 80 + [False] * 20
    noise = [True] * 40 + [False] * 60
    v = listening_verdict(_accuracy(audio, noise, [-0.5, -0.3]))
    assert v.conclusion == "listens" and v.line.startswith("uses the audio: accuracy changes -40.0 pts under noise")
    kept = v.numbers["noise"]["kept"]
    assert kept["raw"] == pytest.approx(0.5) and kept["chance_corrected"] == pytest.approx((0.4 - 0.25) / (0.8 - 0.25))
    lo, hi = kept["raw_ci95"]
    assert lo < 0.5 < hi
    assert any("right only with audio 40.0% vs right only under noise 0.0%" in e for e in v.evidence)


def test_a_ci_including_zero_is_no_evidence_not_deafness():
    audio = [True, False] * 50
    noise = [False, True] * 50
    v = listening_verdict(_accuracy(audio, noise, [-0.1, 0.1]))
    assert v.conclusion == "no-evidence" and "includes 0" in v.line
    assert any("not proof" in c for c in v.caveats)


def test_identical_answers_say_the_audio_is_not_used():
    v = listening_verdict(identical={"noise": (97, 100), "none": (50, 100)})
    assert v.conclusion == "not-listening"
    assert v.line.startswith("answers identical under audio and noise for 97.0% of items: this model is not using")


def test_similarity_alone_needs_the_listening_gap():
    v = listening_verdict(similarity={"listening": {"available": False, "reason": "no second noise run"}})
    assert v.conclusion == "unknown" and any("not evidence of listening" in c for c in v.caveats)
    gap = {
        "listening": {"available": True, "listening_gap": {"overall": {"mean_difference": 0.01, "ci95": [-0.02, 0.04]}}}
    }
    v = listening_verdict(similarity=gap)
    assert v.conclusion == "no-evidence" and "listening gap" in v.line


def test_kept_shares_undefined_at_or_below_chance():
    out = kept_shares([True] * 10 + [False] * 30, [False] * 40, [0.25] * 40)
    assert out["raw"] == 0.0 and out["chance_corrected"] is None  # audio accuracy 25% is chance
