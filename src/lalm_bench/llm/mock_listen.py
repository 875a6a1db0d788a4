"""What the demo chat models (``mock/listener``, ``mock/deaf``, ``mock/presence``, ``mock/first-option``)
read from a prompt and hear in a clip.

The prompt is read as ``predict`` writes it (:mod:`lalm_bench.predict.prompts`): the question, then one
line per choice, ``(A) text`` (or ``(1) text``). The question is recognised by its words, like a model
would: click counts, pitch against a threshold (``1 kHz``, ``500 Hz``), pitch direction, which half is
louder, whether there is any sound, how long the sound lasts, or a description; anything else is
answered from the text prior. Measurements (16 kHz or any rate, mixed to mono):

* presence: RMS above :data:`PRESENCE_FLOOR` (−80 dBFS);
* pitch: the peak of the Hann-windowed spectrum of the active part;
* direction: the spectral peak in eight segments of the active part, the slope of its log;
* loudness: RMS of each half of the clip;
* clicks: rising edges of a 5 ms envelope above a third of its peak, at least 60 ms apart;
* duration: 10 ms frames within 20 dB of the loudest.

Every function here takes untrusted text or bytes and never raises on them.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

PRESENCE_FLOOR = 1e-4  # RMS (−80 dBFS): below it a clip counts as silent
_CHOICE = re.compile(r"^\s*\((?P<label>[A-Z]|\d{1,3})\)\s+(?P<text>.*?)\s*$")
_HZ = re.compile(r"(\d+(?:\.\d+)?)\s*(khz|hz)\b", re.IGNORECASE)
_NUMBER_WORDS = {
    w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"))
}


@dataclass(frozen=True)
class Prompt:
    """A question and its displayed choices as read from the prompt text (labels as shown)."""

    question: str
    labels: tuple[str, ...]
    choices: tuple[str, ...]


def parse_prompt(text: str) -> Prompt:
    """The question (text before the first choice line, without a trailing ``Choices:``) and the choices
    (consecutive ``(X) text`` lines); an open question has no choices."""
    lines = (text or "").splitlines()
    first = next((i for i, line in enumerate(lines) if _CHOICE.match(line)), None)
    if first is None:
        return Prompt(question=(text or "").strip(), labels=(), choices=())
    labels, choices = [], []
    for line in lines[first:]:
        m = _CHOICE.match(line)
        if not m:
            break
        labels.append(m.group("label"))
        choices.append(m.group("text"))
    head = [line for line in lines[:first] if line.strip()]
    if head and head[-1].strip().rstrip(":").lower() in {"choices", "options"}:
        head = head[:-1]
    return Prompt(question=" ".join(h.strip() for h in head), labels=tuple(labels), choices=tuple(choices))


def question_kind(question: str) -> str:
    """``count``, ``pitch``, ``direction``, ``loudness``, ``presence``, ``duration``, ``open`` or ``unknown``."""
    q = question.lower()
    if "how many" in q and re.search(r"click|beep|tap|pulse", q):
        return "count"
    if re.search(r"rising|falling|going up|going down", q):
        return "direction"
    if "pitch" in q and "higher or lower" in q and _HZ.search(q):
        return "pitch"
    if "louder" in q and "half" in q:
        return "loudness"
    if re.search(r"\bany sound\b|\bhear anything\b|\bis there (a )?sound\b", q):
        return "presence"
    if "how long" in q:
        return "duration"
    if re.search(r"\bdescribe\b|what do you hear|what does it sound like", q):
        return "open"
    return "unknown"


def text_prior(prompt: Prompt) -> int:
    """The option a model without ears picks: a hash of the question and its choices (stable everywhere)."""
    key = prompt.question + "\x00" + "\x00".join(prompt.choices)
    return int.from_bytes(hashlib.sha256(key.encode("utf-8", "replace")).digest()[:8], "big") % len(prompt.choices)


def decode(data: bytes) -> tuple[np.ndarray, int] | None:
    """Mono float samples and rate of audio bytes, or ``None`` when they cannot be decoded."""
    import numpy as np
    import soundfile as sf

    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
    except Exception:  # a model never fails on audio bytes; it hears nothing
        return None
    if samples.size == 0 or rate <= 0:
        return None
    return np.asarray(samples.mean(axis=1)), int(rate)


def rms(x: np.ndarray) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def _frames(x: np.ndarray, n: int) -> np.ndarray:
    import numpy as np

    k = len(x) // n
    if k == 0:
        return np.array([rms(x)])
    return np.sqrt(np.mean(np.square(x[: k * n].reshape(k, n)), axis=1))


def active(x: np.ndarray, rate: int) -> np.ndarray:
    """The samples from the first to the last 10 ms frame within 20 dB of the loudest."""
    import numpy as np

    n = max(1, rate // 100)
    env = _frames(x, n)
    on = np.flatnonzero(env >= 0.1 * env.max()) if env.max() > 0 else np.array([], dtype=int)
    if not len(on):
        return x
    return x[on[0] * n : (on[-1] + 1) * n]


def peak_frequency(x: np.ndarray, rate: int) -> float:
    import numpy as np

    if len(x) < 16 or not np.any(x):
        return 0.0
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum) * rate / len(x))


def pitch_slope(x: np.ndarray, rate: int) -> float:
    """Change of log2 peak frequency from start to end of the active part (octaves, fitted)."""
    import numpy as np

    seg = active(x, rate)
    parts = [p for p in np.array_split(seg, 8) if len(p) >= 64]
    freqs = [peak_frequency(p, rate) for p in parts]
    pts = [(i, math.log2(f)) for i, f in enumerate(freqs) if f > 0]
    if len(pts) < 3:
        return 0.0
    t, y = np.array(pts).T
    slope = float(np.polyfit(t, y, 1)[0])
    return slope * (len(parts) - 1)


def click_count(x: np.ndarray, rate: int) -> int:
    import numpy as np

    n = max(1, rate // 200)
    env = _frames(x, n)
    if env.max() <= 0:
        return 0
    above = env >= env.max() / 3
    starts = np.flatnonzero(above & ~np.concatenate(([False], above[:-1])))
    count, last = 0, -(10**9)
    for s in starts:
        if (s - last) * n >= 0.06 * rate:
            count += 1
        last = int(s)
    return count


def sound_seconds(x: np.ndarray, rate: int) -> float:
    import numpy as np

    n = max(1, rate // 100)
    env = _frames(x, n)
    if env.max() <= 0:
        return 0.0
    return float(np.count_nonzero(env >= 0.1 * env.max()) * n / rate)


def _nearest_number(choices: tuple[str, ...], value: float) -> int:
    scored = []
    for i, c in enumerate(choices):
        m = re.search(r"\d+(?:\.\d+)?", c)
        word = next((v for w, v in _NUMBER_WORDS.items() if re.search(rf"\b{w}\b", c.lower())), None)
        if m:
            v = float(m.group())
        elif "half" in c.lower():
            v = 0.5
        elif word is not None:
            v = float(word)
        else:
            continue
        scored.append((abs(v - value), i))
    return min(scored)[1] if scored else -1


def keyword(choices: tuple[str, ...], *words: str) -> int:
    for word in words:
        for i, c in enumerate(choices):
            if re.search(rf"\b{word}", c.lower()):
                return i
    return -1


def describe(x: np.ndarray, rate: int) -> str:
    """A short description of a clip, for open questions."""
    import numpy as np

    if rms(x) <= PRESENCE_FLOOR:
        return "Silence."
    seg = active(x, rate)
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) if len(seg) >= 16 else np.ones(2)
    power = np.square(spectrum[1:]) + 1e-20
    flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
    n = click_count(x, rate)
    if sound_seconds(x, rate) < 0.25 * len(x) / rate and n >= 2:
        return f"{n} short clicks."
    first, second = (rms(h) for h in _halves(x))
    source = "noise" if flatness > 0.1 else "tone"
    if max(first, second) > 3 * min(first, second) and sound_seconds(x, rate) > 0.8 * len(x) / rate:
        return f"A {source} that gets {'louder' if second > first else 'quieter'} halfway through."
    if source == "noise":
        return f"A burst of noise lasting about {sound_seconds(x, rate):.1f} seconds."
    slope = pitch_slope(x, rate)
    parts = np.array_split(seg, 8)
    if abs(slope) > 0.5:
        f0, f1 = peak_frequency(parts[0], rate), peak_frequency(parts[-1], rate)
        return f"A tone {'rising' if slope > 0 else 'falling'} from about {f0:.0f} Hz to about {f1:.0f} Hz."
    return f"A steady tone at about {peak_frequency(seg, rate):.0f} Hz."


def listen(prompt: Prompt, audio: tuple[np.ndarray, int]) -> int | str | None:
    """What a listening model answers: a choice index, a description (open questions), or ``None``
    when the question is not one it can measure."""
    x, rate = audio
    kind = question_kind(prompt.question)
    choices = prompt.choices
    if kind == "open" or (kind != "unknown" and not choices):
        return describe(x, rate)
    if kind == "presence":
        return keyword(choices, "yes") if rms(x) > PRESENCE_FLOOR else keyword(choices, "no")
    if kind == "loudness":
        first, second = (rms(h) for h in _halves(x))
        return keyword(choices, "first") if first >= second else keyword(choices, "second")
    if kind == "pitch":
        m = _HZ.search(prompt.question)
        assert m is not None
        threshold = float(m.group(1)) * (1000.0 if m.group(2).lower() == "khz" else 1.0)
        f = peak_frequency(active(x, rate), rate)
        return keyword(choices, "higher", "above") if f > threshold else keyword(choices, "lower", "below")
    if kind == "direction":
        slope = pitch_slope(x, rate)
        if slope > 0.5:
            return keyword(choices, "rising", "up")
        if slope < -0.5:
            return keyword(choices, "falling", "down")
        return keyword(choices, "steady", "constant", "flat")
    if kind == "count":
        return _nearest_number(choices, click_count(x, rate))
    if kind == "duration":
        return _nearest_number(choices, sound_seconds(x, rate))
    return None


def _halves(x: np.ndarray) -> list[np.ndarray]:
    import numpy as np

    return list(np.array_split(x, 2))


def pick_text(prompt: Prompt, index: int, lead: str = "The answer is") -> str:
    """``The answer is (B) Lower.`` for choice ``index`` as displayed."""
    text = prompt.choices[index].rstrip(".")
    return f"{lead} ({prompt.labels[index]}) {text}."
