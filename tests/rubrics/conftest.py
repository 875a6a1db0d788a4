"""Fixtures for the rubric tests: Clotho-like data, a scripted rubric LLM on a real 127.0.0.1 server."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_CLOTHO = REPO.parent / "shared" / "data" / "clotho"
# fast backoff so retry paths run quickly; same code as in production
FAST_OPTIONS = [
    "--llm-option", "backoff_initial_s=0.001", "--llm-option", "backoff_max_s=0.005",
    "--llm-option", "jitter_s=0",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(tmp_path / "llm-cache.sqlite"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def clotho_eval() -> Path:
    """The real Clotho evaluation captions CSV (skips when ../shared/data is absent)."""
    path = SHARED_CLOTHO / "clotho_captions_evaluation.csv"
    if not path.is_file():
        pytest.skip("../shared/data/clotho not available")
    return path


def write_clotho_csv(path: Path, clips: dict[str, list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name"] + [f"caption_{i}" for i in range(1, 6)])
        for name, caps in clips.items():
            w.writerow([name, *caps])
    return path


MADE_UP = {
    f"clip {i:02d}, take {i}.wav": [
        f"Caption {j} of clip {i}: a {animal} barks near a {place}." for j in range(1, 6)
    ]
    for i, (animal, place) in enumerate(
        [
            ("dog", "river"),
            ("fox", "road"),
            ("seal", "harbour"),
            ("wolf", "forest"),
            ("dog", "road"),
            ("crow", "field"),
        ]
    )
}


@pytest.fixture
def small_clotho(tmp_path) -> Path:
    """Six made-up clips (names with commas and spaces) in Clotho's CSV layout."""
    return write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", MADE_UP)


def write_baselines(path: Path, names, text=lambda n: f"Some noise is heard in {n}.") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file_name", "model_output"])
        for n in names:
            w.writerow([n, text(n)])
    return path


def make_wav(seconds: float = 0.05, rate: int = 8000) -> bytes:
    import math
    import struct
    import wave

    frames = b"".join(struct.pack("<h", int(8000 * math.sin(i / 3))) for i in range(int(seconds * rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


_REF = re.compile(r"BETTER caption[^\n]*\n([^\n]*)\n")
_ITEM = re.compile(r"^([RN]\d+): (.*)$", re.M)
WORD = re.compile(r"[a-z]{4,}")


class RubricLLM:
    """A scripted rubric model behind the fake OpenAI server.

    baseline (audio attached, no schema): a caption; extract: one criterion per distinct long word of
    the reference (quoted verbatim); merge: exact-duplicate criteria merged. ``fail`` maps
    ``(step, clip)`` to a reply factory for fault injection. Counts requests per (step, clip)."""

    def __init__(self, refs: dict[str, str] | None = None, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.counts: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, int | None]] = []  # (step, clip, request seed)
        self.merge_queue: dict[tuple[str, ...], list[str]] = {}  # new criteria -> clips, in order
        self.ref_clip: dict[str, str] = dict(refs or {})  # caption text -> clip
        self.audio_clip: dict[str, str] = {}  # base64 prefix -> clip
        self.fail: dict[tuple[str, str], object] = {}
        self.lock = threading.Lock()

    def __call__(self, req):
        from tests.llm.fake_server import completion

        parts = [p for m in req.messages if isinstance(m.get("content"), list) for p in m["content"]]
        audio = [p for p in parts if p.get("type") == "input_audio"]
        # the first user message (a repair retry appends the bad reply and a second user message)
        user = next(m for m in req.messages if m["role"] == "user")["content"]
        text = user if isinstance(user, str) else "\n".join(p.get("text", "") for p in user)
        if "BETTER caption" in text:
            step = "extract"
            ref = json.loads(_REF.search(text).group(1))
            clip = self.ref_clip.get(ref, ref)
            words = list(dict.fromkeys(WORD.findall(ref.lower())))[-2:]
            reply = {"criteria": [{"criterion": f"mentions {w}", "weight": 2, "quote": w} for w in words]}
            with self.lock:
                self.merge_queue.setdefault(tuple(f"mentions {w}" for w in words), []).append(clip)
        elif "Items starting with R" in text:
            step = "merge"
            items = _ITEM.findall(text)
            new = [t for k, t in items if k.startswith("N")]
            with self.lock:
                queue = self.merge_queue.get(tuple(new)) or ["?"]
                clip = queue.pop(0) if queue[0] != "?" else "?"
            groups: dict[str, list[str]] = {}
            for k, t in items:
                groups.setdefault(t, []).append(k)
            reply = {"rubric": [{"criterion": t, "sources": ks} for t, ks in groups.items()]}
        else:
            step = "baseline"
            data = audio[0]["input_audio"]["data"] if audio else ""
            clip = self.audio_clip.get(data[:4000] + data[-200:], "?")
            reply = None
        with self.lock:
            self.counts[(step, clip)] += 1
            self.log.append((step, clip, (req.body or {}).get("seed")))
            fault = self.fail.get((step, clip))
        if fault is not None:
            return fault()
        content = f"A model caption of {clip}." if reply is None else json.dumps(reply)
        return completion(content, prompt_tokens=50, completion_tokens=20, delay_s=self.delay_s)

    def register_audio(self, clip: str, wav: bytes) -> None:
        import base64

        data = base64.b64encode(wav).decode()
        self.audio_clip[data[:4000] + data[-200:]] = clip


@pytest.fixture
def rubric_server():
    from tests.llm.fake_server import ScriptedOpenAIServer

    llm = RubricLLM()
    with ScriptedOpenAIServer(llm) as srv:
        srv.llm = llm
        yield srv


@pytest.fixture
def cli(capsys):
    """Run ``lalm-bench`` in-process: returns (exit code, stdout, stderr)."""
    from lalm_bench.cli import main

    def run(*args: str):
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


PY = sys.executable
