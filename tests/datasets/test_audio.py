"""Audio reading, encoding, resampling, truncation and safe paths, on the real Clotho clips and files made here."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lalm_bench.audio.files import (
    Audio,
    decode_audio_bytes,
    encode_wav,
    read_audio,
    read_audio_part,
    resample,
    truncate,
)
from lalm_bench.audio.paths import resolve_under
from lalm_bench.errors import InputError

CLOTHO_CLIPS = [
    "Blade Big.wav",
    "Radio Fuzz for Old Radio Broadcast FF233.wav",
    "Radio Garble.wav",
    "Santa Motor.wav",
    "toy rattle 2.wav",
]


@pytest.fixture(scope="module")
def clotho_audio(shared_data: Path) -> Path:
    return shared_data / "clotho" / "audio" / "evaluation"


def _tone(seconds: float = 1.0, rate: int = 22050, channels: int = 2) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    cols = [0.3 * np.sin(2 * np.pi * (440 + 110 * c) * t) for c in range(channels)]
    return Audio(np.stack(cols, axis=1).astype(np.float32), rate)


@pytest.mark.parametrize("name", CLOTHO_CLIPS)
def test_real_clip_reads_and_round_trips_through_encode_wav_sample_for_sample(clotho_audio, name):
    path = clotho_audio / name
    audio = read_audio(path)
    info = sf.info(str(path))
    assert (audio.sample_rate, audio.channels, audio.frames) == (44100, 1, info.frames)
    assert 19 <= audio.seconds <= 26 and audio.samples.dtype == np.float32
    assert 0.02 < audio.rms < 0.1
    data = encode_wav(audio)
    assert data == encode_wav(audio)  # deterministic
    back = decode_audio_bytes(data)
    np.testing.assert_array_equal(back.samples, audio.samples)  # 16-bit PCM survives exactly
    assert back.sample_rate == 44100


def test_encode_wav_subtypes_are_exact_on_their_grid_and_clip_at_full_scale():
    audio = _tone(0.1, 8000, 2)
    for subtype in ("PCM_16", "PCM_24", "PCM_32"):
        data = encode_wav(audio, subtype)
        assert data == encode_wav(audio, subtype)
        with sf.SoundFile(io.BytesIO(data)) as f:
            assert (f.format, f.subtype, f.channels, f.samplerate) == ("WAV", subtype, 2, 8000)
        np.testing.assert_allclose(decode_audio_bytes(data).samples, audio.samples, atol=1 / 32768)
    loud = Audio(np.array([[2.0], [-2.0], [0.5], [1.0]], np.float32), 8000)
    ints, _ = sf.read(io.BytesIO(encode_wav(loud)), dtype="int16")
    assert ints.tolist() == [32767, -32768, 16384, 32767]
    with pytest.raises(ValueError, match="unsupported WAV subtype"):
        encode_wav(audio, "FLOAT")  # libsndfile time-stamps float WAVs: not deterministic


@pytest.mark.parametrize(
    ("fmt", "subtype", "ext"), [("FLAC", "PCM_16", "flac"), ("OGG", "VORBIS", "ogg"), ("MP3", "MPEG_LAYER_III", "mp3")]
)
def test_flac_ogg_mp3_are_read_and_parts_keep_mp3_and_reencode_the_rest(tmp_path, fmt, subtype, ext):
    tone = _tone(1.0, 22050, 2)
    path = tmp_path / f"tone.{ext}"
    sf.write(path, tone.samples, tone.sample_rate, format=fmt, subtype=subtype)
    audio = read_audio(path)
    assert (audio.sample_rate, audio.channels) == (22050, 2)
    assert abs(audio.seconds - 1.0) < 0.1  # lossy codecs may pad
    assert abs(audio.rms - tone.rms) < 0.02
    part = read_audio_part(path)
    if fmt == "MP3":
        assert part.format == "mp3" and part.data == path.read_bytes()
    else:
        assert part.format == "wav" and part.data[:4] == b"RIFF"
        assert decode_audio_bytes(part.data).frames == audio.frames


def test_audio_part_sends_wav_bytes_unchanged_and_goes_by_content_not_name(tmp_path, clotho_audio):
    path = clotho_audio / "Radio Garble.wav"
    part = read_audio_part(path)
    assert part.format == "wav" and part.data == path.read_bytes()
    tone = _tone(0.5, 16000, 1)
    disguised = tmp_path / "really_flac.wav"
    sf.write(disguised, tone.samples, 16000, format="FLAC")
    part = read_audio_part(disguised)
    assert part.format == "wav" and part.data[:4] == b"RIFF"
    np.testing.assert_array_equal(decode_audio_bytes(part.data).samples, read_audio(disguised).samples)


def test_bad_files_give_one_line_input_errors(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\nat all\n")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    cases = {
        text: "format not recognised",
        empty: "empty file",
        tmp_path / "missing.wav": "not found",
        tmp_path: "a directory",
        header_only: "unreadable audio file",
    }
    for path, reason in cases.items():
        with pytest.raises(InputError) as exc:
            read_audio(path)
        msg = str(exc.value)
        assert "\n" not in msg and msg.startswith(f"unreadable audio file {path} (") and reason in msg
        with pytest.raises(InputError):
            read_audio_part(path)
    with pytest.raises(InputError, match=r"^undecodable audio bytes \(format not recognised"):
        decode_audio_bytes(b"plain text, no audio")


def test_resample_changes_rate_keeps_duration_and_channels(clotho_audio):
    audio = read_audio(clotho_audio / "toy rattle 2.wav")
    low = resample(audio, 16000)
    assert low.sample_rate == 16000 and low.channels == 1
    assert abs(low.seconds - audio.seconds) <= 1 / 16000
    # a rattle is mostly above 8 kHz, so its RMS drops at 16 kHz; a tone below Nyquist keeps its level
    assert resample(audio, 44100) is audio
    tone = _tone(1.0, 22050, 2)
    stereo = resample(tone, 48000)
    assert (stereo.sample_rate, stereo.channels, stereo.frames) == (48000, 2, 48000)
    assert abs(stereo.rms / tone.rms - 1) < 0.01
    with pytest.raises(InputError):
        resample(audio, 0)


def test_truncate_cuts_to_whole_frames_and_says_so():
    audio = _tone(2.0, 8000, 1)
    cut, was_cut = truncate(audio, 0.5)
    assert was_cut and cut.frames == 4000 and cut.seconds == 0.5
    np.testing.assert_array_equal(cut.samples, audio.samples[:4000])
    same, was_cut = truncate(audio, 30.0)
    assert not was_cut and same is audio
    assert truncate(audio, None) == (audio, False)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError):
            truncate(audio, bad)


def test_audio_properties():
    a = Audio(np.array([3.0, -4.0], np.float32) / 10, 2)  # 1-D: one channel
    assert (a.frames, a.channels, a.seconds) == (2, 1, 1.0)
    assert a.rms == pytest.approx(np.sqrt((0.09 + 0.16) / 2))
    assert Audio(np.zeros((0, 2), np.float32), 8000).rms == 0.0
    with pytest.raises(ValueError):
        Audio(np.zeros((2, 2, 2)), 8000)


# --- resolve_under -------------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp/d1/d2/root`` with nested files, and ``tmp/d1`` outside it holding ``secret.wav``."""
    outside = tmp_path / "d1"
    root = outside / "d2" / "root"
    (root / "sub dir").mkdir(parents=True)
    (outside / "secret.wav").write_bytes(b"secret")
    return root, outside


def _refusal(root: Path, name: str, **kw) -> str:
    with pytest.raises(InputError) as exc:
        resolve_under(root, name, **kw)
    msg = str(exc.value)
    assert "\n" not in msg and "is not under the audio root" in msg
    return msg


def test_resolve_under_accepts_nested_names_with_spaces_commas_and_entities(tree):
    root, _ = tree
    names = ["a.wav", "sub dir/Rain, heavy &amp; wind.wav", "sub dir/../a.wav", "not-yet-there.wav", "x..y.wav"]
    for name in names[:2]:
        (root / name).write_bytes(b"x")
    assert resolve_under(root, names[0]) == (root / "a.wav").resolve()
    assert resolve_under(root, names[1]) == (root / names[1]).resolve()
    assert resolve_under(root, names[2]) == (root / "a.wav").resolve()
    assert resolve_under(root, names[3]) == root.resolve() / "not-yet-there.wav"  # reading it reports the miss
    assert resolve_under(root, names[4]).name == "x..y.wav"
    inner = root / "sub dir" / "link.wav"
    inner.symlink_to(root / "a.wav")
    assert resolve_under(root, "sub dir/link.wav") == (root / "a.wav").resolve()


def test_resolve_under_refuses_escapes_with_one_message_whether_or_not_the_target_exists(tree):
    root, outside = tree
    secret = outside / "secret.wav"
    (root / "link.wav").symlink_to(secret)
    (root / "dirlink").symlink_to(outside)
    (root / "deep").symlink_to(outside / "d2")  # 'deep/../secret.wav' is outside once the link is followed
    names = ["../../secret.wav", str(secret), "link.wav", "dirlink/secret.wav", "deep/../secret.wav"]
    before = {name: _refusal(root, name) for name in names}
    secret.unlink()
    after = {name: _refusal(root, name) for name in names}
    assert before == after
    assert "secret" not in before["link.wav"]  # never the resolved target
    for name in ["", ".", "..", "/", "sub dir/../../x.wav", "a\x00.wav"]:
        _refusal(root, name)


def test_resolve_under_symlink_loop_and_also_under(tree):
    root, outside = tree
    (root / "loop.wav").symlink_to(root / "loop.wav")
    _refusal(root, "loop.wav")
    blobs = outside / "blobs"
    blobs.mkdir()
    (blobs / "abc123").write_bytes(b"x")
    (root / "clip.wav").symlink_to(blobs / "abc123")  # the hub-cache layout: snapshot files link into blobs/
    _refusal(root, "clip.wav")
    assert resolve_under(root, "clip.wav", also_under=[blobs]) == (blobs / "abc123").resolve()
    _refusal(root, "../blobs/abc123", also_under=[blobs])  # the name itself must stay under root


def test_resolve_under_through_a_symlinked_root_reads_the_real_clip(shared_data):
    root = shared_data / "clotho" / "audio" / "evaluation"  # ../shared/data is itself a symlink in worktrees
    path = resolve_under(root, "Santa Motor.wav")
    assert path.is_file() and read_audio(path).sample_rate == 44100
    _refusal(root, "../../../README.md")
    assert os.path.isabs(path)
