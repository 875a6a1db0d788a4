"""Run manifests: what produced an output (tool, model, parameters, input hashes, time)."""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lalm_bench import __version__
from lalm_bench.io import sha256_file

#: The seed of every job's random choices unless ``--seed`` says otherwise (the original scripts' 42).
DEFAULT_SEED = 42


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def input_record(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    return {"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size}


def build_manifest(
    command: str,
    parameters: dict[str, Any],
    inputs: list[str | Path] | None = None,
    model: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A manifest dict for the ``manifest`` key of an output or a ``run.json`` file."""
    manifest: dict[str, Any] = {
        "tool": "lalm-bench",
        "tool_version": __version__,
        "command": command,
        "created_utc": utc_now(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "parameters": parameters,
        "inputs": [input_record(p) for p in inputs or []],
    }
    if model is not None:
        manifest["model"] = model
    manifest.update(extra)
    return manifest


def config_parameters(config: Any) -> dict[str, Any]:
    """A job config (a dataclass, maybe nesting option groups) as plain JSON values for a manifest."""
    import dataclasses

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return plain(dataclasses.asdict(config))
