"""Regenerate the bundled sample predictions (made-up, MMAU-Pro-shaped): audio vs noise runs.

    uv run python -m lalm_bench.samples.make_sample_data

Deterministic (seeded). 64 shared IDs over 5 categories, plus one ID only in each file; some answers
are identical in both runs (a model that ignores the audio), some are long free-form reasoning
(over 256 word pieces), and the noise run often mentions static or guesses.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

# (question, choices, correct index, what the audio really holds, detail sentence)
BANK: dict[str, list[tuple[str, list[str], int, str]]] = {
    "sound": [
        (
            "What is the primary sound source in the recording?",
            ["A dog barking", "A car engine", "Rain on a roof", "A door slamming"],
            2,
            "steady rain drumming on a metal roof with occasional dripping from a gutter",
        ),
        (
            "Which animal can be heard?",
            ["Cat", "Rooster", "Cow", "Owl"],
            1,
            "a rooster crowing twice against distant farm ambience",
        ),
        (
            "How many times does the bell ring?",
            ["Once", "Twice", "Three times", "Four times"],
            2,
            "a church bell ringing three times with a long reverberant decay",
        ),
        (
            "Where was this most likely recorded?",
            ["A busy street", "A forest", "A kitchen", "An airport"],
            0,
            "traffic, a passing bus, car horns and footsteps on pavement",
        ),
        (
            "What happens right after the glass breaks?",
            ["A dog barks", "Someone screams", "An alarm sounds", "A door closes"],
            2,
            "glass shattering followed by a loud electronic alarm",
        ),
        (
            "What kind of vehicle passes by?",
            ["A motorcycle", "A train", "A bicycle", "A helicopter"],
            1,
            "a train approaching, the rhythmic clatter of wheels on rails and a horn",
        ),
        (
            "Is the water sound from a tap or a stream?",
            ["Tap", "Stream", "Waves", "Shower"],
            1,
            "a shallow stream running over stones with birdsong",
        ),
        (
            "What tool is being used?",
            ["A hammer", "A drill", "A saw", "A sander"],
            2,
            "a hand saw cutting through wood in long strokes",
        ),
        (
            "What is the weather like in the recording?",
            ["Thunderstorm", "Calm", "Snowfall", "Windy"],
            0,
            "rolling thunder and heavy rain",
        ),
        (
            "Which household appliance is running?",
            ["Microwave", "Washing machine", "Vacuum cleaner", "Blender"],
            3,
            "a blender whirring at high speed in short bursts",
        ),
        (
            "What is the person doing?",
            ["Typing", "Walking", "Eating", "Clapping"],
            0,
            "fast typing on a mechanical keyboard",
        ),
        (
            "How does the sound change over time?",
            ["Gets louder", "Gets quieter", "Stays the same", "Stops abruptly"],
            0,
            "an aircraft engine growing louder as it approaches overhead",
        ),
        (
            "What is making the rhythmic ticking?",
            ["A clock", "A metronome", "A turn signal", "A sprinkler"],
            2,
            "a car turn signal ticking inside a quiet cabin",
        ),
        (
            "Which bird is singing?",
            ["Crow", "Seagull", "Cuckoo", "Pigeon"],
            2,
            "a cuckoo calling repeatedly in a wood",
        ),
        (
            "What material is being walked on?",
            ["Gravel", "Snow", "Wood", "Carpet"],
            0,
            "footsteps crunching on gravel",
        ),
        (
            "What is the source of the hissing?",
            ["A snake", "A kettle", "A tyre", "A radio"],
            1,
            "a kettle coming to the boil and whistling",
        ),
    ],
    "music": [
        (
            "What is the genre of this piece?",
            ["Jazz", "Heavy metal", "Classical", "Reggae"],
            0,
            "a swing rhythm with upright bass, brushed drums and a muted trumpet solo",
        ),
        (
            "Which instrument plays the melody?",
            ["Violin", "Flute", "Piano", "Saxophone"],
            2,
            "a solo piano melody over soft string pads",
        ),
        (
            "What is the approximate tempo?",
            ["About 60 BPM", "About 90 BPM", "About 120 BPM", "About 170 BPM"],
            2,
            "a steady four-on-the-floor beat at roughly 120 beats per minute",
        ),
        (
            "Is the music in a major or minor key?",
            ["Major", "Minor"],
            1,
            "a slow minor-key progression with a melancholic cello line",
        ),
        (
            "How many instruments can be heard?",
            ["One", "Two", "Three", "Four or more"],
            3,
            "drums, bass, electric guitar and organ playing together",
        ),
        (
            "What is the mood of the music?",
            ["Happy", "Sad", "Tense", "Calm"],
            2,
            "low sustained strings, a pulsing synth and sudden percussion hits",
        ),
        (
            "Which time signature fits best?",
            ["3/4", "4/4", "6/8", "5/4"],
            0,
            "a waltz pattern with a strong first beat in groups of three",
        ),
        (
            "What kind of vocals are present?",
            ["None", "Solo female", "Solo male", "Choir"],
            3,
            "a mixed choir singing in four-part harmony",
        ),
        (
            "Which era does this style belong to?",
            ["Baroque", "1980s pop", "1950s rock and roll", "Modern EDM"],
            1,
            "gated reverb drums, analog synth bass and a bright chorus",
        ),
        (
            "What technique does the guitarist use?",
            ["Strumming", "Fingerpicking", "Slide", "Tapping"],
            2,
            "a bottleneck slide gliding between notes in a blues phrase",
        ),
        (
            "What happens at the end of the excerpt?",
            ["Fade out", "Abrupt stop", "Key change", "Tempo increase"],
            0,
            "the full band gradually fading out",
        ),
        (
            "Which percussion instrument leads?",
            ["Tabla", "Congas", "Timpani", "Steel drum"],
            0,
            "tabla rhythms accompanying a sitar drone",
        ),
        (
            "Is the performance live or a studio recording?",
            ["Live", "Studio"],
            0,
            "audience cheering and applause between phrases",
        ),
        (
            "What is the lead instrument's register?",
            ["Low", "Middle", "High"],
            0,
            "a tuba playing a low bass line",
        ),
    ],
    "speech": [
        (
            "What emotion does the speaker express?",
            ["Anger", "Joy", "Sadness", "Surprise"],
            0,
            "a raised voice saying that the delivery was late again",
        ),
        (
            "How many speakers are there?",
            ["One", "Two", "Three", "More than three"],
            1,
            "a man and a woman discussing train times",
        ),
        (
            "What language is spoken?",
            ["English", "Spanish", "German", "Mandarin"],
            1,
            "a speaker asking for directions in Spanish",
        ),
        (
            "What does the speaker ask for?",
            ["The time", "Directions", "A refund", "A glass of water"],
            2,
            "a customer asking for a refund for a broken kettle",
        ),
        (
            "What is the gender of the speaker?",
            ["Male", "Female"],
            1,
            "a female voice reading a news bulletin",
        ),
        ("What is the speaking rate?", ["Slow", "Normal", "Fast"], 2, "an auctioneer speaking very quickly"),
        (
            "Where is the speaker likely to be?",
            ["A train station", "A library", "A stadium", "A car"],
            0,
            "a platform announcement echoing with trains in the background",
        ),
        (
            "What number does the speaker mention?",
            ["Seven", "Twelve", "Forty", "Ninety"],
            1,
            "someone saying the meeting moved to room twelve",
        ),
        (
            "Is the speaker reading or speaking spontaneously?",
            ["Reading", "Spontaneous"],
            1,
            "hesitations, restarts and filler words in casual talk",
        ),
        (
            "What accent does the speaker have?",
            ["Scottish", "American Southern", "Australian", "Indian"],
            2,
            "an Australian accent describing a beach trip",
        ),
        (
            "What is the main topic?",
            ["Weather", "Sports", "Cooking", "Politics"],
            2,
            "instructions for kneading bread dough",
        ),
        ("Does the speaker sound tired?", ["Yes", "No"], 0, "slow, low-energy speech with sighs"),
        (
            "How does the conversation end?",
            ["With laughter", "With an argument", "With a goodbye", "Abruptly"],
            2,
            "both speakers saying goodbye and hanging up",
        ),
    ],
    "voice_chat": [
        (
            "Reply to the user's spoken request.",
            [],
            -1,
            "a user asking for a quick pasta recipe for two people",
        ),
        (
            "Answer the question the user asks in the audio.",
            [],
            -1,
            "a user asking how far the Moon is from the Earth",
        ),
        ("Respond to the user.", [], -1, "a user saying they feel nervous before a job interview"),
        ("Answer the user's spoken question.", [], -1, "a user asking what the capital of Canada is"),
        (
            "Respond helpfully to the audio message.",
            [],
            -1,
            "a user asking for a reminder to water the plants tomorrow",
        ),
        ("Answer the question in the recording.", [], -1, "a user asking how to say thank you in Japanese"),
        ("Reply to the spoken message.", [], -1, "a user asking for a short joke about cats"),
        ("Answer the user.", [], -1, "a user asking whether tomatoes are fruits or vegetables"),
        ("Respond to the user's request.", [], -1, "a user asking to convert 5 miles into kilometres"),
        ("Answer the spoken question.", [], -1, "a user asking why the sky is blue"),
        ("Reply to the user's spoken request.", [], -1, "a user asking for tips to fall asleep faster"),
    ],
    "open": [
        (
            "Describe the acoustic scene in detail and explain your reasoning.",
            [],
            -1,
            "a busy café with espresso machine hiss, cups clinking, murmured conversations and soft jazz",
        ),
        (
            "Explain what is happening in the recording, step by step.",
            [],
            -1,
            "a thunderstorm approaching a campsite, a tent zipper, and rain intensifying",
        ),
        (
            "Analyse the musical structure of the excerpt.",
            [],
            -1,
            "a verse-chorus pop song with a bridge and a final key change",
        ),
        (
            "Describe the speakers and their relationship.",
            [],
            -1,
            "a teacher patiently explaining fractions to a young student",
        ),
        (
            "What can you infer about the environment and the time of day?",
            [],
            -1,
            "dawn in a forest with a chorus of birds and a distant road",
        ),
        (
            "Describe every sound event in order.",
            [],
            -1,
            "a door opening, footsteps, keys dropped on a table and a kettle switched on",
        ),
        (
            "Explain how the recording was probably made.",
            [],
            -1,
            "a close handheld recording with wind noise and handling bumps outdoors",
        ),
        (
            "Give a detailed description of the instrumentation and the production.",
            [],
            -1,
            "a lo-fi hip hop beat with vinyl crackle, mellow Rhodes chords and a boom-bap drum loop",
        ),
        (
            "Reason about what the person is trying to do.",
            [],
            -1,
            "someone repeatedly trying to start an old car engine that sputters and fails",
        ),
        (
            "Describe the emotional arc of the recording.",
            [],
            -1,
            "a crowd going from quiet anticipation to loud cheering at a goal",
        ),
    ],
}

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
