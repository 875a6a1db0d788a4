"""User-facing errors: raised by the library, printed by the CLI as one line; and the one scrub of
credentials applied to everything written (error lines, logs, JSON, tables)."""

from __future__ import annotations

import base64
import functools
import re
from typing import Any


class LalmBenchError(Exception):
    """An error the user can fix (bad input, missing model, ...). The CLI prints it as one line,
    without credentials (:func:`redact`)."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        super().__init__(redact(" ".join(str(message).split())))


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


# ---- credentials: never written anywhere ------------------------------------------------------------
#: The credentials this process was given (API keys, URL passwords and their Basic-auth forms, key-like
#: provider options): replaced by ``***`` wherever they appear in what is written.
_SECRETS: set[str] = set()
_MIN_SECRET = 8  # shorter values would mask ordinary words in captions and replies
# an HTTP credential: the scheme as headers write it, then a value that looks like one (a digit, base64
# symbols, or a case change inside the word), so that prose ("prompt-token counts", "Basic information")
# in model answers is never altered
_AUTH_HEADER = re.compile(
    r"\b(Basic|basic)(\s+|%20)(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))([A-Za-z0-9+/]{6,}={0,2})(?![\w-])"
    r"|\b(Bearer|Token|bearer)(\s+|%20)(?=[A-Za-z0-9._~+/=-]*[0-9+/=])([A-Za-z0-9._~+/=-]{6,})"
)
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@\"'<>]+@")
_SECRET_NAME = (
    r"api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|id[_-]?token|token|secret|"
    r"client[_-]?secret|password|passwd|authorization|x-api-key|sig|signature|key"
)
_URL_QUERY_SECRET = re.compile(rf"([?&](?:{_SECRET_NAME})=)[^&#\s\"'<>]+", re.IGNORECASE)
_JSON_SECRET = re.compile(
    rf"""(["']?(?:{_SECRET_NAME.replace("|sig|signature|key", "")})["']?\s*[:=]\s*["'])[^"']+""", re.IGNORECASE
)
#: Every name :data:`_JSON_SECRET` matches holds one of these (lower case).
_JSON_SECRET_WORDS = ("key", "token", "secret", "passw", "authorization")  # spelled out again in redact()
#: Option and header names whose values are credentials (compared without case, ``-`` read as ``_``).
SECRET_KEYS = frozenset(
    {
        "api_key", "apikey", "x_api_key", "token", "access_token", "auth_token", "bearer_token",
        "refresh_token", "id_token", "authorization", "auth", "password", "passwd", "pwd", "secret",
        "client_secret", "secret_key", "access_key", "private_key", "credentials", "session_token",
    }
)  # fmt: skip


def is_secret_key(name: object) -> bool:
    """Whether an option, header or field called ``name`` holds a credential."""
    return isinstance(name, str) and _is_secret_name(name)


@functools.lru_cache(maxsize=4096)  # asked for every key of every record written: few distinct names
def _is_secret_name(name: str) -> bool:
    key = name.strip().lower().replace("-", "_")
    return key in SECRET_KEYS or key.endswith(("_api_key", "_token", "_secret", "_password"))


def register_secret(*values: object) -> None:
    """Remember credentials so that :func:`redact` removes them (and their Basic-auth base64) everywhere."""
    for value in values:
        if isinstance(value, str) and len(value) >= _MIN_SECRET:
            _SECRETS.add(value)


def register_url_credentials(url: str | None) -> None:
    """The ``user:password@`` of ``url`` (as sent in HTTP Basic auth) and its secret query values."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    if not url:
        return
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        for pair in {userinfo, f"{unquote(user)}:{unquote(password)}"}:
            register_secret(pair, base64.b64encode(pair.encode()).decode())
        register_secret(password, unquote(password))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_key(name) or _URL_QUERY_SECRET.search(f"?{name}=x"):
            register_secret(value)


def register_option_secrets(options: Any) -> None:
    """Every value under a key-like name (``api_key``, ``token``, ...) in nested provider options."""
    if isinstance(options, dict):
        for k, v in options.items():
            if is_secret_key(k):
                if isinstance(v, str):
                    register_secret(v)
                else:
                    _register_strings(v)
            else:
                register_option_secrets(v)
    elif isinstance(options, (list, tuple)):
        for v in options:
            register_option_secrets(v)


def _register_strings(value: Any) -> None:
    if isinstance(value, str):
        register_secret(value)
    elif isinstance(value, dict):
        for v in value.values():
            _register_strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _register_strings(v)


def redact(text: str) -> str:
    """``text`` without credentials: every registered secret, ``Basic``/``Bearer`` header values, URL
    passwords, secret query values and ``"api_key": "..."``-like pairs become ``***``."""
    if not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    if "://" in text:
        text = _URL_USERINFO.sub(r"\1***@", text)
        text = _URL_QUERY_SECRET.sub(r"\1***", text)
    # The patterns run only where their words occur (they cost ~0.5 ms per row of a table otherwise).
    low = text.lower()
    if "basic" in low or "bearer" in low or "token" in low:
        text = _AUTH_HEADER.sub(lambda m: f"{m.group(1) or m.group(4)}{m.group(2) or m.group(5)}***", text)
    # spelled out (_JSON_SECRET_WORDS), not any(... for ...): every string of every record written comes here
    if "key" in low or "token" in low or "secret" in low or "passw" in low or "authorization" in low:
        text = _JSON_SECRET.sub(r"\1***", text)
    return text


def redact_value(value: Any) -> Any:
    """``value`` (JSON-like) with :func:`redact` applied to its strings and key-like fields masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: ("***" if is_secret_key(k) and v not in (None, "") else redact_value(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value
