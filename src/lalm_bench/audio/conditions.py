"""Audio conditions for ``predict``: the real audio and the controls that test whether a model listens.

Conditions (:data:`CONDITIONS`):

- ``audio``: the item's own audio.
- ``noise``: white Gaussian noise with the frames, sample rate and channels of each real clip as sent,
  RMS-matched to it (per channel) or at a fixed level in dBFS; seeded per item and file. A digitally
  silent clip (RMS 0) gets noise at :data:`SILENT_CLIP_NOISE_DBFS` instead (``silent_source`` in its record).
- ``silence``: digital zeros of the same shape.
- ``none``: no audio part at all.
- ``mismatched``: the audio of another item with other audio content (SHA-256 of the files), a seeded
  derangement within the item's category where possible (:func:`mismatch_partners`).
- partial audio (:func:`partial_audio`): ``head:S`` / ``tail:S`` keep the first / last ``S`` seconds of the
  clip and replace the rest by digital silence (``pad``, the default: same duration as ``audio``) or drop
  it (``head:S:cut``); ``reversed`` plays the clip backwards; ``shuffled:S`` cuts it into ``S``-second
  segments (the last may be shorter) sent in a seeded order that is never the original one when there are
  two or more segments. Applied after ``--max-audio-seconds`` and resampling.

Every condition that sends audio sends a 16-bit PCM WAV built by :func:`build_condition_audio` from the
decoded, optionally truncated and resampled real clip, so ``audio`` and its controls share container,
sample format, duration, rate and channel count, and the SHA-256 recorded is that of the bytes sent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lalm_bench.audio.files import (
    PCM_SUBTYPES,
    Audio,
    AudioFile,
    on_grid,
    quantize,
    read_audio_head,
    resample,
    wav_of_ints,
)
from lalm_bench.audio.mismatch import MismatchPartner
from lalm_bench.audio.paths import resolve_under
from lalm_bench.audio.seeds import derived_rng, item_rng
from lalm_bench.audio.sent import (
    CONDITIONS,  # noqa: F401 (the base conditions, named here as the module docstring says)
    SILENT_CLIP_NOISE_DBFS,
    AudioSent,
    PartialSpec,
    parse_condition,
    parse_partial,
)
from lalm_bench.errors import InputError
from lalm_bench.llm.interface import AudioPart

SEND_SUBTYPE = "PCM_16"


def dbfs_to_rms(dbfs: float) -> float:
    """The RMS of a level in dBFS, where dBFS = 20·log10(RMS / 1.0) (full scale 1.0; a full-scale sine is −3.01)."""
    if not math.isfinite(dbfs) or dbfs > 0:
        raise InputError(f"noise level must be a finite dBFS value <= 0, got {dbfs}")
    return 10.0 ** (dbfs / 20.0)


def _targets(audio: Audio, dbfs: float | None, subtype: str) -> np.ndarray:
    """Per-channel target RMS: that of ``audio`` as it is sent (on the PCM grid), or the ``dbfs`` level."""
    if dbfs is not None:
        return np.full(audio.channels, dbfs_to_rms(dbfs))
    sent = on_grid(audio, subtype).samples
    if sent.shape[0] == 0:
        return np.zeros(audio.channels)
    return np.sqrt(np.mean(np.square(sent, dtype=np.float64), axis=0))


def _fit_level(z: np.ndarray, target: float, subtype: str) -> np.ndarray:
    """``z`` scaled so that, rounded and clipped to the PCM grid, its RMS is as close to ``target`` as the grid
    allows; returned as grid values (float64, exactly representable)."""
    scale, lo, hi = PCM_SUBTYPES[subtype]
    if target <= 0 or not np.any(z):
        return np.zeros_like(z)

    def level(gain: float) -> tuple[float, np.ndarray]:
        q = np.clip(np.rint(z * (gain * scale)), lo, hi)
        return float(np.sqrt(np.mean(np.square(q)))) / scale, q

    gain = target / float(np.sqrt(np.mean(np.square(z))))
    r, q = level(gain)
    if abs(r - target) <= 1e-6 * target:  # the usual case: quantisation and clipping are negligible
        return q / scale
    # The grid level is a non-decreasing step function of the gain: bracket the target and bisect.
    if r < target:
        a, b = gain, 2 * gain
        while level(b)[0] < target:
            if b > gain * 2.0**60:  # every sample at full scale: the grid cannot hold more
                return level(b)[1] / scale
            a, b = b, 2 * b
    else:
        a, b = gain / 2, gain
        while level(a)[0] >= target:  # ends: a small enough gain rounds everything to 0
            a, b = a / 2, a
    for _ in range(64):
        m = math.sqrt(a * b)
        rm, _ = level(m)
        if abs(rm - target) <= 1e-6 * target:
            a = b = m
            break
        a, b = (m, b) if rm < target else (a, m)
    (ra, qa), (rb, qb) = level(a), level(b)
    return (qa if abs(ra - target) <= abs(rb - target) else qb) / scale


def noise_like(
    audio: Audio, rng: np.random.Generator, dbfs: float | None = None, *, subtype: str = SEND_SUBTYPE
) -> Audio:
    """White Gaussian noise with the frames, rate and channels of ``audio``, on the ``subtype`` PCM grid.

    Level: by default each channel's RMS equals that channel's RMS in ``audio`` as sent (so the overall RMS
    matches too); with ``dbfs`` every channel has RMS ``10**(dbfs/20)``, i.e. dBFS is the RMS relative to
    full scale 1.0 (a full-scale sine is −3.01 dBFS). The level is fitted *after* rounding to the grid, so
    the encoded WAV has the target RMS: within 1e-6 relative wherever quantisation and clipping are
    negligible, and as close as the grid allows elsewhere. Near-silent targets (below ~1 LSB) give sparse
    ±1 LSB noise; a target of 0 gives zeros. Loud targets (RMS above ~0.25, where Gaussian peaks pass
    ±1) are clipped at full scale and the gain raised to keep the RMS: the noise is then no longer
    Gaussian; :class:`AudioSent` counts the full-scale samples.
    """
    targets = _targets(audio, dbfs, subtype)
    z = rng.standard_normal((audio.frames, audio.channels))
    out = np.empty_like(z)
    for c in range(audio.channels):
        out[:, c] = _fit_level(z[:, c], float(targets[c]), subtype)
    return Audio(out.astype(np.float32), audio.sample_rate)


def segment_order(n: int, rng: np.random.Generator) -> list[int]:
    """A seeded order of ``n`` segments, never the identity when ``n >= 2`` (then shifted by one)."""
    order = [int(i) for i in rng.permutation(n)]
    if n >= 2 and order == list(range(n)):
        order = order[1:] + order[:1]
    return order


def partial_audio(
    audio: Audio, spec: PartialSpec, rng: np.random.Generator | None = None
) -> tuple[Audio, float, list[int] | None]:
    """``audio`` under a partial condition: the samples to send, the seconds of real audio they hold, and
    (``shuffled``) the original index of each segment as sent. ``rng`` is needed for ``shuffled`` only."""
    rate, frames = audio.sample_rate, audio.frames
    if spec.kind == "reversed":
        return Audio(audio.samples[::-1].copy(), rate), audio.seconds, None
    assert spec.seconds is not None
    width = max(1, math.floor(spec.seconds * rate + 1e-9))
    if spec.kind == "shuffled":
        if rng is None:
            raise ValueError("shuffled audio needs a generator")
        starts = list(range(0, frames, width))
        order = segment_order(len(starts), rng)
        pieces = [audio.samples[starts[i] : starts[i] + width] for i in order]
        out = np.concatenate(pieces, axis=0) if pieces else audio.samples.copy()
        return Audio(out, rate), audio.seconds, order
    keep = min(width, frames)
    span = slice(0, keep) if spec.kind == "head" else slice(frames - keep, frames)
    if spec.fill == "cut":
        return Audio(audio.samples[span].copy(), rate), keep / rate, None
    out = np.zeros_like(audio.samples)
    out[span] = audio.samples[span]
    return Audio(out, rate), keep / rate, None


def silence_like(audio: Audio) -> Audio:
    """Digital zeros with the frames, rate and channels of ``audio``."""
    return Audio(np.zeros_like(audio.samples), audio.sample_rate)


def _as_list(paths: str | Sequence[str] | None) -> list[str]:
    if paths is None:
        return []
    if isinstance(paths, str | Path):
        return [str(paths)]
    return [str(p) for p in paths]


def _source_names(
    condition: str,
    audio_paths: str | Sequence[str] | None,
    item_id: str,
    partner: MismatchPartner | None,
    partner_paths: str | Sequence[str] | None,
) -> list[str]:
    """Step 1: the files whose audio is decoded: the item's, or its partner's under ``mismatched``."""
    names = _as_list(audio_paths)
    if condition == "mismatched":
        if partner is None:
            raise InputError(f"item {item_id!r}: the mismatched condition needs a partner")
        names = _as_list(partner_paths)
    if not names:
        whose = f"partner {partner.partner!r} of item {item_id!r}" if partner and condition == "mismatched" else ""
        raise InputError(f"{whose or f'item {item_id!r}'} has no audio file")
    return names


@dataclass(frozen=True)
class _Signal:
    """What one file becomes under a condition, and the noise level used (``noise`` only)."""

    audio: Audio
    target_rms: float | None = None
    noise_dbfs: float | None = None
    silent_source: bool = False
    pcm16: np.ndarray | None = None  # ``audio`` as 16-bit integers, when it is a 16-bit file's samples as read
    wav: bytes | None = None  # the file's own bytes, when they are the WAV :func:`wav_of_ints` writes of ``pcm16``


@dataclass(frozen=True)
class _Partial:
    """A partial-audio condition as applied to one file: the spec, the real seconds kept, the segment order."""

    spec: PartialSpec
    kept_seconds: float
    segment_order: list[int] | None


def _condition_signal(condition: str, audio: Audio, noise_dbfs: float | None, rng: np.random.Generator) -> _Signal:
    """Step 2: the decoded clip as itself (``audio``, ``mismatched``), as noise or as silence of its shape."""
    if condition == "silence":
        return _Signal(silence_like(audio))
    if condition != "noise":
        return _Signal(audio)
    level, silent = noise_dbfs, False
    targets = _targets(audio, level, SEND_SUBTYPE)
    if level is None and not np.any(targets) and audio.frames:
        # RMS-matched noise for a digitally silent clip would be silence again: the bytes of `audio`
        level, silent = SILENT_CLIP_NOISE_DBFS, True
        targets = _targets(audio, level, SEND_SUBTYPE)
    return _Signal(
        noise_like(audio, rng, level),
        target_rms=float(np.sqrt(np.mean(np.square(targets)))),
        noise_dbfs=level,
        silent_source=silent,
    )


def _sent(
    condition: str, signal: _Signal, *, index: int, name: str, head: AudioFile,
    seed: int, partner: MismatchPartner | None, max_seconds: float | None, partial: _Partial | None = None,
) -> tuple[AudioPart, AudioSent]:  # fmt: skip
    """Step 3: the 16-bit PCM WAV part that is sent, and its record (hashing exactly those bytes)."""
    # One rounding to the grid serves the bytes, the samples as sent and the full-scale count (what
    # on_grid + encode_wav would give, without quantizing twice: the audio is built for every item); a 16-bit
    # file sent as it is needs none (its samples are on the grid already).
    scale, lo, hi = PCM_SUBTYPES[SEND_SUBTYPE]
    if signal.pcm16 is not None and SEND_SUBTYPE == "PCM_16":
        ints, sent = signal.pcm16, signal.audio
    else:
        ints, _ = quantize(signal.audio.samples, SEND_SUBTYPE)
        sent = Audio((ints.astype(np.float64) / scale).astype(np.float32), signal.audio.sample_rate)
    if signal.wav is not None and SEND_SUBTYPE == "PCM_16":
        data = signal.wav  # the file's bytes are what wav_of_ints would write: sent as they are
        part = AudioPart(data=data, format="wav")
        part.__dict__["sha256"] = head.sha256  # the cached hash: of these very bytes (read_audio_head)
    else:
        data = wav_of_ints(ints, sent.sample_rate, SEND_SUBTYPE)
        part = AudioPart(data=data, format="wav")
    mismatched = condition == "mismatched" and partner is not None
    record = AudioSent(
        condition=condition,
        seed=int(seed),
        index=index,
        source=name,
        source_sha256=head.sha256,
        partner=partner.partner if mismatched and partner else None,
        partner_within_category=partner.within_category if mismatched and partner else None,
        sha256=part.sha256,
        size_bytes=len(data),
        frames=sent.frames,
        seconds=sent.seconds,
        original_seconds=head.seconds,
        sample_rate=sent.sample_rate,
        original_sample_rate=head.sample_rate,
        channels=sent.channels,
        truncated=head.truncated,
        max_seconds=max_seconds,
        rms=sent.rms,
        target_rms=signal.target_rms,
        noise_dbfs=signal.noise_dbfs,
        silent_source=signal.silent_source,
        full_scale_samples=int(np.count_nonzero((ints <= lo) | (ints >= hi))),
        partial=partial.spec.kind if partial else None,
        partial_seconds=partial.spec.seconds if partial else None,
        partial_fill=partial.spec.fill if partial else None,
        kept_seconds=partial.kept_seconds if partial else None,
        segment_order=partial.segment_order if partial else None,
    )
    return part, record


def build_condition_audio(
    condition: str,
    audio_paths: str | Sequence[str] | None,
    *,
    root: Path,
    seed: int,
    item_id: str,
    partner: MismatchPartner | None = None,
    partner_paths: str | Sequence[str] | None = None,
    noise_dbfs: float | None = None,
    max_seconds: float | None = None,
    sample_rate: int | None = None,
    also_under: Sequence[Path] = (),
) -> tuple[list[AudioPart], list[AudioSent]]:
    """The audio parts to send for one item under ``condition`` and a record of each.

    Each file (the item's, or the partner's for ``mismatched``) is resolved under ``root``
    (:func:`~lalm_bench.audio.paths.resolve_under`), its first ``max_seconds`` decoded (only those
    frames: memory follows what is sent, not the file's length), resampled to
    ``sample_rate`` if asked, and then sent as itself (``audio``, ``mismatched``) or replaced by noise or
    silence of the same shape; every part is a 16-bit PCM WAV and its record hashes exactly those bytes.
    ``none`` sends nothing. A file that is refused or unreadable raises :class:`InputError` (one line) for
    the caller to record against the item.
    """
    try:
        condition = parse_condition(condition)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    spec = parse_partial(condition)
    if condition == "none":
        return [], []
    if noise_dbfs is not None:
        dbfs_to_rms(noise_dbfs)  # validate up front, for every condition
    parts: list[AudioPart] = []
    records: list[AudioSent] = []
    for index, name in enumerate(_source_names(condition, audio_paths, item_id, partner, partner_paths)):
        head = read_audio_head(resolve_under(root, name, also_under=also_under), max_seconds)
        audio = head.audio
        if sample_rate is not None:
            audio = resample(audio, sample_rate)
        rng = item_rng(seed, item_id, index)
        signal = _condition_signal(condition, audio, noise_dbfs, rng)
        partial: _Partial | None = None
        if spec is not None:
            shuffle = derived_rng("shuffle/v1", int(seed), str(item_id), index) if spec.kind == "shuffled" else None
            cut_audio, kept, order = partial_audio(signal.audio, spec, shuffle)
            signal = replace(signal, audio=cut_audio)
            partial = _Partial(spec, kept, order)
        if signal.audio is head.audio and head.pcm16 is not None:  # sent as read: no re-quantisation
            signal = replace(signal, pcm16=head.pcm16, wav=head.wav)
        part, record = _sent(
            condition, signal, index=index, name=name, head=head, seed=seed, partner=partner,
            max_seconds=max_seconds, partial=partial,
        )  # fmt: skip
        parts.append(part)
        records.append(record)
    return parts, records
