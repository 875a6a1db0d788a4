"""``python -m lalm_bench.llm.testserver``: the loopback OpenAI-compatible server, served for a user's own dry run.

A dry run exercises a whole command (``predict``, ``accuracy --extractor llm``, ``rubrics generate``,
``rubrics judge``) against a real HTTP server without a GPU. Modes:

* ``listening``: replies depend on the audio sent: each clip is described from its samples (duration,
  loudness, brightness), a multiple-choice prompt's ``(A) …`` option is picked from a hash of the audio,
  and usage counts the words of the text plus 25 prompt tokens per second of audio heard (as Qwen2-Audio and
  Qwen2.5-Omni's encoders do; ``--audio-tokens-per-second``) and 2 markers per clip. Faults of servers that
  lose audio silently: ``--drop-audio SHARE`` / ``--drop-audio-match REGEX`` (the audio of those prompts is
  ignored) and ``--cut-audio SECONDS`` (only the first seconds of each clip are heard and counted);
  ``--vary SHARE`` words a share of the replies otherwise (a server not deterministic at temperature 0);
* ``deaf``: the same, but from the text alone: the audio changes neither the reply nor the prompt tokens
  (what a server that drops the audio looks like; ``predict``'s serving canary should warn);
* ``faults``: ``listening`` with injected faults (HTTP 500, 429, dropped connections, slow replies,
  invalid JSON) at seeded rates, ``--fault KIND=RATE``;
* ``schema-following``: a request carrying a JSON schema (``response_format`` or vLLM's
  ``structured_outputs``) gets a reply valid for the schema, as with constrained decoding; others as
  ``listening``.

``--responder MODULE:NAME`` serves any callable ``(RecordedRequest) -> Reply | str | dict`` instead, e.g.
the scripted rubric model and judge of :mod:`lalm_bench.rubrics.common.fakes` (``RubricLLM``,
``JudgeLLM``). The base URL to pass as ``--base-url`` is printed on start; Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lalm_bench.llm.schema_replies import SchemaFollower
from lalm_bench.llm.testserver import (
    FaultInjector,
    RecordedRequest,
    Reply,
    ScriptedOpenAIServer,
    as_reply,
    completion,
)

MODES = ("listening", "deaf", "faults", "schema-following")
AUDIO_TOKENS_PER_SECOND = 25
AUDIO_MARKER_TOKENS = 2  # per clip heard, like <|audio_bos|> and <|audio_eos|>
DEFAULT_FAULTS = {"500": 0.1, "429": 0.05, "drop": 0.05, "slow": 0.0, "invalid": 0.05}
_CHOICE = re.compile(r"^\(([A-Z]|\d+)\) (.+)$", re.M)

Responder = Callable[[RecordedRequest], Reply | str | dict]


@dataclass(frozen=True)
class AudioFaults:
    """Faults of servers that lose audio silently (``listening`` mode): the audio of some requests dropped
    (a seeded share of them, chosen by a hash of the prompt text so that an item is dropped under every
    condition; or those whose prompt text matches ``drop_match``: the server never sees item ids), every
    clip cut at ``cut_s`` seconds. Prompt tokens count what was kept, as a real server's usage does."""

    drop_share: float = 0.0
    drop_match: str | None = None
    cut_s: float | None = None
    seed: int = 0

    def drops(self, text: str) -> bool:
        if self.drop_match is not None and re.search(self.drop_match, text):
            return True
        if self.drop_share <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}\0{text}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.drop_share


def describe_audio(data: bytes, max_seconds: float | None = None) -> tuple[str, float]:
    """A one-sentence description of an audio clip from its samples (the first ``max_seconds`` only, when
    given), and the duration heard in seconds."""
    import numpy as np
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception:  # the server answers; a real one would refuse, the client's problem either way
        return "I cannot decode this audio.", 0.0
    if max_seconds is not None:
        samples = samples[: round(max_seconds * rate)]
    mono = samples.mean(axis=1) if samples.size else np.zeros(1, dtype=np.float32)
    seconds = len(mono) / float(rate or 1)
    rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
    if rms < 1e-5:
        return f"I hear {seconds:.1f} seconds of silence.", seconds
    dbfs = 20 * np.log10(rms)
    crossings = float(np.mean(np.abs(np.diff(np.signbit(mono).astype(np.int8))))) * rate / 2
    loud = "loud" if dbfs > -20 else "moderate" if dbfs > -40 else "quiet"
    pitch = "high-pitched, hissing" if crossings > 3000 else "mid-range" if crossings > 800 else "low, rumbling"
    return f"I hear {seconds:.1f} seconds of {loud} ({dbfs:.0f} dBFS), {pitch} sound.", seconds


def _reply(
    request: RecordedRequest,
    listen: bool,
    faults: AudioFaults | None = None,
    tokens_per_second: float = AUDIO_TOKENS_PER_SECOND,
) -> Reply:
    text = request.last_user_text
    audio = request.audio_bytes if listen else []
    if faults is not None and faults.drops(text):
        audio = []
    cut = faults.cut_s if faults is not None else None
    heard = [describe_audio(a, cut) for a in audio]
    basis = (b"".join(audio) if cut is None else repr([d for d, _ in heard]).encode()) if audio else text.encode()
    choices = _CHOICE.findall(text)
    if choices:
        label, choice = choices[int.from_bytes(hashlib.sha256(basis).digest()[:4], "big") % len(choices)]
        content = f"{' '.join(d for d, _ in heard)} The answer is ({label}) {choice}".strip()
    elif heard:
        content = " ".join(d for d, _ in heard)
    else:
        content = f"A reply to: {' '.join(text.split()[:12])}"
    prompt_tokens = len(text.split()) + sum(round(tokens_per_second * s) + AUDIO_MARKER_TOKENS for _, s in heard)
    return completion(content, prompt_tokens=prompt_tokens, completion_tokens=len(content.split()))


def listening(request: RecordedRequest) -> Reply:
    """Replies that depend on the audio (see the module docstring)."""
    return _reply(request, listen=True)


class Listening:
    """``listening`` with :class:`AudioFaults` and another encoder rate."""

    def __init__(self, faults: AudioFaults | None = None, tokens_per_second: float = AUDIO_TOKENS_PER_SECOND) -> None:
        self.faults = faults
        self.tokens_per_second = tokens_per_second

    def __call__(self, request: RecordedRequest) -> Reply:
        return _reply(request, True, self.faults, self.tokens_per_second)


class Varying:
    """A responder that words a seeded share of its replies otherwise: a server that is not deterministic at
    temperature 0 (batch-dependent kernels)."""

    def __init__(self, responder: Responder, share: float, *, seed: int = 0) -> None:
        self.responder = responder
        self.share = share
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._n = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = as_reply(self.responder(request))
        with self._lock:
            vary = self._rng.random() < self.share
            self._n += 1
            n = self._n
        body = reply.body
        if vary and isinstance(body, dict) and body.get("choices"):
            message = body["choices"][0]["message"]
            message["content"] = f"{message.get('content') or ''} (variant {n})".strip()
        return reply


def deaf(request: RecordedRequest) -> Reply:
    """Replies from the text alone: the audio changes neither the reply nor the prompt tokens."""
    return _reply(request, listen=False)


def load_responder(spec: str) -> Responder:
    """``MODULE:NAME``: a responder callable, or a class whose no-argument instance is one."""
    import importlib
    import inspect

    module_name, sep, name = spec.partition(":")
    if not sep or not module_name or not name:
        raise ValueError(f"--responder {spec!r}: expected MODULE:NAME, e.g. lalm_bench.rubrics.common.fakes:RubricLLM")
    try:
        obj = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--responder {spec!r}: {exc}") from None
    responder = obj() if inspect.isclass(obj) else obj
    if not callable(responder):
        raise ValueError(f"--responder {spec!r} is not callable")
    return responder  # type: ignore[no-any-return]


def parse_faults(items: Sequence[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for item in items:
        kind, sep, value = item.partition("=")
        if not sep or kind not in FaultInjector.KINDS:
            raise ValueError(f"--fault {item!r}: expected KIND=RATE with KIND one of {', '.join(FaultInjector.KINDS)}")
        try:
            rates[kind] = float(value)
        except ValueError:
            raise ValueError(f"--fault {item!r}: RATE must be a number between 0 and 1") from None
        if not 0.0 <= rates[kind] <= 1.0:
            raise ValueError(f"--fault {item!r}: RATE must be between 0 and 1")
    if sum(rates.values()) > 1.0:
        raise ValueError("--fault: the rates add up to more than 1")
    return rates


def build_responder(
    mode: str,
    *,
    responder: str | None = None,
    faults: Sequence[str] = (),
    seed: int = 0,
    slow_s: float = 5.0,
    latency_s: float = 0.0,
    audio_faults: AudioFaults | None = None,
    tokens_per_second: float = AUDIO_TOKENS_PER_SECOND,
    vary: float = 0.0,
) -> Responder:
    """The responder a dry-run server answers with (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"--mode {mode!r}: one of {', '.join(MODES)}")
    if not 0.0 <= vary <= 1.0:
        raise ValueError("--vary: a share between 0 and 1")
    if audio_faults is not None and not 0.0 <= audio_faults.drop_share <= 1.0:
        raise ValueError("--drop-audio: a share between 0 and 1")
    if audio_faults is not None and audio_faults.cut_s is not None and audio_faults.cut_s <= 0:
        raise ValueError("--cut-audio: seconds > 0")
    if tokens_per_second <= 0:
        raise ValueError("--audio-tokens-per-second: > 0")
    if audio_faults is not None and audio_faults.drop_match is not None:
        try:
            re.compile(audio_faults.drop_match)
        except re.error as exc:
            raise ValueError(f"--drop-audio-match: {exc}") from None
    listen: Responder = (
        listening
        if audio_faults is None and tokens_per_second == AUDIO_TOKENS_PER_SECOND
        else Listening(audio_faults, tokens_per_second)
    )
    base: Responder = load_responder(responder) if responder else deaf if mode == "deaf" else listen
    if vary > 0:
        base = Varying(base, vary, seed=seed)
    if mode == "schema-following":
        base = SchemaFollower(base)
    rates = parse_faults(faults)
    if mode == "faults" or rates:
        base = FaultInjector(base, {**(DEFAULT_FAULTS if mode == "faults" else {}), **rates}, seed=seed, slow_s=slow_s)
    if latency_s > 0:
        inner = base

        def delayed(request: RecordedRequest) -> Reply:
            reply = as_reply(inner(request))
            reply.delay_s = max(reply.delay_s, latency_s)
            return reply

        base = delayed
    return base


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lalm_bench.llm.testserver",
        description="A loopback OpenAI-compatible chat server for dry runs: no GPU, no model, real HTTP.",
        epilog="Example: python -m lalm_bench.llm.testserver --mode deaf --port 8011, then "
        "lalm-bench predict --model openai/fake --base-url http://127.0.0.1:8011/v1 --benchmark b.parquet "
        "--condition audio,noise  (the canary should warn). More: README.md#dry-runs-without-a-gpu",
    )
    parser.add_argument("--mode", choices=MODES, default="listening", help="How replies are made (default listening).")
    parser.add_argument("--port", type=int, default=0, help="Port on 127.0.0.1 (default 0: a free one).")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS", help="Delay every reply.")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"Inject a fault kind ({', '.join(FaultInjector.KINDS)}) at a rate; repeatable. --mode faults "
        f"starts from {', '.join(f'{k}={v:g}' for k, v in DEFAULT_FAULTS.items())}.",
    )
    parser.add_argument("--slow", type=float, default=5.0, metavar="SECONDS", help="Delay of a 'slow' fault.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the fault draws.")
    parser.add_argument(
        "--drop-audio",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="Ignore the audio of this share of the prompts (seeded hash of the prompt text: the same items under "
        "every condition), as a server that drops audio silently.",
    )
    parser.add_argument(
        "--drop-audio-match", metavar="REGEX", help="Ignore the audio of the prompts whose text matches REGEX."
    )
    parser.add_argument(
        "--cut-audio", type=float, metavar="SECONDS", help="Hear only the first SECONDS of every clip (e.g. 30)."
    )
    parser.add_argument(
        "--audio-tokens-per-second",
        type=float,
        default=AUDIO_TOKENS_PER_SECOND,
        metavar="RATE",
        help=f"Prompt tokens per second of audio heard (default {AUDIO_TOKENS_PER_SECOND}, plus "
        f"{AUDIO_MARKER_TOKENS} per clip).",
    )
    parser.add_argument(
        "--vary",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="Word this share of the replies otherwise (seeded): a server not deterministic at temperature 0.",
    )
    parser.add_argument(
        "--responder",
        metavar="MODULE:NAME",
        help="Serve this callable instead, e.g. lalm_bench.rubrics.common.fakes:RubricLLM (rubrics generate) "
        "or lalm_bench.rubrics.common.fakes:JudgeLLM (rubrics judge).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C (or SIGTERM); 0 on a clean stop, 2 on bad arguments."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: between 0 and 65535")
    try:
        responder = build_responder(
            args.mode,
            responder=args.responder,
            faults=args.fault,
            seed=args.seed,
            slow_s=args.slow,
            latency_s=args.latency,
            audio_faults=AudioFaults(args.drop_audio, args.drop_audio_match, args.cut_audio, args.seed)
            if args.drop_audio or args.drop_audio_match or args.cut_audio
            else None,
            tokens_per_second=args.audio_tokens_per_second,
            vary=args.vary,
        )
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        server = ScriptedOpenAIServer(responder, port=args.port).start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    what = args.responder or args.mode
    print(f"serving {what} at {server.base_url}  (pass --base-url {server.base_url}; Ctrl-C stops)", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print(f"stopped after {len(server.requests)} requests", flush=True)
    return 0
