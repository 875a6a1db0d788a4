"""The repeats of ``predict --samples K``: each condition asked K times, sample by sample.

Sample 0 is the plain run (``preds_<condition>.parquet``, seed ``--seed``). Sample ``k >= 1`` is its own
run folder (``preds.runs/<condition>@k/``) and file (``preds_<condition>@k.parquet``, the name ``accuracy`` and
``similarity`` take as ``--condition <condition>@k=FILE``), asked with seed ``--seed + k``: that seed is sent as
the request's seed, draws the noise and the shuffled order of the sample, and joins the response-cache key
(with ``sample: k``), so no cached reply of another sample is served.
"""

from __future__ import annotations

from pathlib import Path

SEED_RULE = "sample k is asked with seed --seed + k (request seed, noise and shuffle draws, response-cache key)"


def sample_seed(seed: int, sample: int) -> int:
    """The seed of ``sample`` (0: the plain run's)."""
    return seed + sample


def sample_label(condition: str, sample: int) -> str:
    """``noise`` for sample 0, ``noise@2`` for sample 2: the name ``accuracy --condition`` gives a repeat."""
    return condition if sample == 0 else f"{condition}@{sample}"


def sample_files(parquet: Path, manifest: Path, sample: int) -> tuple[Path, Path]:
    """``preds_noise.parquet`` → ``preds_noise@2.parquet`` (and its manifest) for sample 2."""
    if sample == 0:
        return parquet, manifest
    tag = f"@{sample}"
    return (
        parquet.with_name(parquet.stem + tag + parquet.suffix),
        manifest.with_name(manifest.name.removesuffix(".manifest.json") + tag + ".manifest.json"),
    )


def deterministic_warning(samples: int, temperature: float) -> str | None:
    """The warning for repeats at temperature 0 (not refused: they still measure the server)."""
    if samples < 2 or temperature != 0:
        return None
    return (
        f"--samples {samples} at temperature 0: with a deterministic server the repeats only differ by their "
        "noise/shuffle draws; the answers' spread measures the server's non-determinism (pass --temperature > 0 "
        "to measure sampling)"
    )
