"""What was sent: the record of one audio part under one condition (no numpy: record schemas load fast)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Condition = Literal["audio", "noise", "silence", "none", "mismatched"]
CONDITIONS: tuple[str, ...] = ("audio", "noise", "silence", "none", "mismatched")
#: The noise level sent for a digitally silent clip (RMS 0), whose RMS-matched noise would be silence again.
SILENT_CLIP_NOISE_DBFS = -60.0


class AudioSent(BaseModel):
    """What was sent for one audio file of one item under one condition (one entry per audio part)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    condition: Condition
    seed: int
    index: int  # position of the file among the item's (or, for mismatched, the partner's) audio files
    source: str  # the file name as listed, relative to the audio root (the partner's file for mismatched)
    source_sha256: str  # SHA-256 of the source file's bytes
    partner: str | None = None  # mismatched: the item whose audio was sent
    partner_within_category: bool | None = None
    sha256: str  # SHA-256 of the WAV bytes actually sent
    format: Literal["wav"] = "wav"
    size_bytes: int
    frames: int
    seconds: float
    original_seconds: float
    sample_rate: int
    original_sample_rate: int
    channels: int
    truncated: bool
    max_seconds: float | None = None
    rms: float  # of the samples sent (over all channels)
    target_rms: float | None = None  # noise: the RMS aimed at
    noise_dbfs: float | None = None  # noise: the fixed level sent; None = matched to the real clip
    silent_source: bool = False  # noise: the clip was digitally silent, so the noise was sent at a floor level
    full_scale_samples: int  # samples at the PCM limits in what was sent (clipping, ours or the recording's)
