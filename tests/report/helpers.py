"""Real runs for the report tests: a tone benchmark asked through ``predict`` against the loopback OpenAI
server (a model that listens, and one that answers from the text alone), then ``accuracy`` and
``similarity`` on the outputs. Nothing is faked below the HTTP server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from lalm_bench.llm.testserver import RecordedRequest, Reply, ScriptedOpenAIServer, completion

PITCHES = {"low": 220.0, "mid": 660.0, "high": 1980.0}
CHOICES = ["low", "mid", "high", "no sound"]
#: An answer written to break a page that interprets it (script, handlers, links, bidi, a closing tag).
MARKUP = (
    '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    '<a href="javascript:window.__pwned = 3">click</a> \u202eevil\u202c <!-- (B) mid'
)
LONG_ANSWER = "(B) mid. " + "la " * 34_000  # ~100k characters


def tone_benchmark(folder: Path, n: int = 36) -> Path:
    """``n`` items, each a 0.5 s 16 kHz tone of a known pitch, with the question which pitch it is; the first
    item's question holds markup, the second asks for the long answer."""
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rows = []
    names = list(PITCHES)
    for i in range(n):
        pitch = names[i % 3]
        t = np.arange(8000) / 16000
        sf.write(audio / f"tone{i:03d}.wav", 0.3 * np.sin(2 * np.pi * PITCHES[pitch] * t), 16000, subtype="PCM_16")
        question = f"Item {i}: which pitch is the tone?"
        if i == 0:
            question = "MARKUP <b>bold</b> <script>window.__pwned = 4</script> which pitch?"
        if i == 1:
            question = "LONG: which pitch is the tone?"
        rows.append(
            {
                "id": f"t{i:03d}",
                "audio_path": f"tone{i:03d}.wav",
                "question": question,
                "choices": CHOICES,
                "category": "pitch-a" if i % 2 else "pitch-b",
                "answer": pitch,
            }
        )
    path = folder / "bench.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pitch_of(samples: np.ndarray, rate: int) -> str | None:
    """What a listening model hears: the pitch of a tone, ``noise``, or ``silence``."""
    x = samples[:, 0].astype(np.float64)
    if not np.any(x):
        return "silence"
    zcr = float(np.mean(np.abs(np.diff(np.sign(x))) > 0))
    if zcr > 0.3:
        return "noise"
    f = np.fft.rfftfreq(x.size, 1 / rate)[int(np.argmax(np.abs(np.fft.rfft(x))))]
    return min(PITCHES, key=lambda p: abs(PITCHES[p] - f))


class ToneModel:
    """A chat model behind the loopback server. ``listening``: answers the pitch it hears (a tone), picks
    "(A) low" under noise, "(D) no sound" under silence and refuses without audio; otherwise "(A) low" always.
    The MARKUP and LONG questions get :data:`MARKUP` and :data:`LONG_ANSWER` under audio."""

    def __init__(self, listening: bool) -> None:
        self.listening = listening

    def __call__(self, req: RecordedRequest) -> Reply:
        text = req.last_user_text
        decoded = req.decoded_audio
        heard = _pitch_of(*decoded[0]) if decoded else None
        if self.listening and heard in PITCHES:
            if text.startswith("MARKUP"):
                return completion(MARKUP)
            if text.startswith("LONG"):
                return completion(LONG_ANSWER)
        if not self.listening:
            answer = "(A) low"
        elif heard is None:
            answer = "I cannot hear any audio, so I cannot tell."
        elif heard == "noise":
            answer = "(A) low"
        elif heard == "silence":
            answer = "(D) no sound"
        else:
            answer = f"({'ABC'[list(PITCHES).index(heard)]}) {heard}"
        return completion(answer)


def run_model(run_cli: Any, bench: Path, out: Path, *, listening: bool, conditions: str, seed: int = 42) -> None:
    with ScriptedOpenAIServer(ToneModel(listening)) as server:
        res = run_cli(
            "predict", "--benchmark", bench, "--audio-root", bench.parent / "audio", "--model",
            f"openai/{'listener' if listening else 'deaf'}", "--base-url", server.base_url,
            "--condition", conditions, "--seed", seed, "--output", out, "--quiet", "--no-llm-cache",
            "--max-tokens", 4096,
        )  # fmt: skip
    assert res.exit_code == 0, res.stderr


def full_run(run_cli: Any, folder: Path, *, listening: bool, bench: Path) -> Path:
    """predict (audio, noise, silence, none; a second noise seed) → accuracy + similarity, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    run_model(run_cli, bench, folder / "preds.parquet", listening=listening, conditions="audio,noise,silence,none")
    run_model(run_cli, bench, folder / "second" / "preds.parquet", listening=listening, conditions="noise", seed=7)
    p = {c: folder / f"preds_{c}.parquet" for c in ("audio", "noise", "silence", "none")}
    res = run_cli(
        "accuracy", "--audio-file", p["audio"], "--noise-file", p["noise"], "--condition", f"silence={p['silence']}",
        "--condition", f"none={p['none']}", "--extractor", "none", "-o", folder / "accuracy.json", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    res = run_cli(
        "similarity", "--audio-file", p["audio"], "--noise-file", p["noise"], "--noise-file-2",
        folder / "second" / "preds_noise.parquet", "--model", "mock:hash", "-o", folder / "similarity.json", "--quiet",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return folder
