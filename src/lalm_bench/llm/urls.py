"""Small helpers: URLs safe to record in manifests."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_QUERY = re.compile(r"key|token|secret|sig|password|auth", re.IGNORECASE)
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def redact_url(url: str | None) -> str | None:
    """``url`` without credentials: user:password dropped, secret-looking query values masked."""
    if not url:
        return url
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
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
