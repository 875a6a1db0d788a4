"""Regenerate the bundled sample predictions (made-up, MMAU-Pro-shaped): audio vs noise runs.

    uv run python -m lalm_bench.samples.make_sample_data

Deterministic (seeded). 64 shared IDs over 5 categories, plus one ID only in each file; some answers
are identical in both runs (a model that ignores the audio), some are long free-form reasoning
(over 256 word pieces), and the noise run often mentions static or guesses. The questions and what
each clip really holds are the item bank in ``sample_bank.json`` next to this script.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

BANK_FILE = HERE / "sample_bank.json"


def load_bank(path: Path = BANK_FILE) -> dict[str, list[tuple[str, list[str], int, str]]]:
    """The item bank per category: (question, choices, correct index (-1: open question), what the audio holds)."""
    data = json.loads(path.read_text("utf-8"))
    return {
        category: [(it["question"], it["choices"], it["correct"], it["audio"]) for it in items]
        for category, items in data.items()
    }


BANK = load_bank()

NOISE_DESCRIPTIONS = [
    "The recording consists mostly of steady broadband hiss, similar to white noise or static.",
    "I can only hear a constant static-like noise without any clear events.",
    "The audio sounds like continuous noise, so the content is hard to make out.",
]


def letter(i: int) -> str:
    return "ABCDEFGH"[i]


def short_answer(choices: list[str], idx: int, rng: random.Random, hedge: bool) -> str:
    opener = rng.choice(["The answer is", "Answer:", "The correct option is", ""])
    core = f"({letter(idx)}) {choices[idx]}"
    text = f"{opener} {core}".strip()
    if hedge:
        text += ". " + rng.choice(NOISE_DESCRIPTIONS) + " This is my best guess from the question."
    return text


def audio_reasoning(detail: str, choices: list[str], idx: int) -> str:
    return f"In the clip I can hear {detail}. Based on these cues the best match is ({letter(idx)}) {choices[idx]}."


def free_answer(task: str, detail: str, long: bool, noise: bool, rng: random.Random) -> str:
    if noise:
        base = (
            f"{rng.choice(NOISE_DESCRIPTIONS)} I cannot identify specific sound events, speakers or "
            "instruments with confidence. If you can share a clearer recording, I can describe it in detail."
        )
    else:
        base = f"The recording contains {detail}."
    if not long:
        return base
    # Long free-form reasoning, well over 256 word pieces, as open-ended tasks produce.
    steps = [
        "First, I listen to the overall level and the background: the noise floor, the room reverberation "
        "and whether the sound is close to the microphone or distant.",
        "Second, I separate the foreground events from the background, noting when each one starts and "
        "stops, how loud it is relative to the others, and whether it repeats with a regular rhythm.",
        "Third, I consider the spectral character of each event: low rumbles, mid-range tonal components, "
        "high-frequency hiss, transients such as clicks or impacts, and harmonic structure that would "
        "indicate a voice or a musical instrument.",
        "Fourth, I relate these cues to plausible sources and places, checking that the combination is "
        "consistent: for example, traffic and footsteps together suggest a street, while birdsong with "
        "wind in leaves suggests a park or a forest.",
        "Finally, I summarise what is most likely happening, how confident I am about each part, and which "
        "details remain ambiguous because of noise, overlap or the short duration of the excerpt.",
    ]
    if noise:
        tail = (
            "Applying these steps here, every stage returns the same observation: a flat, dense noise with "
            "no discernible onsets, no pitch, no speech formants and no rhythm. The spectrum looks uniform, "
            "which is typical of white noise, so any description of events would be speculation."
        )
    else:
        tail = (
            f"Applying these steps here, the foreground is {detail}. The background is consistent with that "
            "setting, the events overlap naturally, and the reverberation suggests a real environment "
            f"rather than a studio. Regarding the task ({task.lower()}), the evidence points clearly in "
            "one direction, with only minor uncertainty about the exact ordering of the quieter events."
        )
    return " ".join([base, *steps, tail, *steps[:2]])


def build(seed: int = 20261129) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)
    noise_rows, audio_rows = [], []
    for category, items in BANK.items():
        for k, (question, choices, idx, detail) in enumerate(items):
            item_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            base = {
                "id": item_id,
                "audio_path": f"data/{category}/{item_id[:8]}.wav",
                "question": question,
                "answer": choices[idx] if idx >= 0 else detail,
                "choices": list(choices),
                "category": category,
            }
            long = category == "open" and k % 2 == 0
            mode = rng.random()
            if choices:
                audio_out = (
                    audio_reasoning(detail, choices, idx) if mode < 0.5 else short_answer(choices, idx, rng, False)
                )
                if mode < 0.3:  # the model ignores the audio: identical answers
                    noise_out = audio_out
                elif mode < 0.6:
                    noise_out = short_answer(choices, rng.randrange(len(choices)), rng, True)
                else:
                    noise_out = short_answer(choices, idx, rng, False)
            else:
                audio_out = free_answer(question, detail, long, False, rng)
                noise_out = audio_out if mode < 0.15 else free_answer(question, detail, long, True, rng)
            audio_rows.append({**base, "model_output": audio_out})
            noise_rows.append({**base, "model_output": noise_out})
    # One ID only in each file, as happens when an inference run drops a few items.
    extra = {
        "audio_path": "data/sound/extra.wav",
        "question": "Which animal can be heard?",
        "answer": "Cat",
        "choices": ["Cat", "Dog"],
        "category": "sound",
    }
    noise_rows.append({**extra, "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "model_output": "(A) Cat"})
    audio_rows.append({**extra, "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "model_output": "(B) Dog"})
    return pd.DataFrame(noise_rows), pd.DataFrame(audio_rows)


if __name__ == "__main__":
    noise, audio = build()
    noise.to_parquet(HERE / "predictions_with_noise.parquet", index=False)
    audio.to_parquet(HERE / "predictions_with_audio.parquet", index=False)
    print(f"wrote {len(noise)} noise and {len(audio)} audio predictions to {HERE}")
