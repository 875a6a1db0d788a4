"""The demo benchmark: clips synthesised at run time (no download) with questions of known answer.

:func:`write_demo_benchmark` writes 16 kHz mono 16-bit WAV clips (tones, chirps, click trains, noise
bursts, loudness steps, digital silence) under ``folder/clips/`` and ``folder/benchmark.jsonl`` in the
shape ``predict --benchmark`` reads (``id``, ``audio_path``, ``question``, ``choices``, ``answer``,
``category``), plus ``truth`` (the synthesis parameters as JSON text, for whoever wants to check a
measurement). Everything follows from ``seed``: the same seed gives the same bytes.

Categories: ``count`` (clicks), ``pitch`` (above or below 1 kHz), ``direction`` (rising, falling,
steady), ``loudness`` (which half is louder), ``presence`` (is there any sound; six digitally silent
clips of different lengths), ``duration`` (how long the sound lasts) and ``open`` (describe the sound,
no choices). Some clips are asked about twice, always in two different categories, so items share a
clip (clustered statistics) while no category holds one clip twice (``mismatched`` stays a control).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalm_bench.errors import InputError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000
BENCHMARK_NAME = "benchmark.jsonl"
CLIPS = "clips"
FORMAT = "lalm-bench/demo-benchmark/1"

Q_COUNT = "How many clicks do you hear?"
Q_PITCH = "Is the pitch of the tone higher or lower than 1 kHz?"
Q_DIRECTION = "Is the pitch of the sound rising, falling or steady?"
Q_LOUDNESS = "Which half of the clip is louder?"
Q_PRESENCE = "Is there any sound in this clip?"
Q_DURATION = "How long does the sound last?"
Q_OPEN = "Describe the sound in a few words."

PITCH_CHOICES = ["Higher", "Lower"]
DIRECTION_CHOICES = ["Rising", "Falling", "Steady"]
LOUDNESS_CHOICES = ["The first half", "The second half"]
PRESENCE_CHOICES = ["Yes", "No"]
DURATION_CHOICES = ["About half a second", "About 1 second", "About 2 seconds"]
DURATIONS = (0.5, 1.0, 2.0)
CATEGORIES = ("count", "pitch", "direction", "loudness", "presence", "duration", "open")


@dataclass
class Clip:
    """One synthesised clip: its file name, kind, parameters and the samples (float, mono)."""

    name: str
    kind: str
    params: dict[str, Any]
    samples: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class DemoBenchmark:
    """What :func:`write_demo_benchmark` wrote."""

    path: Path  # the benchmark table
    folder: Path
    items: int
    clips: int
    categories: dict[str, int]
    shared_clips: int
    silent_clips: int
    seed: int

    def describe(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "path": str(self.path),
            "items": self.items,
            "clips": self.clips,
            "categories": self.categories,
            "shared_clips": self.shared_clips,
            "silent_clips": self.silent_clips,
            "seed": self.seed,
            "sample_rate": SAMPLE_RATE,
        }


def _fade(x: np.ndarray, ms: float = 10.0) -> np.ndarray:
    import numpy as np

    n = min(len(x) // 2, int(SAMPLE_RATE * ms / 1000))
    if n:
        ramp = np.linspace(0.0, 1.0, n)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def _db(level_dbfs: float) -> float:
    """Peak amplitude of a sine with RMS ``level_dbfs``."""
    return math.sqrt(2.0) * 10.0 ** (level_dbfs / 20.0)


def _place(total_s: float, start_s: float, sound: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(round(total_s * SAMPLE_RATE))
    i = round(start_s * SAMPLE_RATE)
    out[i : i + len(sound)] = sound[: len(out) - i]
    return out


def tone(freq: float, seconds: float, amplitude: float) -> np.ndarray:
    import numpy as np

    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return _fade(amplitude * np.sin(2 * np.pi * freq * t))


def chirp(f0: float, f1: float, seconds: float, amplitude: float) -> np.ndarray:
    """A logarithmic sweep from ``f0`` to ``f1`` Hz."""
    import numpy as np

    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    k = math.log(f1 / f0) / seconds
    phase = 2 * np.pi * f0 * (np.exp(k * t) - 1) / k if k else 2 * np.pi * f0 * t
    return _fade(amplitude * np.sin(phase))


def clicks(count: int, seconds: float, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` short decaying 2 kHz clicks, evenly spaced with a little jitter, in ``seconds``."""
    import numpy as np

    out = np.zeros(round(seconds * SAMPLE_RATE))
    click_n = int(0.008 * SAMPLE_RATE)
    t = np.arange(click_n) / SAMPLE_RATE
    click = amplitude * np.sin(2 * np.pi * 2000 * t) * np.exp(-t / 0.002)
    gap = seconds / (count + 1)
    for k in range(count):
        at = (k + 1) * gap + float(rng.uniform(-0.1, 0.1)) * gap
        i = round(at * SAMPLE_RATE)
        out[i : i + click_n] += click[: len(out) - i]
    return out


def noise_burst(seconds: float, rms: float, rng: np.random.Generator) -> np.ndarray:
    return _fade(rms * rng.standard_normal(round(seconds * SAMPLE_RATE)))


class _Builder:
    def __init__(self, seed: int) -> None:
        import numpy as np

        self.rng = np.random.default_rng(np.random.SeedSequence([0x1A1B, int(seed)]))
        self.clips: list[Clip] = []
        self.rows: list[dict[str, Any]] = []

    def clip(self, kind: str, samples: np.ndarray, **params: Any) -> Clip:
        c = Clip(f"{CLIPS}/clip_{len(self.clips):02d}_{kind}.wav", kind, params, samples)
        self.clips.append(c)
        return c

    def ask(self, category: str, clip: Clip, question: str, choices: list[str], answer: str) -> None:
        n = sum(r["category"] == category for r in self.rows)
        self.rows.append(
            {
                "id": f"{category}-{n + 1:02d}",
                "audio_path": clip.name,
                "question": question,
                "choices": choices,
                "answer": answer,
                "category": category,
                "truth": json.dumps({"kind": clip.kind, **clip.params}, sort_keys=True),
            }
        )

    def level(self) -> float:
        return float(self.rng.uniform(-26.0, -14.0))


def _describe(clip: Clip) -> str:
    p = clip.params
    if clip.kind == "tone":
        return f"A steady tone at about {p['freq']:.0f} Hz."
    if clip.kind == "chirp":
        way = "rising" if p["f1"] > p["f0"] else "falling"
        return f"A tone {way} from about {p['f0']:.0f} Hz to about {p['f1']:.0f} Hz."
    if clip.kind == "clicks":
        return f"{p['count']} short clicks."
    if clip.kind == "burst":
        return f"A burst of noise lasting about {p['seconds']:.1f} seconds."
    if clip.kind == "step":
        return f"A {p['source']} that gets {'louder' if p['louder'] == 'second' else 'quieter'} halfway through."
    return "Silence."


def build_demo(seed: int = 0) -> tuple[list[Clip], list[dict[str, Any]]]:
    """The clips and the benchmark rows for ``seed`` (nothing written). The categories are drawn in a fixed
    order from one generator, so a seed gives the same bytes."""
    import numpy as np

    b = _Builder(seed)
    count_clips = _count(b)
    pitch_clips = _pitch(b)
    direction_clips = _direction(b)
    loud_clips = _loudness(b)
    _presence(b, pitch_clips, count_clips)
    _duration(b)
    _open(b, direction_clips, loud_clips)
    for c in b.clips:
        c.samples = np.clip(c.samples, -1.0, 1.0)
    return b.clips, b.rows


def _count(b: _Builder) -> list[Clip]:
    rng = b.rng
    # count: 10 click trains of 2-6 clicks; 4 numeric choices holding the answer
    count_clips = []
    for k in range(10):
        n = 2 + k % 5
        c = b.clip("clicks", clicks(n, 2.0, _db(b.level()) * 2, rng), count=n, seconds=2.0)
        count_clips.append(c)
        lo = max(1, n - int(rng.integers(0, 4)))
        b.ask("count", c, Q_COUNT, [str(v) for v in range(lo, lo + 4)], str(n))
    return count_clips


def _pitch(b: _Builder) -> list[Clip]:
    rng = b.rng
    # pitch: 5 tones above 1 kHz (1.3-4 kHz), 5 below (200-770 Hz), shuffled
    pitch_clips = []
    highs = [True] * 5 + [False] * 5
    rng.shuffle(highs)
    for high in highs:
        lo_hz, hi_hz = (1300.0, 4000.0) if high else (200.0, 770.0)
        f = math.exp(float(rng.uniform(math.log(lo_hz), math.log(hi_hz))))
        c = b.clip("tone", tone(f, 1.5, _db(b.level())), freq=round(f, 1), seconds=1.5)
        pitch_clips.append(c)
        b.ask("pitch", c, Q_PITCH, PITCH_CHOICES, "Higher" if high else "Lower")
    return pitch_clips


def _direction(b: _Builder) -> list[Clip]:
    rng = b.rng
    # direction: 4 rising and 4 falling sweeps (at least an octave), 2 steady tones
    ways = ["rising"] * 4 + ["falling"] * 4 + ["steady"] * 2
    rng.shuffle(ways)
    direction_clips = []
    for way in ways:
        lo_f = float(rng.uniform(250, 500))
        hi_f = lo_f * float(rng.uniform(2.5, 5.0))
        amp = _db(b.level())
        if way == "steady":
            c = b.clip("tone", tone(lo_f * 2, 2.0, amp), freq=round(lo_f * 2, 1), seconds=2.0)
        else:
            f0, f1 = (lo_f, hi_f) if way == "rising" else (hi_f, lo_f)
            c = b.clip("chirp", chirp(f0, f1, 2.0, amp), f0=round(f0, 1), f1=round(f1, 1), seconds=2.0)
        direction_clips.append(c)
        b.ask("direction", c, Q_DIRECTION, DIRECTION_CHOICES, way.capitalize())
    return direction_clips


def _loudness(b: _Builder) -> list[Clip]:
    rng = b.rng
    # loudness: noise or a tone whose level steps by 12-18 dB at the middle
    louder = ["first"] * 5 + ["second"] * 5
    rng.shuffle(louder)
    loud_clips = []
    for k, which in enumerate(louder):
        quiet = 10.0 ** (-float(rng.uniform(12, 18)) / 20)
        base = 10.0 ** (b.level() / 20)
        half = SAMPLE_RATE  # each half lasts 1 s
        if k % 2:
            body = _fade(base * rng.standard_normal(2 * half))
        else:
            body = tone(float(rng.uniform(300, 2500)), 2.0, base * math.sqrt(2))
        gain = [1.0, quiet] if which == "first" else [quiet, 1.0]
        body[:half] *= gain[0]
        body[half:] *= gain[1]
        source = "noise" if k % 2 else "tone"
        c = b.clip("step", body, louder=which, source=source, seconds=2.0, step_db=round(-20 * math.log10(quiet), 1))
        loud_clips.append(c)
        b.ask("loudness", c, Q_LOUDNESS, LOUDNESS_CHOICES, LOUDNESS_CHOICES[0 if which == "first" else 1])
    return loud_clips


def _presence(b: _Builder, pitch_clips: list[Clip], count_clips: list[Clip]) -> None:
    import numpy as np

    rng = b.rng
    # presence: 6 digitally silent clips (different lengths, so different bytes), 1 quiet noise burst,
    # 3 pitch tones and 2 click trains asked about again (shared clips)
    presence: list[tuple[Clip, str]] = []
    for seconds in (0.75, 1.0, 1.25, 1.5, 2.0, 2.5):
        presence.append((b.clip("silence", np.zeros(round(seconds * SAMPLE_RATE)), seconds=seconds), "No"))
    burst = b.clip("burst", _place(2.0, 0.5, noise_burst(1.0, 10 ** (-36 / 20), rng)), seconds=1.0, start=0.5)
    presence += [(burst, "Yes"), *((c, "Yes") for c in pitch_clips[:3]), *((c, "Yes") for c in count_clips[:2])]
    order = rng.permutation(len(presence))
    for i in order:
        clip, answer = presence[int(i)]
        b.ask("presence", clip, Q_PRESENCE, PRESENCE_CHOICES, answer)


def _duration(b: _Builder) -> None:
    rng = b.rng
    # duration: a tone or noise burst of 0.5, 1 or 2 s inside 3 s of silence
    duration_clips = []
    for k in range(8):
        seconds = DURATIONS[k % 3]
        start = float(rng.uniform(0.1, 2.9 - seconds))
        if k % 2:
            sound = noise_burst(seconds, 10 ** (b.level() / 20), rng)
            kind = "burst"
        else:
            sound = tone(float(rng.uniform(300, 3000)), seconds, _db(b.level()))
            kind = "tone"
        c = b.clip(kind, _place(3.0, start, sound), seconds=seconds, start=round(start, 3), total=3.0)
        if kind == "tone":
            c.kind = "burst_tone"
        duration_clips.append(c)
        b.ask("duration", c, Q_DURATION, DURATION_CHOICES, DURATION_CHOICES[DURATIONS.index(seconds)])


def _open(b: _Builder, direction_clips: list[Clip], loud_clips: list[Clip]) -> None:
    rng = b.rng
    # open: 2 direction sweeps and 1 loudness step asked again, a click train, a noise burst, a steady tone
    sweeps = [c for c in direction_clips if c.kind == "chirp"][:2]
    own = [
        b.clip("clicks", clicks(3, 2.0, _db(-14), rng), count=3, seconds=2.0),
        b.clip("burst", noise_burst(1.5, 10 ** (-20 / 20), rng), seconds=1.5),
        b.clip("tone", tone(660.0, 1.5, _db(-18)), freq=660.0, seconds=1.5),
    ]
    for c in [*sweeps, loud_clips[0], *own]:
        b.ask("open", c, Q_OPEN, [], _describe(c))


def write_demo_benchmark(folder: Path, seed: int = 0) -> DemoBenchmark:
    """Write the clips and ``benchmark.jsonl`` under ``folder``, all or nothing (files there are replaced)."""
    import soundfile as sf

    from lalm_bench.io import OutputSet

    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    folder = Path(folder)
    clips, rows = build_demo(seed)
    path = folder / BENCHMARK_NAME
    with OutputSet() as out:
        for c in clips:
            with out.open(folder / c.name, "wb") as fh:
                sf.write(fh, c.samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        with out.open(path) as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    uses: dict[str, int] = {}
    for r in rows:
        uses[r["audio_path"]] = uses.get(r["audio_path"], 0) + 1
    categories = {cat: sum(r["category"] == cat for r in rows) for cat in CATEGORIES}
    return DemoBenchmark(
        path=path,
        folder=folder,
        items=len(rows),
        clips=len(clips),
        categories=categories,
        shared_clips=sum(n > 1 for n in uses.values()),
        silent_clips=sum(c.kind == "silence" for c in clips),
        seed=seed,
    )
