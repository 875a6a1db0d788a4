"""Running a prepared LLM job's event loop to its end, the same way for every job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lalm_bench.errors import LalmBenchError, first_line
from lalm_bench.llm.calls import is_fatal


class _NoWaitExecutor(ThreadPoolExecutor):
    """The loop's default executor (``asyncio.to_thread``) that never waits for its threads at shutdown.

    ``asyncio.run`` waits for every worker thread before it returns: after Ctrl-C, one worker blocked
    in I/O (a hung mount, a slow device) would keep the command from ever exiting. Work still running
    is abandoned instead (its task is already cancelled; nothing of it is written)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


async def _with_no_wait_executor(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.get_running_loop().set_default_executor(_NoWaitExecutor(thread_name_prefix="lalm-bench-worker"))
    await main()


def run_to_end(main: Callable[[], Coroutine[Any, Any, None]], unit: str) -> None:
    """``asyncio.run(main())``; a fatal LLM error (bad key, unreachable server, unknown model) becomes one
    line saying that the logs keep every finished ``unit`` and that rerunning resumes. Worker threads
    (``asyncio.to_thread``) are not waited for when the loop ends (see :class:`_NoWaitExecutor`)."""
    try:
        asyncio.run(_with_no_wait_executor(main))
    except LalmBenchError as exc:
        if is_fatal(exc):
            raise LalmBenchError(f"{first_line(exc)} (the logs keep every finished {unit}; rerun to resume)") from exc
        raise
