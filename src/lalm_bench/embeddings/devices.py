"""Devices for embedding: ``--device auto|cpu|cuda|cuda:N|mps`` or a list of CUDA devices (one process each).
torch is imported only when an accelerator must be looked for."""

from __future__ import annotations

import re

from lalm_bench.errors import InputError


def resolve_device(device: str = "auto") -> str:
    """``auto`` → cuda, else mps, else cpu; an explicit accelerator that is absent is an error."""
    device = (device or "auto").strip().lower()
    if device == "cpu":  # no torch import: a warm-cache run never needs it
        return "cpu"
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device == "cpu":
        return "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: CUDA is not available on this machine (use --device cpu)")
        if ":" in device:
            idx = device.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise InputError(f"--device {device}: no such CUDA device ({torch.cuda.device_count()} found)")
        return device
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError("--device mps: MPS is not available on this machine (use --device cpu)")
        return "mps"
    raise InputError(f"--device {device}: unknown device (use auto, cpu, cuda, cuda:N or mps)")


_DEVICE_ITEM = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def parse_devices(spec: str, cuda_device_count: int | None = None) -> list[str]:
    """``auto``, ``cpu``, ``cuda``, ``mps``, ``cuda:N`` or a comma list of CUDA devices → device list.

    More than one device means encoding in a multi-process pool, one process per device. ``auto``
    takes every CUDA device when there are several. ``cuda_device_count`` defaults to torch's count.
    """
    raw = (spec or "auto").strip().lower()
    items = [s.strip() for s in raw.split(",")]
    if any(not s for s in items):
        raise InputError(f"--device {spec}: empty entry in the device list")
    bad = [s for s in items if s != "auto" and not _DEVICE_ITEM.match(s)]
    if bad:
        raise InputError(
            f"--device {spec}: unknown device {bad[0]!r} (use auto, cpu, cuda, cuda:N, mps, or cuda:0,cuda:1)"
        )
    if len(items) == 1 and items[0] != "auto" and not items[0].startswith("cuda"):
        return [resolve_device(items[0])]
    if cuda_device_count is None:
        import torch

        cuda_device_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if items == ["auto"]:
        if cuda_device_count > 1:
            return [f"cuda:{i}" for i in range(cuda_device_count)]
        return [resolve_device("auto")] if cuda_device_count == 0 else ["cuda"]
    if "auto" in items or (len(items) > 1 and any(not s.startswith("cuda") for s in items)):
        raise InputError(f"--device {spec}: a device list may only hold CUDA devices (cuda:0,cuda:1,...)")
    if cuda_device_count == 0:
        raise InputError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
    if len(items) == 1:
        item = items[0]
        if ":" in item and int(item.split(":")[1]) >= cuda_device_count:
            raise InputError(f"--device {spec}: no such CUDA device ({cuda_device_count} found)")
        return [item]
    if any(":" not in s for s in items):
        raise InputError(f"--device {spec}: name each device of a list with its index (cuda:0,cuda:1)")
    if len(set(items)) != len(items):
        raise InputError(f"--device {spec}: a device is listed twice")
    missing = [s for s in items if int(s.split(":")[1]) >= cuda_device_count]
    if missing:
        raise InputError(f"--device {spec}: no such CUDA device {missing[0]} ({cuda_device_count} found)")
    return items
