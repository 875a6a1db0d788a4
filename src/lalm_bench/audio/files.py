"""Reading, checking and writing audio: safe paths under a root, decoding, resampling, truncation, WAV encoding.

Decoding goes through ``soundfile`` (libsndfile: WAV, FLAC, OGG/Vorbis/Opus, MP3 and the other formats
it knows), by content, not by file name. Samples are float32 in ``[-1, 1)`` with shape
``(frames, channels)``; integer PCM is scaled by ``2**(bits-1)``, so a 16-bit file round-trips through
:func:`read_audio` and :func:`encode_wav` sample for sample.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

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


_REFUSED = (
    "audio path {name!r} is not under the audio root {root} "
    "(absolute paths, '..' and links leading outside are refused)"
)


def resolve_under(root: Path, name: str, *, also_under: Sequence[Path] = ()) -> Path:
    """The file ``name`` under ``root``, with symlinks resolved; :class:`InputError` if it may lie outside.

    Refused, with one message that never says whether the outside target exists: absolute names, names
    whose ``..`` leave ``root``, and names that resolve (through symlinks) outside ``root`` and outside every
    folder in ``also_under`` (e.g. the ``blobs/`` folder a hub-cache snapshot's symlinks point into). The
    file itself need not exist: reading it reports that. The returned path is the resolved one, so the
    file read is the file checked.
    """
    text = os.fspath(name)
    refused = InputError(_REFUSED.format(name=text, root=root))
    norm = os.path.normpath(text) if text else ""
    if not text or "\x00" in text or os.path.isabs(text) or norm in (".", "..") or norm.startswith(".." + os.sep):
        raise refused
    try:
        base = Path(root).resolve()
        allowed = [base, *(Path(p).resolve() for p in also_under)]
        resolved = (base / text).resolve()  # the raw name: symlinks are followed before '..', as the OS does
    except (OSError, RuntimeError, ValueError):  # symlink loops, names the OS cannot take
        raise refused from None
    if resolved == base or not any(resolved.is_relative_to(p) for p in allowed):
        raise refused
    return resolved


def _decode(data: bytes, label: str) -> tuple[Audio, str]:
    """Decode ``data`` with soundfile: the audio and libsndfile's container name (``WAV``, ``MP3`` …)."""
    import soundfile as sf

    if not data:
        raise InputError(f"{label} (empty file)")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            fmt = str(f.format)
            samples = f.read(dtype="float32", always_2d=True)
            rate = int(f.samplerate)
    except (RuntimeError, ValueError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        reason = str(getattr(exc, "error_string", "") or exc).strip().rstrip(".")
        if reason.lower().startswith("format not recognised"):
            reason = f"format not recognised; {_EXPECTED}"
        raise InputError(f"{label} ({reason or type(exc).__name__})") from None
    if samples.shape[0] == 0:
        raise InputError(f"{label} (no audio frames)")
    if not np.isfinite(samples).all():
        raise InputError(f"{label} (non-finite samples)")
    return Audio(samples, rate), fmt


def _read_bytes(path: Path) -> bytes:
    label = f"unreadable audio file {path}"
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{label} (not found)") from None
    except IsADirectoryError:
        raise InputError(f"{label} (a directory)") from None
    except OSError as exc:
        raise InputError(f"{label} ({exc.strerror or type(exc).__name__})") from None


def load_audio_file(path: Path) -> tuple[bytes, Audio, str]:
    """A file's bytes, its decoded audio and its container name; :class:`InputError` (one line) on failure."""
    data = _read_bytes(path)
    audio, fmt = _decode(data, f"unreadable audio file {path}")
    return data, audio, fmt


def read_audio(path: Path) -> Audio:
    """Decode an audio file (WAV/FLAC/OGG/MP3 …, by content); missing, empty, unreadable or unsupported
    files raise :class:`InputError` ``unreadable audio file PATH (reason)``."""
    return load_audio_file(path)[1]


def decode_audio_bytes(data: bytes) -> Audio:
    """Decode audio bytes (e.g. a base64-decoded ``input_audio`` part); :class:`InputError` if undecodable."""
    return _decode(bytes(data), "undecodable audio bytes")[0]


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
    import soundfile as sf

    ints, _ = quantize(audio.samples, subtype)
    buf = io.BytesIO()
    sf.write(buf, ints, audio.sample_rate, format="WAV", subtype=subtype)
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
    if max_seconds is None:
        return audio, False
    if not math.isfinite(max_seconds) or max_seconds <= 0:
        raise InputError(f"max audio seconds must be a positive number, got {max_seconds}")
    frames = max(1, math.floor(max_seconds * audio.sample_rate + 1e-9))
    if frames >= audio.frames:
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
    whole file is decoded first, so a broken file fails here (:class:`InputError`), not at the server."""
    data, audio, fmt = load_audio_file(path)
    if fmt in ("WAV", "WAVEX"):
        return AudioBytes(data, "wav")
    if fmt == "MP3":
        return AudioBytes(data, "mp3")
    return AudioBytes(encode_wav(audio), "wav")
