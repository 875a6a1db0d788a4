"""User-facing errors: raised by the library, printed by the CLI as one line."""

from __future__ import annotations


class LalmBenchError(Exception):
    """An error the user can fix (bad input, missing model, ...). The CLI prints it as one line."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class InputError(LalmBenchError):
    """A bad input file or argument."""


class ModelLoadError(LalmBenchError):
    """A model that cannot be loaded."""


class OutputExistsError(LalmBenchError):
    """An output file exists and ``--overwrite`` was not given."""


class RunLockedError(LalmBenchError):
    """Another process is writing the same run."""


class AllFailedError(LalmBenchError):
    """Every item of a run failed: the outputs hold only failures (exit status 3)."""

    exit_code = 3


#: What the CLI adds to "interrupted" on Ctrl-C; set by jobs that resume (see :func:`resumable`).
_interrupt_hint: list[str] = []


def resumable(hint: str = "rerun the same command to resume") -> None:
    """Mark the running command as resumable: an interruption is then reported with ``hint``."""
    _interrupt_hint[:] = [hint]


def interrupt_message() -> str:
    return "interrupted" + (f"; {_interrupt_hint[0]}" if _interrupt_hint else "")


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, for one-line error reports."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def item_error(exc: BaseException) -> str:
    """One line for a failure recorded against one item: a user error's message as it is, anything else
    (``MemoryError``, an unexpected library error) with its type, so that it reads as what it is."""
    if isinstance(exc, LalmBenchError):
        return first_line(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError) while preparing this item"
    text = first_line(exc)
    name = type(exc).__name__
    return name if text == name else f"{name}: {text}"
