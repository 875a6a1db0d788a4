"""The units of a judge run: which captions of a clip are judged, on what evidence, in what criterion order."""

from __future__ import annotations

import random

from lalm_bench.rubrics.judge.config import REFERENCES
from lalm_bench.rubrics.judge.state import JudgeState, Unit


def _text(value: str | None) -> str:
    return "" if value is None else str(value)


def plan_units(state: JudgeState) -> list[Unit]:
    """Every unit of the run, clip by clip: the captions to judge, their evidence, the criterion order."""
    cfg, split = state.cfg, state.cfg.clips.split
    n = len(state.rubric.items) if state.rubric else 0
    units = []
    for clip in state.clips:
        refs = [i for i, t in enumerate(clip.captions, 1) if t.strip()]
        left_out = random.Random(f"{cfg.seed}:{split}:{clip.file_name}:evidence").choice(refs) if refs else None
        captions: list[tuple[str, int, str, tuple[int, ...]]] = []
        for s in state.systems:
            if s.name == REFERENCES:
                for k in refs:
                    if state.excluded.get(clip.file_name) != k:
                        captions.append((s.name, k, clip.captions[k - 1], tuple(i for i in refs if i != k)))
            elif clip.file_name in s.captions:
                ev = tuple(i for i in refs if i != left_out)
                captions.append((s.name, 0, _text(s.captions[clip.file_name]), ev))
        for sample in range(cfg.samples):
            order = list(range(n))
            if cfg.shuffle:
                random.Random(f"{cfg.seed}:{split}:{clip.file_name}:{sample}").shuffle(order)
            for system, k, text, ev in captions:
                for judge in cfg.judges:
                    units.append(Unit(system, clip, k, text, judge, sample, ev, tuple(order)))
    return units
