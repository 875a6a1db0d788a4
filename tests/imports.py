"""What a CLI command imports: the real entry point in a fresh interpreter, then which modules it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence

_PROBE = """
import json, sys
modules = json.loads(sys.argv.pop(1))
from lalm_bench.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps({"code": code, "imported": [m for m in modules if m in sys.modules]}))
"""


def cli_imports(args: Sequence[object], modules: Sequence[str], env: dict[str, str] | None = None) -> dict:
    """Run ``lalm-bench ARGS`` in a fresh process (``HF_HUB_OFFLINE=1`` and ``env`` added to the environment);
    its exit code and which of ``modules`` it imported: ``{"code": ..., "imported": [...]}``."""
    full = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    cmd = [sys.executable, "-c", _PROBE, json.dumps(list(modules)), *map(str, args)]
    run = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
