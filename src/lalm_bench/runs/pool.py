"""Bounded-concurrency execution of independent items, stopping at the first fatal error; load balancing
across servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def run_pool(
    items: Iterable[T],
    work: Callable[[T], Awaitable[R]],
    on_result: Callable[[T, R], None],
    *,
    concurrency: int,
) -> None:
    """``work(item)`` for every item, at most ``concurrency`` at once; ``on_result`` in completion order.

    ``work`` must turn per-item failures into results; an exception it raises is fatal: the items
    in flight are cancelled and the exception is raised once they have stopped."""
    pending: set[asyncio.Task[R]] = set()
    owner: dict[asyncio.Task[R], T] = {}
    it = iter(items)
    done_marker = object()
    failure: BaseException | None = None
    try:
        while True:
            while failure is None and len(pending) < concurrency:
                item = next(it, done_marker)
                if item is done_marker:
                    break
                task = asyncio.ensure_future(work(item))  # type: ignore[arg-type]
                pending.add(task)
                owner[task] = item  # type: ignore[assignment]
            if not pending:
                break
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    failure = failure or exc
                    continue
                on_result(owner.pop(task), task.result())
            if failure is not None:
                break
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    if failure is not None:
        raise failure


class Dispatcher:
    """Sends each request to the server with the fewest requests in flight (ties: round robin)."""

    def __init__(self, n: int) -> None:
        self.load = [0] * n
        self._next = 0

    def acquire(self) -> int:
        n = len(self.load)
        order = [(self._next + k) % n for k in range(n)]
        best = min(order, key=lambda i: self.load[i])
        self.load[best] += 1
        self._next = (best + 1) % n
        return best

    def release(self, i: int) -> None:
        self.load[i] -= 1
