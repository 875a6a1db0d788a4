"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, with scripted replies.

Shipped with the package (like inspect_ai's ``mockllm``) so that tests, benchmarks and users can
exercise the real ``openai`` client, retries, caching and audio requests without a GPU server::

    from lalm_bench.llm.testserver import ScriptedOpenAIServer, completion, error

    with ScriptedOpenAIServer() as server:
        server.script(error(500), completion('{"a": 1}'))  # consumed first, in order
        server.responder = lambda req: completion("...")    # then computed from each request
        model = OpenAIChatModel("m", base_url=server.base_url, cache=None)
        ...
        server.requests[0].body  # every received request, parsed

Replies: :func:`completion` (200 with a chat completion), :func:`error` (any status, optional
``Retry-After``), :func:`slow` (answers after a delay: beyond the client timeout it is a timeout),
:func:`dropped` (closes the connection without answering). :class:`FaultInjector` wraps a responder
and injects faults at seeded random rates (for end-to-end fault runs).

From a shell, ``python -m lalm_bench.llm.testserver --help`` serves it for a dry run of any command
(modes ``listening``, ``deaf``, ``faults``, ``schema-following``; see :mod:`lalm_bench.llm.dryrun`).
:class:`SchemaFollower` answers like a server with constrained decoding (a random valid instance of the
request's JSON schema).
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON; str/bytes → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the connection without any response


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    raw: bytes
    body: Any  # parsed JSON, or None when the body is not JSON
    in_flight: int = 1  # requests being handled by the server when this one arrived, itself included

    @property
    def messages(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("messages", [])

    @property
    def audio_shapes(self) -> list[str]:
        """The type of every audio content part (``input_audio`` or ``audio_url``), in message order."""
        return [part["type"] for part in _audio_content_parts(self.messages)]

    @property
    def audio_parts(self) -> list[dict[str, Any]]:
        """Every audio part of the request as ``{"data": <base64>, "format": ...}``, in message order, whichever
        shape it came in (an ``audio_url`` data URL gives its media subtype as the format)."""
        return [parse_audio_part(part)[0] for part in _audio_content_parts(self.messages)]

    @property
    def audio_bytes(self) -> list[bytes]:
        """The decoded bytes of every audio part (what the server would hand to its audio encoder)."""
        return [parse_audio_part(part)[1] for part in _audio_content_parts(self.messages)]

    @property
    def decoded_audio(self) -> list[tuple[Any, int]]:
        """Every audio part decoded as a server would: ``(samples, sample_rate)`` with float32 samples of shape
        ``(frames, channels)`` (soundfile; raises on bytes it cannot decode)."""
        import io

        import soundfile

        out = []
        for data in self.audio_bytes:
            samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
            out.append((samples, int(rate)))
        return out

    @property
    def audio_seconds(self) -> float:
        """Total duration of the request's audio parts (0.0 without audio)."""
        import io

        import soundfile

        total = 0.0
        for data in self.audio_bytes:
            info = soundfile.info(io.BytesIO(data))
            total += info.frames / info.samplerate
        return total

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (its text parts joined)."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                content = msg.get("content")
                if isinstance(content, str):
                    return content
                return "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        return ""


class AudioPartError(ValueError):
    """An audio content part a real server would refuse (the message says why)."""


def _audio_content_parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        part
        for msg in messages
        if isinstance(msg, dict) and isinstance(msg.get("content"), list)
        for part in msg["content"]
        if isinstance(part, dict) and part.get("type") in ("input_audio", "audio_url")
    ]


def parse_audio_part(part: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """``({"data", "format"}, audio bytes)`` of one audio content part, parsed as vLLM parses it
    (``vllm/entrypoints/chat_utils.py``: ``input_audio`` becomes ``data:audio/<format>;base64,<data>``; a
    data URL must say ``;base64``; the bytes are decoded by content, whatever the format says).

    Raises :class:`AudioPartError` for what such a server refuses: a missing field, a data URL that is not
    base64 or not audio, base64 that does not decode, bytes no audio decoder reads."""
    import base64
    import binascii
    import io

    import soundfile

    if part.get("type") == "input_audio":
        body = part.get("input_audio")
        if not isinstance(body, dict) or not isinstance(body.get("data"), str) or not body["data"]:
            raise AudioPartError("input_audio needs {'data': <base64>, 'format': ...}")
        fmt = body.get("format")
        if not isinstance(fmt, str) or not fmt:
            raise AudioPartError("input_audio needs a 'format'")
        url = f"data:audio/{fmt};base64,{body['data']}"
    else:
        body = part.get("audio_url")
        given = body.get("url") if isinstance(body, dict) else None
        if not isinstance(given, str) or not given.startswith("data:"):
            raise AudioPartError("audio_url needs {'url': 'data:audio/<format>;base64,<data>'} (no fetching here)")
        url = given
    spec, sep, data = url[len("data:") :].partition(",")
    media_type, _, encoding = spec.rpartition(";")
    if not sep or encoding != "base64":
        raise AudioPartError("only base64 data URLs are supported")
    if not media_type.startswith("audio/"):
        raise AudioPartError(f"data URL media type {media_type!r} is not audio")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AudioPartError("audio data is not valid base64 (a 'data:' prefix inside input_audio.data?)") from None
    try:
        soundfile.info(io.BytesIO(raw))
    except RuntimeError as exc:  # soundfile.LibsndfileError
        raise AudioPartError(f"cannot decode the audio: {exc}") from None
    return {"data": data, "format": media_type.split("/", 1)[1]}, raw


_counter: collections.Counter[str] = collections.Counter()


def completion(
    content: str | None,
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    model: str = "fake-model",
    finish_reason: str = "stop",
    delay_s: float = 0.0,
) -> Reply:
    """A 200 reply holding one chat completion with ``content``."""
    _counter["id"] += 1
    body = {
        "id": f"chatcmpl-fake-{_counter['id']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return Reply(200, body, delay_s=delay_s)


def error(status: int, message: str | None = None, *, retry_after: float | None = None) -> Reply:
    """An error reply in OpenAI's ``{"error": {...}}`` shape."""
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    body = {"error": {"message": message or f"scripted HTTP {status}", "type": "scripted", "code": status}}
    return Reply(status, body, headers=headers)


def slow(delay_s: float, content: str = "late") -> Reply:
    return completion(content, delay_s=delay_s)


def dropped() -> Reply:
    return Reply(drop=True)


#: Prompt tokens per second of audio the default responder counts (Qwen2-Audio / Qwen2.5-Omni's rate).
AUDIO_TOKENS_PER_SECOND = 25


def default_responder(request: RecordedRequest) -> Reply:
    """``ok``, with usage counted like an audio LLM server: the words of the last user text plus
    :data:`AUDIO_TOKENS_PER_SECOND` per second of the audio received."""
    try:
        seconds = request.audio_seconds
    except Exception:  # undecodable audio: a real server would refuse; count the text
        seconds = 0.0
    tokens = len(request.last_user_text.split()) + round(AUDIO_TOKENS_PER_SECOND * seconds)
    return completion("ok", prompt_tokens=tokens, completion_tokens=1)


def as_reply(value: Reply | str | dict) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return completion(value)
    if isinstance(value, dict) and "choices" in value:
        return Reply(200, value)
    return completion(json.dumps(value))


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the listen backlog: a client opening 128 connections at once is not refused


class ScriptedOpenAIServer:
    """A threaded HTTP server on 127.0.0.1 (``port`` 0: a free one): scripted replies first, then ``responder``."""

    def __init__(
        self,
        responder: Callable[[RecordedRequest], Reply | str | dict] | None = None,
        *,
        check_audio: bool = True,
        port: int = 0,
    ) -> None:
        self.responder = responder or default_responder
        #: Answer 400 to audio parts a real server refuses (see :func:`parse_audio_part`), as vLLM does.
        self.check_audio = check_audio
        self.requested_port = port
        self.requests: list[RecordedRequest] = []
        #: Keep every request in :attr:`requests` (off for long benchmarks: they hold the audio).
        self.record = True
        #: Requests being handled now (see :class:`BatchingLatency`).
        self.in_flight = 0
        self._queue: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> ScriptedOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(Reply(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]}))
                else:
                    self._send(error(404, f"no route {self.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                with server._lock:
                    server.in_flight += 1
                    req = RecordedRequest(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw, body, server.in_flight
                    )
                    if server.record:
                        server.requests.append(req)
                    reply = server._queue.popleft() if server._queue else None
                try:
                    self._answer(req, reply)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, req: RecordedRequest, reply: Reply | None) -> None:
                if reply is None and server.check_audio:
                    try:
                        for part in _audio_content_parts(req.messages):
                            parse_audio_part(part)
                    except AudioPartError as exc:
                        reply = error(400, f"invalid audio content part: {exc}")
                if reply is None:
                    try:
                        reply = as_reply(server.responder(req))
                    except Exception as exc:  # a broken responder shows up as a 500, not a hang
                        reply = error(500, f"responder failed: {exc!r}")
                if reply.delay_s:
                    server._stop.wait(reply.delay_s)
                if reply.drop:
                    self.close_connection = True
                    return
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                if isinstance(reply.body, (dict, list)):
                    data = json.dumps(reply.body).encode()
                elif isinstance(reply.body, str):
                    data = reply.body.encode()
                else:
                    data = reply.body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.close_connection = True

        self._httpd = _Server(("127.0.0.1", self.requested_port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="fake-openai"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting and inspection --------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply | str | dict) -> None:
        """Queue replies; each request consumes the next one before ``responder`` is asked."""
        with self._lock:
            self._queue.extend(as_reply(r) for r in replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()


class FaultInjector:
    """A responder that answers like ``responder`` but injects faults at seeded random rates.

    ``rates`` maps fault kinds to probabilities: ``500``, ``429`` (with ``Retry-After: 0``),
    ``drop`` (connection closed), ``slow`` (``slow_s`` delay: set it above the client timeout for a
    timeout), ``invalid`` (a 200 reply whose content is not JSON, which triggers the repair
    retry). ``counts`` tallies what was sent (``ok`` for clean replies)."""

    KINDS = ("500", "429", "drop", "slow", "invalid")

    def __init__(
        self,
        responder: Callable[[RecordedRequest], Reply | str | dict],
        rates: dict[str, float],
        *,
        seed: int = 0,
        slow_s: float = 5.0,
    ) -> None:
        unknown = set(rates) - set(self.KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.responder = responder
        self.rates = rates
        self.slow_s = slow_s
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            u = self._rng.random()
        kind = "ok"
        acc = 0.0
        for k in self.KINDS:
            acc += self.rates.get(k, 0.0)
            if u < acc:
                kind = k
                break
        with self._lock:
            self.counts[kind] += 1
        if kind == "500":  # numbered: a transient error, not one that repeats word for word
            return error(500, f"injected server error #{self.counts[kind]}")
        if kind == "429":
            return error(429, "injected rate limit", retry_after=0)
        if kind == "drop":
            return dropped()
        if kind == "invalid":
            return completion("Sorry, I cannot produce JSON right now.")
        reply = as_reply(self.responder(request))
        if kind == "slow":
            reply.delay_s = self.slow_s
        return reply


class BatchingLatency:
    """A responder whose replies take ``base_s + per_request_s * in_flight`` seconds, ``in_flight`` being the
    requests the server holds when the request arrives (itself included): the shape of a continuous-batching
    server (vLLM, SGLang), whose step time grows with the batch. ``responder`` gives the reply."""

    def __init__(
        self,
        base_s: float,
        per_request_s: float,
        responder: Callable[[RecordedRequest], Reply | str | dict] = default_responder,
    ) -> None:
        self.base_s, self.per_request_s, self.responder = base_s, per_request_s, responder

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = as_reply(self.responder(request))
        reply.delay_s += self.base_s + self.per_request_s * request.in_flight
        return reply
