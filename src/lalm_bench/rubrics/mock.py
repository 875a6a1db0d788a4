"""A scripted rubric model for the loopback OpenAI server (:mod:`lalm_bench.llm.testserver`): tests and benchmarks."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

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
        # (new criteria, request seed) -> clips whose extract returned them, in order; the last one
        # stays, so a merge sent again (after a kill) is still attributed to its clip
        self.merge_queue: dict[tuple, list[list]] = {}  # entries [clip, merged yet]
        self.ref_clip: dict[str, str] = dict(refs or {})  # caption text -> clip
        self.audio_clip: dict[str, str] = {}  # base64 prefix -> clip
        self.fail: dict[tuple[str, str], Callable[[], Any]] = {}
        self.lock = threading.Lock()

    def __call__(self, req):
        from lalm_bench.llm.testserver import completion

        parts = [p for m in req.messages if isinstance(m.get("content"), list) for p in m["content"]]
        audio = [p for p in parts if p.get("type") == "input_audio"]
        # the first user message (a repair retry appends the bad reply and a second user message)
        user = next(m for m in req.messages if m["role"] == "user")["content"]
        text = user if isinstance(user, str) else "\n".join(p.get("text", "") for p in user)
        if "BETTER caption" in text:
            step = "extract"
            found = _REF.search(text)
            ref = json.loads(found.group(1)) if found else ""
            clip = self.ref_clip.get(ref, ref)
            words = list(dict.fromkeys(WORD.findall(ref.lower())))[-2:]
            reply = {"criteria": [{"criterion": f"mentions {w}", "weight": 2, "quote": w} for w in words]}
            with self.lock:
                key = (tuple(f"mentions {w}" for w in words), (req.body or {}).get("seed"))
                self.merge_queue.setdefault(key, []).append([clip, False])
        elif "Items starting with R" in text:
            step = "merge"
            items = _ITEM.findall(text)
            new = [t for k, t in items if k.startswith("N")]
            with self.lock:
                queue = self.merge_queue.get((tuple(new), (req.body or {}).get("seed"))) or [["?", False]]
                entry = next((e for e in queue if not e[1]), queue[-1])
                entry[1] = True
                clip = entry[0]
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
