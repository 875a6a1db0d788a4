"""Running a prepared LLM job's event loop to its end, the same way for every job."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from lalm_bench.errors import LalmBenchError, first_line
from lalm_bench.llm.calls import is_fatal


def run_to_end(main: Callable[[], Coroutine[Any, Any, None]], unit: str) -> None:
    """``asyncio.run(main())``; a fatal LLM error (bad key, unreachable server, unknown model) becomes one
    line saying that the logs keep every finished ``unit`` and that rerunning resumes."""
    try:
        asyncio.run(main())
    except LalmBenchError as exc:
        if is_fatal(exc):
            raise LalmBenchError(f"{first_line(exc)} (the logs keep every finished {unit}; rerun to resume)") from exc
        raise
