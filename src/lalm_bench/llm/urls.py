"""Small helpers: URLs safe to record in manifests."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_QUERY = re.compile(r"key|token|secret|sig|password|auth", re.IGNORECASE)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL (scheme, host, port), or ``None``; never echoes credentials."""
    try:
        parts = urlsplit(str(url))
    except ValueError as exc:  # an unbalanced [ in the host
        return f"it is not a URL ({exc})"
    port = _port_text(parts.netloc)
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"its port {port[:20]!r} is not a number from 1 to 65535"
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    return None


def _port_text(netloc: str) -> str | None:
    """The port as written in ``netloc`` (credentials and IPv6 brackets skipped), or ``None``."""
    host = netloc.rsplit("@", 1)[-1]
    tail = host.rsplit("]", 1)[-1] if host.startswith("[") else host
    return tail.rsplit(":", 1)[-1] if ":" in tail else None


def redact_url(url: str | None) -> str | None:
    """``url`` without credentials: user:password dropped, secret-looking query values masked."""
    if not url:
        return url
    return _redacted(str(url))


@functools.lru_cache(maxsize=256)  # asked for every request (cache key, record) of a few servers' URLs
def _redacted(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    port = _port_text(parts.netloc)  # as written: an invalid one is shown, not raised
    if port is not None:
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [(k, "***" if _SECRET_QUERY.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def is_local_url(url: str | None) -> bool:
    """Whether ``url`` points at this machine (a local vLLM/llama.cpp server needs no real key)."""
    if not url:
        return False
    host = (urlsplit(str(url)).hostname or "").lower()
    return host in _LOCAL_HOSTS or host.startswith("127.")
