"""Reading, checking and writing audio: decoding, resampling, truncation, WAV encoding (safe paths and
regular-file opening: :mod:`lalm_bench.audio.paths`).

Decoding goes through ``soundfile`` (libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3 and the other formats
it knows), by content, not by file name. Samples are float32 in ``[-1, 1)`` with shape
``(frames, channels)``; integer PCM is scaled by ``2**(bits-1)``, so a 16-bit file round-trips through
:func:`read_audio` and :func:`encode_wav` sample for sample.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from lalm_bench.audio.paths import open_regular
from lalm_bench.errors import InputError

#: Full-scale integer ranges of the WAV subtypes :func:`encode_wav` writes (``FLOAT`` is left out: libsndfile
#: stamps float WAVs with the time of writing, so the same samples would not give the same bytes).
PCM_SUBTYPES: dict[str, tuple[int, int, int]] = {  # subtype -> (scale, min, max) of the integer samples
    "PCM_16": (2**15, -(2**15), 2**15 - 1),
    "PCM_24": (2**23, -(2**23), 2**23 - 1),
    "PCM_32": (2**31, -(2**31), 2**31 - 1),
}
_EXPECTED = "WAV, FLAC, OGG or MP3 expected"


@dataclass(frozen=True, eq=False)
class Audio:
    """Decoded audio: float32 ``samples`` of shape ``(frames, channels)`` at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples.reshape(-1, 1)
        if samples.ndim != 2 or samples.shape[1] < 1:
            raise ValueError(f"audio samples must have shape (frames, channels), got {samples.shape}")
        if int(self.sample_rate) <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def rms(self) -> float:
        """Root mean square over all samples of all channels (0.0 for no samples)."""
        if self.samples.size == 0:
            return 0.0
        return float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))


def _reason(exc: BaseException) -> str:
    reason = str(getattr(exc, "error_string", "") or exc).strip().rstrip(".")
    if reason.lower().startswith("format not recognised"):
        reason = f"format not recognised; {_EXPECTED}"
    return reason or type(exc).__name__


def _check_samples(samples: np.ndarray, label: str) -> None:
    if samples.shape[0] == 0:
        raise InputError(f"{label} (no audio frames)")
    if not np.isfinite(samples).all():
        raise InputError(f"{label} (non-finite samples)")


def _decode(source: BinaryIO, label: str, max_seconds: float | None = None) -> tuple[Audio, str, int]:
    """Decode the start of ``source`` with soundfile: its first ``max_seconds`` (all when ``None``, see
    :func:`frames_for`), the container name (``WAV``, ``MP3`` ...) and the frames the file holds. Only the
    frames returned are decoded."""
    audio, fmt, total, _ = _decode_keeping_pcm16(source, label, max_seconds)
    return audio, fmt, total


def _decode_keeping_pcm16(
    source: BinaryIO, label: str, max_seconds: float | None = None
) -> tuple[Audio, str, int, np.ndarray | None]:
    """:func:`_decode`, and for a 16-bit PCM file also its integer samples (read as such: libsndfile's float
    samples of such a file are exactly ``int / 2**15``, so the two agree sample for sample)."""
    import soundfile as sf

    ints = None
    try:
        with sf.SoundFile(source) as f:
            fmt = str(f.format)
            rate = int(f.samplerate)
            total = int(f.frames)
            cut = frames_for(max_seconds, rate)
            frames = total if cut is None else min(total, cut)
            if f.subtype == "PCM_16":
                ints = f.read(frames, dtype="int16", always_2d=True)
                samples = ints.astype(np.float32) / np.float32(PCM_SUBTYPES["PCM_16"][0])
            else:
                samples = f.read(frames, dtype="float32", always_2d=True)
    except (RuntimeError, ValueError, TypeError, sf.SoundFileError) as exc:  # LibsndfileError is a RuntimeError
        raise InputError(f"{label} ({_reason(exc)})") from None
    if ints is None:
        _check_samples(samples, label)
    elif samples.shape[0] == 0:  # integer samples are always finite
        raise InputError(f"{label} (no audio frames)")
    return Audio(samples, rate), fmt, total, ints


def _validate(source: BinaryIO, label: str, block_frames: int = 1 << 16) -> str:
    """Decode all of ``source`` block by block (memory: one block), checking every sample; the container."""
    import soundfile as sf

    seen = 0
    try:
        with sf.SoundFile(source) as f:
            fmt = str(f.format)
            for block in f.blocks(block_frames, dtype="float32", always_2d=True):
                if not np.isfinite(block).all():
                    raise InputError(f"{label} (non-finite samples)")
                seen += block.shape[0]
    except (RuntimeError, ValueError, TypeError, sf.SoundFileError) as exc:
        raise InputError(f"{label} ({_reason(exc)})") from None
    if not seen:
        raise InputError(f"{label} (no audio frames)")
    return fmt


def _sha256(fh: BinaryIO, chunk_size: int = 1 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while chunk := fh.read(chunk_size):
        h.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return h.hexdigest(), size


@dataclass(frozen=True)
class AudioFile:
    """What :func:`read_audio_head` read: the decoded start of a file and facts about the whole file."""

    audio: Audio  # the frames decoded (at most what was asked for)
    sha256: str  # of the whole file's bytes
    size_bytes: int
    format: str  # libsndfile's container name: WAV, FLAC, MP3 ...
    frames: int  # frames in the whole file
    sample_rate: int
    #: The decoded frames as 16-bit integers when the file is 16-bit PCM (``audio`` is exactly these / 2**15).
    pcm16: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: The file's bytes when they are what :func:`wav_of_ints` writes for ``pcm16`` (a plain 44-byte header,
    #: nothing after the samples) and every frame was read: such a file can be sent as it is.
    wav: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def truncated(self) -> bool:
        return self.audio.frames < self.frames


def frames_for(max_seconds: float | None, rate: int) -> int | None:
    """The frames kept of a clip cut to ``max_seconds`` at ``rate`` Hz: ``floor(max_seconds * rate)``, at least 1."""
    if max_seconds is None:
        return None
    if not math.isfinite(max_seconds) or max_seconds <= 0:
        raise InputError(f"max audio seconds must be a positive number, got {max_seconds}")
    return max(1, math.floor(max_seconds * rate + 1e-9))


#: Files up to this size are read whole (one read, one hash) and, when they are plain 16-bit PCM WAVs
#: (:func:`_plain_pcm16_wav`), taken apart without libsndfile; larger ones are hashed in chunks.
WHOLE_READ_MAX_BYTES = 8 << 20
_WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")


def pcm16_wav_header(frames: int, sample_rate: int, channels: int) -> bytes:
    """The 44-byte header libsndfile writes for a 16-bit PCM WAV (what :func:`wav_of_ints` gives; a test holds
    the two together)."""
    size = frames * channels * 2
    return _WAV_HEADER.pack(
        b"RIFF", 36 + size, b"WAVE", b"fmt ", 16, 1, channels, sample_rate, sample_rate * channels * 2,
        channels * 2, 16, b"data", size,
    )  # fmt: skip


def _plain_pcm16_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """The samples (frames × channels int16) and rate of ``data`` when it is byte for byte what
    :func:`wav_of_ints` writes for them (so libsndfile would read exactly these samples); else ``None``."""
    if len(data) <= _WAV_HEADER.size:
        return None
    fields = _WAV_HEADER.unpack_from(data)
    channels, rate = fields[6], fields[7]
    size = len(data) - _WAV_HEADER.size
    if channels < 1 or rate < 1 or size % (2 * channels):
        return None
    if data[: _WAV_HEADER.size] != pcm16_wav_header(size // (2 * channels), rate, channels):
        return None
    ints = np.frombuffer(data, dtype="<i2", offset=_WAV_HEADER.size).reshape(-1, channels)
    return ints.astype(np.int16, copy=False), rate


def read_audio_head(path: Path, max_seconds: float | None = None) -> AudioFile:
    """The first ``max_seconds`` of the audio file at ``path`` (all of it when ``None``), decoding only those
    frames, with the SHA-256 of the whole file (read in 1 MiB chunks). Memory: the frames decoded, never the
    whole file beyond :data:`WHOLE_READ_MAX_BYTES`. :class:`InputError` ``unreadable audio file PATH (reason)``
    for anything that is not a regular, decodable audio file."""
    label = f"unreadable audio file {path}"
    with open_regular(path, label) as fh:
        if os.fstat(fh.fileno()).st_size <= WHOLE_READ_MAX_BYTES:
            data = fh.read()
            if not data:
                raise InputError(f"{label} (empty file)")
            plain = _plain_pcm16_wav(data)
            if plain is not None:
                return _plain_head(data, *plain, max_seconds)
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
            fh.seek(0)
        else:
            digest, size = _sha256(fh)
        if not size:
            raise InputError(f"{label} (empty file)")
        audio, fmt, total, ints = _decode_keeping_pcm16(fh, label, max_seconds)
    return AudioFile(audio, digest, size, fmt, max(total, audio.frames), audio.sample_rate, ints)


def _plain_head(data: bytes, ints: np.ndarray, rate: int, max_seconds: float | None) -> AudioFile:
    """:func:`read_audio_head` of a plain 16-bit WAV (what libsndfile would decode, without it)."""
    total = ints.shape[0]
    cut = frames_for(max_seconds, rate)
    if cut is not None and cut < total:
        ints = ints[:cut]
    samples = ints.astype(np.float32) / np.float32(PCM_SUBTYPES["PCM_16"][0])
    whole = ints.shape[0] == total
    return AudioFile(
        Audio(samples, rate), hashlib.sha256(data).hexdigest(), len(data), "WAV", total, rate, ints,
        wav=data if whole else None,
    )  # fmt: skip


def _read_bytes(path: Path) -> bytes:
    label = f"unreadable audio file {path}"
    with open_regular(path, label) as fh:
        return fh.read()


def load_audio_file(path: Path) -> tuple[bytes, Audio, str]:
    """A file's bytes, its decoded audio and its container name; :class:`InputError` (one line) on failure."""
    data = _read_bytes(path)
    label = f"unreadable audio file {path}"
    if not data:
        raise InputError(f"{label} (empty file)")
    audio, fmt, _ = _decode(io.BytesIO(data), label)
    return data, audio, fmt


def read_audio(path: Path) -> Audio:
    """Decode an audio file (WAV/FLAC/OGG/MP3 …, by content); missing, empty, unreadable, unsupported or
    non-regular files (FIFOs, devices, sockets) raise :class:`InputError` ``unreadable audio file PATH (reason)``."""
    return read_audio_head(path).audio


def decode_audio_bytes(data: bytes) -> Audio:
    """Decode audio bytes (e.g. a base64-decoded ``input_audio`` part); :class:`InputError` if undecodable."""
    if not data:
        raise InputError("undecodable audio bytes (empty file)")
    return _decode(io.BytesIO(bytes(data)), "undecodable audio bytes")[0]


def quantize(samples: np.ndarray, subtype: str = "PCM_16") -> tuple[np.ndarray, int]:
    """Integer PCM samples for ``subtype`` (round half to even, clipped to the integer range) and the number
    of samples that were clipped. ``PCM_24`` comes back left-aligned in int32, as soundfile writes it."""
    if subtype not in PCM_SUBTYPES:
        raise ValueError(f"unsupported WAV subtype {subtype!r} (one of {', '.join(PCM_SUBTYPES)})")
    scale, lo, hi = PCM_SUBTYPES[subtype]
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * scale)
    clipped = int(np.count_nonzero((scaled < lo) | (scaled > hi)))
    ints = np.clip(scaled, lo, hi)
    if subtype == "PCM_16":
        return ints.astype(np.int16), clipped
    if subtype == "PCM_24":
        return ints.astype(np.int32) << 8, clipped
    return ints.astype(np.int32), clipped


def on_grid(audio: Audio, subtype: str = "PCM_16") -> Audio:
    """``audio`` exactly as :func:`encode_wav` with ``subtype`` stores it (rounded and clipped to full scale)."""
    ints, _ = quantize(audio.samples, subtype)
    if subtype == "PCM_24":
        ints = ints >> 8
    scale = PCM_SUBTYPES[subtype][0]
    return Audio((ints.astype(np.float64) / scale).astype(np.float32), audio.sample_rate)


def encode_wav(audio: Audio, subtype: str = "PCM_16") -> bytes:
    """A WAV file of ``audio`` in integer PCM ``subtype``; the same samples always give the same bytes.

    Samples are rounded (half to even) and clipped to full scale here, not by libsndfile, so the mapping
    is exact and known: ``x -> round(x * 2**(bits-1))``.
    """
    ints, _ = quantize(audio.samples, subtype)
    return wav_of_ints(ints, audio.sample_rate, subtype)


def wav_of_ints(ints: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> bytes:
    """A WAV file of integer PCM samples as :func:`quantize` returns them (``encode_wav`` without the rounding)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, ints, sample_rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def resample(audio: Audio, rate: int) -> Audio:
    """``audio`` at ``rate`` Hz (polyphase, :func:`scipy.signal.resample_poly`); the duration is kept to within
    one output frame. The same rate returns ``audio`` itself."""
    from scipy.signal import resample_poly

    rate = int(rate)
    if rate <= 0:
        raise InputError(f"sample rate must be positive, got {rate}")
    if rate == audio.sample_rate:
        return audio
    g = math.gcd(rate, audio.sample_rate)
    out = resample_poly(audio.samples.astype(np.float64), rate // g, audio.sample_rate // g, axis=0)
    return Audio(out.astype(np.float32), rate)


def truncate(audio: Audio, max_seconds: float | None) -> tuple[Audio, bool]:
    """The first ``max_seconds`` of ``audio`` (``floor(max_seconds * rate)`` frames) and whether it was cut."""
    frames = frames_for(max_seconds, audio.sample_rate)
    if frames is None or frames >= audio.frames:
        return audio, False
    return Audio(audio.samples[:frames].copy(), audio.sample_rate), True


@dataclass(frozen=True)
class AudioBytes:
    """Bytes ready for an ``input_audio`` request part, with their format (``wav`` or ``mp3``)."""

    data: bytes = field(repr=False)
    format: Literal["wav", "mp3"]


def read_audio_part(path: Path) -> AudioBytes:
    """The bytes of the file at ``path`` for an ``input_audio`` part: WAV and MP3 unchanged, any other format
    that decodes (FLAC, OGG …) re-encoded as a 16-bit PCM WAV. The format is taken from the content, and the
    whole file is decoded first (block by block for WAV and MP3: memory is the file's bytes and one block),
    so a broken file fails here (:class:`InputError`), not at the server."""
    data = _read_bytes(path)
    label = f"unreadable audio file {path}"
    if not data:
        raise InputError(f"{label} (empty file)")
    fmt = _validate(io.BytesIO(data), label)
    if fmt in ("WAV", "WAVEX"):
        return AudioBytes(data, "wav")
    if fmt == "MP3":
        return AudioBytes(data, "mp3")
    audio, _, _ = _decode(io.BytesIO(data), label)
    return AudioBytes(encode_wav(audio), "wav")
