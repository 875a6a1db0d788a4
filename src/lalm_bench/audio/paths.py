"""Where audio may be read from: names resolved safely under a root, and only regular files opened (never a
FIFO or a device, which would block or stream without end)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from lalm_bench.errors import InputError
from lalm_bench.io import node_kind

_REFUSED = (
    "audio path {name!r} is not under the audio root {root} "
    "(absolute paths, '..' and links leading outside are refused)"
)


def resolve_under(root: Path, name: str, *, also_under: Sequence[Path] = ()) -> Path:
    """The file ``name`` under ``root``, with symlinks resolved; :class:`InputError` if it may lie outside.

    Refused, with one message that never says whether the outside target exists: absolute names, names
    whose ``..`` leave ``root``, and names that resolve (through symlinks) outside ``root`` and outside every
    folder in ``also_under`` (e.g. the ``blobs/`` folder a hub-cache snapshot's symlinks point into). The
    file itself need not exist: reading it reports that. The returned path is the resolved one, so the
    file read is the file checked.
    """
    text = os.fspath(name)
    refused = InputError(_REFUSED.format(name=text, root=root))
    norm = os.path.normpath(text) if text else ""
    if not text or "\x00" in text or os.path.isabs(text) or norm in (".", "..") or norm.startswith(".." + os.sep):
        raise refused
    try:
        base = Path(root).resolve()
        allowed = [base, *(Path(p).resolve() for p in also_under)]
        resolved = (base / text).resolve()  # the raw name: symlinks are followed before '..', as the OS does
    except (OSError, RuntimeError, ValueError):  # symlink loops, names the OS cannot take
        raise refused from None
    if resolved == base or not any(resolved.is_relative_to(p) for p in allowed):
        raise refused
    return resolved


def regular_file_problem(path: Path) -> str | None:
    """``None`` when ``path`` is a regular file (links followed); else why it cannot be read as one
    (``not found``, ``a FIFO, not a regular file`` ...). Nothing is opened."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    return f"{node_kind(mode)}, not a regular file"


@contextlib.contextmanager
def open_regular(path: Path, label: str) -> Iterator[BinaryIO]:
    """``path`` opened for reading when it is a regular file; :class:`InputError` ``LABEL (reason)`` otherwise.

    Only regular files are opened: a FIFO would block the open (and the worker) forever, a device could
    stream without end. The type is checked before opening and again on the open descriptor, and the open
    itself is non-blocking, so a node swapped for a FIFO in between cannot block either."""
    problem = regular_file_problem(path)
    if problem is not None:
        raise InputError(f"{label} ({problem})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"{label} ({exc.strerror or type(exc).__name__})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{label} ({node_kind(mode)}, not a regular file)")
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        try:
            yield fh
        except OSError as exc:
            raise InputError(f"{label} ({exc.strerror or type(exc).__name__})") from None
