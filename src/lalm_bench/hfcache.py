"""The Hugging Face hub cache as ``snapshot_download`` lays it out; shared by datasets and embeddings.

``<cache>/<type>s--<owner>--<name>/refs/<branch>`` holds a commit hash and ``snapshots/<commit>/``
the files. Nothing here imports ``huggingface_hub``: reading the layout needs only the file system.
A ref is trusted only as a commit hash, so a crafted ref can never point outside the cache.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from lalm_bench.errors import InputError

COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def hub_cache_dir() -> Path:
    """``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub`` (honouring XDG)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def repo_folder(repo_id: str, repo_type: str = "model", cache_dir: str | Path | None = None) -> Path:
    """``<cache>/<repo_type>s--<owner>--<name>`` (it may not exist)."""
    cache = Path(cache_dir).expanduser() if cache_dir else hub_cache_dir()
    return cache / f"{repo_type}s--{repo_id.replace('/', '--')}"


def check_revision_name(revision: str) -> str:
    """A commit hash, branch or tag name; anything that could walk out of ``refs/`` is refused."""
    if COMMIT.match(revision) or (_REF_NAME.match(revision) and ".." not in revision.split("/")):
        return revision
    raise InputError(f"revision {revision!r} is not a commit hash, branch or tag name")


def read_ref(folder: Path, name: str) -> str | None:
    """The commit ``refs/<name>`` of a cached repo names; ``None`` if there is no such ref.

    A ref file that does not hold a 40-character commit hash is an error, never followed."""
    ref = folder / "refs" / check_revision_name(name)
    if not ref.is_file():
        return None
    try:
        value = ref.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        value = ""
    if not COMMIT.match(value):
        raise InputError(f"{ref}: does not hold a commit hash; the hub cache is damaged (download again)")
    return value


def cached_revision(repo_id: str, revision: str | None, repo_type: str = "model") -> str | None:
    """The commit a cached repo's ``revision`` (default ``main``) points to, if cached."""
    if revision and COMMIT.match(revision):
        return revision
    return read_ref(repo_folder(repo_id, repo_type), revision or "main")


DEFAULT_ENDPOINT = "https://huggingface.co"
#: Seconds to wait for the hub (or the proxy in front of it) to accept a connection.
PROBE_TIMEOUT_S = 3.0


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids every download."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_unreachable() -> str | None:
    """Why the hub cannot be reached from here (``None`` when a connection opens), asked once per process.

    One TCP connection to the endpoint's host, or to the proxy that ``HTTPS_PROXY``/``HTTP_PROXY``
    names, within :data:`PROBE_TIMEOUT_S`: no request is sent. A machine without network answers at
    once (no DNS) or after the timeout, instead of a client retrying for minutes."""
    return _probe(hub_endpoint(), _proxy_for(hub_endpoint()))


def _proxy_for(endpoint: str) -> str | None:
    from urllib.parse import urlsplit
    from urllib.request import getproxies, proxy_bypass

    host = urlsplit(endpoint).hostname or ""
    try:
        if host and proxy_bypass(host):
            return None
    except OSError:
        pass
    return getproxies().get(urlsplit(endpoint).scheme or "https")


@functools.lru_cache(maxsize=8)
def _probe(endpoint: str, proxy: str | None) -> str | None:
    import socket
    from urllib.parse import urlsplit

    target = urlsplit(proxy if proxy else endpoint)
    host = target.hostname
    try:
        port = target.port or (443 if target.scheme == "https" else 80)
    except ValueError:
        return f"{endpoint} has an invalid port"
    if not host:
        return f"{endpoint} names no host"
    via = f" (through the proxy {host}:{port})" if proxy else ""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return None
    except socket.gaierror:
        return f"{endpoint}{via}: the host name does not resolve (no network?)"
    except TimeoutError:
        return f"{endpoint}{via}: no answer within {PROBE_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"{endpoint}{via}: {exc.strerror or type(exc).__name__}"
