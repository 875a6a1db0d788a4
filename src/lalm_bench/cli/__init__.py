"""Command-line interface: one entry point, subcommands; it only parses and calls the library.

Each command lives in its own module, which registers it on the one Typer app (``cli/root.py``) when
imported. A run imports only the module of the command it names (``lalm-bench similarity …`` never
loads predict's or rubrics' modules); the top-level help, an unknown name and ``app`` load them all.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["COMMANDS", "app", "load_commands", "main"]

INTERRUPTED = 130

#: command name → the module of ``lalm_bench.cli`` that registers it, in the order the help lists them
COMMANDS = {
    "accuracy": "accuracy",
    "cache": "cache",
    "clotho-refs": "clotho_refs",
    "data": "data",
    "demo": "demo",
    "predict": "predict",
    "report": "report",
    "rubrics": "rubrics",
    "similarity": "similarity",
}


def load_commands(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the command ``argv`` names registered, or every command when it names none."""
    from lalm_bench.cli.root import app as root_app

    name = argv[0] if argv else None
    for module in [COMMANDS[name]] if name in COMMANDS else COMMANDS.values():
        importlib.import_module(f"lalm_bench.cli.{module}")
    return root_app


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole CLI, for tools that walk it (tests, docs)
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback.

    Ctrl-C ends with one line and exit status 130 (typer turns the KeyboardInterrupt into an exit
    code, which in non-standalone mode it returns instead of raising)."""
    from lalm_bench.errors import LalmBenchError, interrupt_message

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = load_commands(args)(args=args, prog_name="lalm-bench", standalone_mode=False)
    except LalmBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        code = INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        _unexpected(exc)
    if code == INTERRUPTED:
        import warnings

        # Requests cut off mid-connect leave coroutines that were never awaited; their warning at
        # exit would be a second line after the one an interruption prints.
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
        print(interrupt_message(), file=sys.stderr)
        _exit_now_if_threads_hang(INTERRUPTED)
        sys.exit(INTERRUPTED)
    if isinstance(code, int) and code:
        sys.exit(code)


def _exit_now_if_threads_hang(code: int, grace_s: float = 1.0) -> None:
    """Exit at once when a worker thread is still running after an interruption.

    Python waits for every non-daemon thread at exit, and a worker blocked in I/O (a FIFO, a hung
    mount) may never return: Ctrl-C must still end the command. Every record and output that counts
    has been written and closed by now; the worker's task was cancelled, so nothing of it is kept."""
    import threading
    import time

    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _unexpected(exc: Exception) -> None:
    # Typer vendors its own click: recognise click's exceptions by their interface.
    name = type(exc).__name__
    if name == "Exit":
        sys.exit(getattr(exc, "exit_code", 0))
    if name == "Abort":
        print("aborted", file=sys.stderr)
        sys.exit(1)
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    if os.environ.get("LALM_BENCH_DEBUG"):
        raise exc
    from lalm_bench.errors import redact

    msg = redact(str(exc).splitlines()[0]) if str(exc).strip() else ""
    print(f"error: unexpected {type(exc).__name__}: {msg} (set LALM_BENCH_DEBUG=1 for a traceback)", file=sys.stderr)
    sys.exit(1)
