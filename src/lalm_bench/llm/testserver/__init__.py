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
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lalm_bench.llm.testserver.faults import BatchingLatency, FaultInjector
from lalm_bench.llm.testserver.replies import (
    AUDIO_TOKENS_PER_SECOND,
    Reply,
    as_reply,
    completion,
    default_responder,
    dropped,
    error,
    slow,
)
from lalm_bench.llm.testserver.requests import AudioPartError, RecordedRequest, audio_content_parts, parse_audio_part

__all__ = [
    "AUDIO_TOKENS_PER_SECOND",
    "AudioPartError",
    "BatchingLatency",
    "FaultInjector",
    "RecordedRequest",
    "Reply",
    "ScriptedOpenAIServer",
    "as_reply",
    "completion",
    "default_responder",
    "dropped",
    "error",
    "parse_audio_part",
    "slow",
]


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
                        for part in audio_content_parts(req.messages):
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
