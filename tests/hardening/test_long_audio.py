"""Issue 19, item 7: one long clip must not stop a run. Only the frames sent are decoded (memory follows
``--max-audio-seconds``, not the file's length), and a per-item failure of any kind, ``MemoryError``
included, is a failed item."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.hardening.helpers import run_cli_subprocess
from tests.predict.helpers import write_jsonl, write_wav

# The CLI, reporting its peak resident memory on its last stderr line.
PEAK_ENTRY = """
import resource, sys
from lalm_bench.cli import main
try:
    main(sys.argv[1:])
finally:
    print("maxrss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""

# The CLI with its address space capped at 1 GiB above what it holds once its libraries are loaded: an
# item that needs more gets a real MemoryError.
CAPPED_ENTRY = """
import resource, sys
import numpy, pandas, pyarrow, soundfile, scipy.signal  # loaded before the cap
from lalm_bench.cli import main
vm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, ((vm_kb + 1024 * 1024) * 1024, resource.RLIM_INFINITY))
main(sys.argv[1:])
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB and /proc: Linux")


def _long_wav(path: Path, minutes: int, rate: int = 8000) -> Path:
    """``minutes`` of sparse clicks at ``rate`` Hz, 16-bit mono, written a minute at a time."""
    block = np.zeros(rate * 60, dtype=np.float32)
    block[::97] = 0.25
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as f:
        for _ in range(minutes):
            f.write(block)
    return path


def _peak_kb(folder: Path, clip: str, name: str) -> tuple[int, pd.DataFrame]:
    bench = write_jsonl(folder / f"{name}.jsonl", [{"id": name, "audio_path": clip, "question": "Q?"}])
    res = run_cli_subprocess(
        "predict", "--benchmark", bench, "--model", "mock/echo", "-o", folder / f"{name}.parquet",
        "--condition", "audio,noise", "--max-audio-seconds", "5", "--quiet",
        cwd=folder, entry=PEAK_ENTRY, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    last = res.stderr.strip().splitlines()[-1].split()
    assert last[0] == "maxrss_kb"
    return int(last[1]), pd.read_parquet(folder / f"{name}_noise.parquet")


def test_a_one_hour_clip_costs_the_memory_of_the_seconds_sent(tmp_path):
    long = _long_wav(tmp_path / "long.wav", 60)  # 1 h: 28.8 M samples, 115 MB as float32
    write_wav(tmp_path / "short.wav", 10, rate=8000)
    short_kb, _ = _peak_kb(tmp_path, "short.wav", "short")
    long_kb, df = _peak_kb(tmp_path, "long.wav", "long")
    # Decoding the whole clip (and building its noise) took about 370 MB more here; decoding only the
    # 5 s sent takes what the short clip takes (hashing the file reads it 1 MiB at a time).
    assert long_kb - short_kb < 40 * 1024, (short_kb, long_kb)
    row = df.iloc[0]
    assert row["audio_original_seconds"] == 3600.0 and row["audio_seconds"] == 5.0 and row["audio_truncated"]
    (sent,) = json.loads(row["audio_sent"])
    assert sent["frames"] == 40_000 and sent["source_sha256"] == hashlib.sha256(long.read_bytes()).hexdigest()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_memory_error_fails_its_item_and_the_run_goes_on(tmp_path):
    _long_wav(tmp_path / "ten.wav", 10)
    write_wav(tmp_path / "short.wav", 1, rate=8000)
    bench = write_jsonl(
        tmp_path / "b.jsonl",
        [{"id": "big", "audio_path": "ten.wav", "question": "Q?"}, {"id": "small", "audio_path": "short.wav",
                                                                   "question": "Q?"}],
    )  # fmt: skip
    args = ["predict", "--benchmark", bench, "--model", "mock/echo", "-o", tmp_path / "p.parquet", "--quiet",
            "--sample-rate", "384000"]  # fmt: skip
    # 10 min at 8 kHz resampled to 384 kHz: 230 M samples, several GB in float64; more than the cap
    res = run_cli_subprocess(*args, cwd=tmp_path, entry=CAPPED_ENTRY, timeout=300)
    assert res.returncode == 0, res.stderr
    df = pd.read_parquet(tmp_path / "p_audio.parquet").set_index("id")
    assert df.loc["big", "error"] == "out of memory (MemoryError) while preparing this item"
    assert pd.isna(df.loc["big", "model_output"])
    assert pd.isna(df.loc["small", "error"]) and df.loc["small", "model_output"]
    # the rerun asks nothing again and ends the same way (no crash at the same item)
    again = run_cli_subprocess(*args, cwd=tmp_path, entry=CAPPED_ENTRY, timeout=300)
    assert again.returncode == 0, again.stderr
