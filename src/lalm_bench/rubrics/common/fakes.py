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


_JUDGE_CAPTION = re.compile(r"CAPTION to grade:\n([^\n]*)\n")
_JUDGE_EVIDENCE = re.compile(r"EVIDENCE about the audio clip:[^\n]*\n(.*?)\n\n", re.S)
_JUDGE_CRITERION = re.compile(r"^(C\d+): (.*)$", re.M)
_TOKEN = re.compile(r"[a-z]+")


class JudgeLLM:
    """A scripted judge behind the fake OpenAI server (``rubrics judge`` tests and benchmarks).

    Each criterion's key is its last word of four or more letters ("mentions river" -> river, "The
    caption mentions a dog barking." -> barking). Verdict: ``met`` when the key is a word of the
    evidence and of the caption, ``not_met`` when it is only in the evidence, ``cannot_assess`` when
    the evidence lacks it. With ``flip`` > 0 and a temperature above 0, each verdict is replaced by
    another one with probability ``flip``, decided by a hash of (request seed, caption, criterion), so
    that stochastic samples disagree reproducibly. ``fail`` maps a caption to ``f(k)``, called with the
    number of requests for that caption so far (1-based, repairs included), that returns a reply
    (fault injection) or None (answer normally). Counts requests per caption."""

    def __init__(self, *, flip: float = 0.0, delay_s: float = 0.0) -> None:
        self.flip = flip
        self.delay_s = delay_s
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, tuple[str, ...], int | None, bool]] = []  # caption, criteria, seed, repair
        self.fail: dict[str, Callable[[int], Any]] = {}
        self.lock = threading.Lock()

    @staticmethod
    def key(criterion: str) -> str:
        words = WORD.findall(criterion.lower())
        return words[-1] if words else ""

    def verdict(self, criterion: str, caption: str, evidence: list[str]) -> str:
        key = self.key(criterion)
        if not key or key not in set(_TOKEN.findall(" ".join(evidence).lower())):
            return "cannot_assess"
        return "met" if key in set(_TOKEN.findall(caption.lower())) else "not_met"

    def __call__(self, req):
        import hashlib

        from lalm_bench.llm.testserver import completion

        user = next(m for m in req.messages if m["role"] == "user")["content"]
        text = user if isinstance(user, str) else "\n".join(p.get("text", "") for p in user)
        found = _JUDGE_CAPTION.search(text)
        caption = json.loads(found.group(1)) if found else ""
        block = _JUDGE_EVIDENCE.search(text)
        evidence = [json.loads(x[2:]) for x in (block.group(1) if block else "").splitlines() if x.startswith('- "')]
        criteria = _JUDGE_CRITERION.findall(text.split("CRITERIA", 1)[-1])
        body = req.body or {}
        seed = body.get("seed")
        repair = any(m["role"] == "assistant" for m in req.messages)
        with self.lock:
            self.counts[caption] += 1
            k = self.counts[caption]
            self.log.append((caption, tuple(c for _, c in criteria), seed, repair))
            fault = self.fail.get(caption)
        reply = fault(k) if fault is not None else None
        if reply is not None:
            return reply
        verdicts: dict[str, dict[str, str]] = {}
        for cid, criterion in criteria:
            v = self.verdict(criterion, caption, evidence)
            if self.flip and float(body.get("temperature") or 0) > 0:
                h = hashlib.sha256(f"{seed}|{caption}|{criterion}".encode()).digest()
                if int.from_bytes(h[:8], "big") / 2**64 < self.flip:
                    labels = ["met", "not_met", "cannot_assess"]
                    v = labels[(labels.index(v) + 1 + h[8] % 2) % 3]
            verdicts[cid] = {"reason": f"scripted: key {self.key(criterion)!r}", "verdict": v}
        content = json.dumps(verdicts)
        return completion(
            content, prompt_tokens=len(text.split()), completion_tokens=len(content.split()), delay_s=self.delay_s
        )
