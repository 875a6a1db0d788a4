"""The ``openai`` clients of one model on one event loop: requests spread over small connection pools.

httpx's connection pool (httpcore) walks every connection it holds each time a request enters or leaves
it, and probes each idle one for a server-side close (``getpeername`` + ``poll``): O(connections) of CPU
per request, on the event loop. With 128 requests in flight that walk was the largest single cost of a
request (a third of the client's profiled time), and it is what set the pace of a run whose server was
fast. :class:`ClientPool` therefore sends through several clients of at most
:data:`CONNECTIONS_PER_POOL` requests in flight each, the least busy first, made as the load asks for
them: at 8 in flight (the default) one client, as before; at 128, sixteen pools of 8 connections. Every
client is built the same way (``openai``'s defaults, its retries off); they share one TLS context, whose
construction (loading the CA bundle, ~50 ms) would otherwise be paid by each.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

#: The most requests in flight on one client's connection pool before another client is made.
CONNECTIONS_PER_POOL = 8


class ClientPool:
    """``AsyncOpenAI`` clients for one base URL and key, used from one event loop."""

    def __init__(self, *, api_key: str, base_url: str, timeout: float) -> None:
        self._args: dict[str, Any] = {"api_key": api_key, "base_url": base_url, "timeout": timeout, "max_retries": 0}
        self._clients: list[Any] = []
        self._busy: list[int] = []
        self._tls: Any = None

    @property
    def size(self) -> int:
        """How many clients were made so far."""
        return len(self._clients)

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """The least busy client, counted as busy until the block ends; a new one when all hold
        :data:`CONNECTIONS_PER_POOL` requests."""
        busy = self._busy
        i = min(range(len(busy)), key=busy.__getitem__) if busy else -1
        if i < 0 or busy[i] >= CONNECTIONS_PER_POOL:
            i = self._add()
        busy[i] += 1
        try:
            yield self._clients[i]
        finally:
            busy[i] -= 1

    def _add(self) -> int:
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        extra: dict[str, Any] = {}
        tls = self._shared_tls(DefaultAsyncHttpxClient)
        if tls is not None:
            extra["http_client"] = DefaultAsyncHttpxClient(verify=tls)
        self._clients.append(AsyncOpenAI(**self._args, **extra))
        self._busy.append(0)
        return len(self._clients) - 1

    def _shared_tls(self, client_class: type) -> Any:
        """One TLS context as the HTTP library makes by default (``create_ssl_context()`` of the module
        ``openai`` builds on: httpx, or httpx2 in newer releases); None where it has none to offer."""
        if self._tls is None:
            base = next((c for c in client_class.__mro__[1:] if c.__name__ == "AsyncClient"), None)
            module = sys.modules.get(base.__module__.split(".")[0]) if base is not None else None
            make = getattr(module, "create_ssl_context", None)
            self._tls = make() if make is not None else False
        return self._tls or None

    async def aclose(self) -> None:
        """Close every client (their connections); the pool can be used again afterwards."""
        clients, self._clients, self._busy = self._clients, [], []
        for client in clients:
            with contextlib.suppress(RuntimeError):  # its event loop is gone
                await client.close()
