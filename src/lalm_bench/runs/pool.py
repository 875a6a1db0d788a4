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

    ``work`` must turn per-item failures into results; an exception it (or ``on_result``) raises is fatal:
    the items in flight are cancelled and the exception is raised once they have stopped. ``concurrency``
    workers take the items one after the other (constant work per item, whatever the concurrency)."""
    it = iter(items)
    failed = False

    async def worker() -> None:
        nonlocal failed
        for item in it:  # one shared iterator: each item is taken by exactly one worker
            try:
                result = await work(item)
                on_result(item, result)
            except BaseException:
                failed = True
                raise
            if failed:
                return

    workers = [asyncio.ensure_future(worker()) for _ in range(max(1, concurrency))]
    try:
        done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    for task in workers:  # the first failure, in the order the workers started
        if task in done and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


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
