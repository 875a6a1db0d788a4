"""Stand-ins for a second noise run, for tests and the real-data proof (no second real noise run exists).

Two documented transformations of a real noise file (``model_output`` replaced, everything else kept):

* ``null`` (the default): each item independently, with probability 2/3 (seeded), takes the *audio*
  answer, else keeps its first *noise* answer. Per item the listening gap is then
  ``(s - 1) / 2`` (audio answer taken) or ``1 - s`` (noise answer kept), ``s`` = cos(noise, audio), so
  its expectation over the draw is ``2/3 · (s - 1)/2 + 1/3 · (1 - s) = 0`` exactly, for every item: the
  gap of a model whose answers do not depend on the audio, on the real answers' similarities (long,
  skewed, with ties at s = 1). Not a simulation of a model, a calibration case: the listening gap's
  95% CI must cover 0 in about 95% of seeds, and its point estimate is near 0.
* ``stable``: every item keeps its first noise answer (a model that gives the same answer to any noise,
  e.g. greedy decoding that the noise realisation does not move). The gap is ``1 - s`` per item: the
  largest gap these answers allow.

What they cannot show: the real model's listening gap. A real second noise run would put noise-vs-noise
anywhere between "as different as the audio answer" and "identical"; the stand-ins only bracket the
arithmetic and check that a no-listening world reads as a gap of 0.

Run as a script to write one: ``uv run python -m tests.similarity.standin NOISE AUDIO OUT [--seed S]
[--kind null|stable]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

P_AUDIO = 2 / 3


def second_noise(
    noise: pd.DataFrame, audio: pd.DataFrame, *, seed: int = 0, kind: str = "null", text_column: str = "model_output"
) -> pd.DataFrame:
    """A stand-in second noise run (see the module docstring); rows and other columns as in ``noise``."""
    out = noise.copy()
    if kind == "stable":
        return out
    if kind != "null":
        raise ValueError(f"unknown stand-in kind {kind!r}")
    audio_text = audio.set_index("id")[text_column]
    take = np.random.default_rng(seed).random(len(out)) < P_AUDIO
    take &= out["id"].isin(audio_text.index).to_numpy()
    out.loc[take, text_column] = audio_text.loc[out.loc[take, "id"]].to_numpy()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("noise", type=Path)
    ap.add_argument("audio", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", choices=("null", "stable"), default="null")
    args = ap.parse_args(argv)
    frame = second_noise(pd.read_parquet(args.noise), pd.read_parquet(args.audio), seed=args.seed, kind=args.kind)
    frame.to_parquet(args.out, index=False)
    print(f"wrote {args.out} ({args.kind}, seed {args.seed}, {len(frame)} rows)")


if __name__ == "__main__":
    main()
