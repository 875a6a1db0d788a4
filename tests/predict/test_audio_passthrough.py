"""A plain 16-bit PCM WAV is sent as its own bytes: the same bytes, hashes and record as libsndfile's path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lalm_bench.audio import files
from lalm_bench.audio.conditions import build_condition_audio
from lalm_bench.audio.files import pcm16_wav_header, read_audio_head, wav_of_ints


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_the_plain_header_is_what_wav_of_ints_writes(channels, rate):
    ints = np.arange(-40 * channels, 40 * channels, dtype=np.int16).reshape(-1, channels)
    assert wav_of_ints(ints, rate) == pcm16_wav_header(len(ints), rate, channels) + ints.tobytes()


def _clips(tmp_path: Path) -> list[str]:
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "mono.wav", rng.uniform(-1, 1, 16000) * 1.2, 16000, subtype="PCM_16")  # clipped
    sf.write(tmp_path / "stereo.wav", rng.uniform(-0.5, 0.5, (8000, 2)), 22050, subtype="PCM_16")
    sf.write(tmp_path / "float.wav", rng.uniform(-0.5, 0.5, 4000).astype(np.float32), 16000, subtype="FLOAT")
    sf.write(tmp_path / "pcm24.wav", rng.uniform(-0.5, 0.5, 4000), 16000, subtype="PCM_24")
    sf.write(tmp_path / "flac.flac", rng.uniform(-0.5, 0.5, 4000), 16000, subtype="PCM_16")
    plain = (tmp_path / "mono.wav").read_bytes()
    (tmp_path / "trailing.wav").write_bytes(plain + b"LIST\x04\x00\x00\x00abcd")  # a chunk after the samples
    (tmp_path / "odd.wav").write_bytes(plain + b"\x00")
    return ["mono.wav", "stereo.wav", "float.wav", "pcm24.wav", "flac.flac", "trailing.wav", "odd.wav"]


def _built(tmp_path, names, **kw):
    out = []
    for cond in ("audio", "noise", "silence", "head:0.1", "reversed"):
        for i, name in enumerate(names):
            parts, sent = build_condition_audio(cond, name, root=tmp_path, seed=3, item_id=f"i{i}", **kw)
            out.append(([p.data for p in parts], [p.sha256 for p in parts], [s.model_dump() for s in sent]))
    return out


@pytest.mark.parametrize("kw", [{}, {"max_seconds": 0.25}, {"sample_rate": 16000}])
def test_sent_bytes_and_records_match_libsndfiles_path(tmp_path, monkeypatch, kw):
    names = _clips(tmp_path)
    fast = _built(tmp_path, names, **kw)
    monkeypatch.setattr(files, "WHOLE_READ_MAX_BYTES", -1)  # every file hashed in chunks, decoded by libsndfile
    slow = _built(tmp_path, names, **kw)
    assert fast == slow
    for data, digests, records in fast:
        for d, h, r in zip(data, digests, records, strict=True):
            assert h == r["sha256"] and r["size_bytes"] == len(d)


def test_only_a_whole_plain_file_is_passed_through(tmp_path):
    _clips(tmp_path)
    head = read_audio_head(tmp_path / "mono.wav")
    assert head.wav == (tmp_path / "mono.wav").read_bytes() and head.format == "WAV"
    assert read_audio_head(tmp_path / "mono.wav", 0.5).wav is None  # truncated: re-encoded
    for name in ("trailing.wav", "odd.wav", "pcm24.wav", "float.wav", "flac.flac"):
        assert read_audio_head(tmp_path / name).wav is None


def test_a_real_clip_is_sent_as_libsndfile_would(shared_data, tmp_path, monkeypatch):
    root = shared_data / "clotho" / "audio" / "evaluation"
    names = sorted(p.name for p in root.glob("*.wav"))[:3]
    if not names:
        pytest.skip("no Clotho clips")
    fast = [build_condition_audio("audio", n, root=root, seed=0, item_id=n, max_seconds=5)[1] for n in names]
    monkeypatch.setattr(files, "WHOLE_READ_MAX_BYTES", -1)
    slow = [build_condition_audio("audio", n, root=root, seed=0, item_id=n, max_seconds=5)[1] for n in names]
    assert fast == slow
