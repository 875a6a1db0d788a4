"""Helpers for the predict tests: benchmark files, small WAVs, and test-server responders that decode the audio."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from lalm_bench.llm.testserver import RecordedRequest, Reply, completion, error

REPO = Path(__file__).resolve().parents[2]
CLOTHO_AUDIO = REPO.parent / "shared" / "data" / "clotho" / "audio" / "evaluation"
# fast backoff so retry paths run quickly; same code as in production
FAST_OPTIONS = [
    "--llm-option", "backoff_initial_s=0.001", "--llm-option", "backoff_max_s=0.005",
    "--llm-option", "jitter_s=0",
]  # fmt: skip

#: The benchmark made from the five real Clotho evaluation clips: made-up questions, one multi-audio item.
CLOTHO_ITEMS = [
    {"id": "c1", "audio_path": "Blade Big.wav", "question": "What object makes this sound?",
     "choices": ["A metal blade", "A barking dog", "Rain on a roof", "A piano"], "category": "sound",
     "answer": "A metal blade"},
    {"id": "c2", "audio_path": "Radio Fuzz for Old Radio Broadcast FF233.wav",
     "question": "Which device is most likely heard?", "choices": ["An old radio", "A car engine", "A kettle"],
     "category": "radio", "answer": "An old radio"},
    {"id": "c3", "audio_path": "Radio Garble.wav", "question": "Describe what you hear in one sentence.",
     "choices": [], "category": "radio", "answer": "Garbled radio voices."},
    {"id": "c4", "audio_path": "Santa Motor.wav", "question": "Is a motor running in the recording?",
     "choices": ["Yes", "No"], "category": "sound", "answer": "Yes"},
    {"id": "c5", "audio_path": ["toy rattle 2.wav", "Blade Big.wav"],
     "question": "Which of the two clips contains a rattle?", "choices": ["The first", "The second"],
     "category": "multi", "answer": "The first"},
]  # fmt: skip


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_wav(path: Path, seconds: float, *, rate: int = 16000, channels: int = 1, freq: float = 440.0) -> Path:
    """A 16-bit PCM tone (a distinct ``freq`` gives distinct bytes)."""
    t = np.arange(round(seconds * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), rate, subtype="PCM_16")
    return path


def synthetic_benchmark(folder: Path, n: int, *, categories: int = 2, name: str = "bench.jsonl") -> Path:
    """``n`` items with short tones of different lengths (0.5 s + 0.1 s per item) under ``folder/audio``."""
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        write_wav(audio / f"clip{i:03d}.wav", 0.5 + 0.1 * (i % 7), freq=200 + 37 * i)
        rows.append(
            {
                "id": f"item{i:03d}",
                "audio_path": f"clip{i:03d}.wav",
                "question": f"Question number {i}: what is heard?",
                "choices": ["a tone", "a voice", "silence"],
                "category": f"cat{i % categories}",
                "answer": "a tone",
            }
        )
    return write_jsonl(folder / name, rows)


def question_of(req: RecordedRequest) -> str:
    return req.last_user_text.split("\n", 1)[0]


class AudioResponder:
    """A test-server responder that decodes the audio it receives, as an audio LLM server would.

    ``listening``: prompt tokens = words of the text + 25 per second of audio, and the answer depends on
    the audio (its length and RMS); otherwise (a server that drops the audio) prompt tokens count the text
    only and the answer depends on the text only. ``seen`` keeps, per request, the question and the decoded
    audio; ``max_in_flight`` the most requests handled at once."""

    def __init__(self, *, listening: bool = True, delay_s: float = 0.0, finish_reason: str = "stop") -> None:
        self.listening = listening
        self.delay_s = delay_s
        self.finish_reason = finish_reason
        self.seen: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, req: RecordedRequest) -> Reply:
        if req.body is None:  # a body cut short by a client that died mid-send (kill -9, Ctrl-C)
            return error(400, "truncated request body")
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            decoded = req.decoded_audio
            raw = req.audio_bytes
            seconds = sum(s.shape[0] / rate for s, rate in decoded)
            text = req.last_user_text
            with self._lock:
                self.seen.append(
                    {
                        "question": question_of(req),
                        "text": text,
                        "audio": decoded,
                        "sha256": [hashlib.sha256(b).hexdigest() for b in raw],
                        "bytes": raw,
                        "time": time.monotonic(),
                    }
                )
            tokens = len(text.split())
            if self.listening:
                tokens += round(25 * seconds)
                rms = [float(np.sqrt(np.mean(np.square(s, dtype=np.float64)))) for s, _ in decoded]
                heard = " ".join(f"{r:.5f}/{hashlib.sha256(b).hexdigest()[:8]}" for r, b in zip(rms, raw, strict=True))
                answer = f"I hear {len(decoded)} clip(s), {seconds:.3f} s, RMS/content {heard}."
            else:
                answer = f"An answer to: {question_of(req)}"
            return completion(
                answer, prompt_tokens=tokens, completion_tokens=len(answer.split()), finish_reason=self.finish_reason
            )
        finally:
            with self._lock:
                self.in_flight -= 1


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def logged_ids(tmp_path: Path, folder: str) -> list[str]:
    """The ids of the whole records in ``p.runs/<folder>/log.jsonl`` (a torn last line is skipped)."""
    path = tmp_path / "p.runs" / folder / "log.jsonl"
    if not path.exists():
        return []
    return [json.loads(x)["id"] for x in path.read_text().splitlines() if x.strip().endswith("}")]


def kill_once_logged(
    cmd: list[str], env: dict[str, str], tmp_path: Path, folders: tuple[str, ...], at_least: int
) -> dict[str, list[str]]:
    """Start ``cmd``; once the run logs of ``folders`` hold ``at_least`` records together (or it ends, or 120 s
    pass), kill it with SIGKILL; the ids each folder's log holds then."""
    import signal
    import subprocess

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(len(logged_ids(tmp_path, f)) for f in folders) >= at_least:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return {f: logged_ids(tmp_path, f) for f in folders}
