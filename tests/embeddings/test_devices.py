"""Device-list parsing for multi-GPU encoding (only the argument handling can run here)."""

from __future__ import annotations

import pytest

from lalm_bench.embeddings.devices import parse_devices
from lalm_bench.errors import InputError


@pytest.mark.parametrize(
    ("spec", "count", "expected"),
    [
        ("auto", 0, ["cpu"]),
        ("auto", 1, ["cuda"]),
        ("auto", 3, ["cuda:0", "cuda:1", "cuda:2"]),
        ("cpu", 2, ["cpu"]),
        (" CPU ", 0, ["cpu"]),
        ("cuda", 1, ["cuda"]),
        ("cuda:1", 2, ["cuda:1"]),
        ("cuda:0,cuda:1", 2, ["cuda:0", "cuda:1"]),
        ("cuda:1, cuda:0", 4, ["cuda:1", "cuda:0"]),
    ],
)
def test_valid_device_specs(spec: str, count: int, expected: list[str]) -> None:
    assert parse_devices(spec, cuda_device_count=count) == expected


@pytest.mark.parametrize(
    ("spec", "count", "message"),
    [
        ("gpu", 2, "unknown device 'gpu'"),
        ("cuda:x", 2, "unknown device 'cuda:x'"),
        ("cuda:0,,cuda:1", 2, "empty entry"),
        ("cuda:0,", 2, "empty entry"),
        ("cuda:0,cpu", 2, "only hold CUDA devices"),
        ("auto,cuda:0", 2, "only hold CUDA devices"),
        ("cuda,cuda:1", 2, "with its index"),
        ("cuda:0,cuda:0", 2, "listed twice"),
        ("cuda:0,cuda:2", 2, "no such CUDA device cuda:2"),
        ("cuda:3", 2, "no such CUDA device"),
        ("cuda:0,cuda:1", 0, "CUDA is not available"),
        ("cuda", 0, "CUDA is not available"),
    ],
)
def test_bad_device_specs_are_one_line_errors(spec: str, count: int, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_devices(spec, cuda_device_count=count)
    assert "\n" not in str(err.value)


def test_this_machine() -> None:
    """Without a count, torch is asked: here (no GPU) a CUDA list is refused, auto is the CPU."""
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this check is for machines without CUDA")
    assert parse_devices("auto") == ["cpu"]
    with pytest.raises(InputError, match="CUDA is not available"):
        parse_devices("cuda:0,cuda:1")
