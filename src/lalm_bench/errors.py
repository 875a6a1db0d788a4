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


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message, for one-line error reports."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
