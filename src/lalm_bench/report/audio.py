"""The audio behind the answers: each condition's audio rebuilt from what ``predict`` recorded, and verified.

For an item and a condition, :func:`rebuild` calls the very code ``predict`` sent the audio with
(:func:`lalm_bench.audio.conditions.build_condition_audio`) with the recorded settings: the audio root,
seed, item id, file names, mismatch partner, noise level, cut and sample rate. A part is offered only when
the SHA-256 of the rebuilt WAV equals the ``audio_sha256`` recorded for it; otherwise the page says why and
plays nothing (never a different sound). Verified audio is embedded as FLAC (lossless: the decoded samples
are the samples sent) or, with ``--audio link``, written beside the report (the real clip is linked in place).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lalm_bench.errors import InputError
from lalm_bench.report.inputs import ModelInputs
from lalm_bench.report.items import ModelItems, audio_order

AUDIO_CONDITIONS = ("audio", "noise", "silence", "mismatched")


@dataclass
class AudioPlan:
    """``players``: key → player record (status, note, src); ``files``: relative path → bytes to write."""

    players: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    embedded_bytes: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RebuiltPart:
    index: int
    source: str
    recorded_sha256: str | None
    sha256: str
    wav: bytes | None  # None when the hashes differ
    note: str


def _settings(run_manifest: dict[str, Any]) -> dict[str, Any]:
    audio = run_manifest.get("audio") or {}
    params = run_manifest.get("parameters") or {}
    noise = run_manifest.get("noise") or {}
    return {
        "root": audio.get("root") or params.get("audio_root"),
        "max_seconds": audio.get("max_seconds", params.get("max_audio_seconds")),
        "sample_rate": audio.get("sample_rate", params.get("sample_rate")),
        "noise_dbfs": noise.get("dbfs", params.get("noise_dbfs")),
    }


def rebuild(item_id: str, condition: str, row: dict[str, Any], run_manifest: dict[str, Any]) -> list[RebuiltPart]:
    """Rebuild what was sent for ``item_id`` under ``condition`` from its prediction row and run manifest, and
    check each part against the recorded SHA-256. Raises :class:`InputError` when it cannot be rebuilt."""
    from lalm_bench.audio.conditions import build_condition_audio
    from lalm_bench.audio.mismatch import MismatchPartner

    s = _settings(run_manifest)
    if not s["root"]:
        raise InputError("the predict manifest does not record the audio root")
    try:
        sent = json.loads(row.get("audio_sent") or "[]")
    except ValueError:
        raise InputError("the audio_sent column is not JSON") from None
    if not sent:
        raise InputError("nothing was sent (a failed item, or no audio file)")
    recorded = [x for x in str(row.get("audio_sha256") or "").split(",") if x]
    sources = [str(p["source"]) for p in sent]
    partner = None
    if condition == "mismatched":
        partner = MismatchPartner(str(sent[0].get("partner")), bool(sent[0].get("partner_within_category")), None)
    seed = row.get("seed")
    parts, _ = build_condition_audio(
        condition,
        sources,
        root=Path(s["root"]),
        seed=int(seed if seed is not None else sent[0]["seed"]),
        item_id=item_id,
        partner=partner,
        partner_paths=sources,
        noise_dbfs=s["noise_dbfs"],
        max_seconds=s["max_seconds"],
        sample_rate=s["sample_rate"],
    )
    out = []
    for i, part in enumerate(parts):
        want = recorded[i] if i < len(recorded) else None
        ok = want is not None and part.sha256 == want
        note = (
            "verified: the rebuilt audio hashes to the SHA-256 predict recorded"
            if ok
            else f"not offered: rebuilt audio hashes to {part.sha256[:12]}…, predict recorded "
            f"{(want or 'nothing')[:12]}… (seed, file or settings changed since the run)"
        )
        out.append(RebuiltPart(i, sources[i], want, part.sha256, part.data if ok else None, note))
    return out


def wav_to_flac(wav: bytes) -> bytes:
    """The same samples as FLAC (16-bit, lossless)."""
    import soundfile as sf

    data, rate = sf.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "item"


def plan_audio(
    label: str,
    m: ModelInputs,
    items: ModelItems,
    *,
    mode: str,
    n_items: int,
    report_path: Path,
    plan: AudioPlan,
) -> None:
    """Rebuild and verify the audio of the first ``n_items`` items (flips, then needs-audio, then the rest)
    and record, in each row's cells, the keys of the players (``au``)."""
    if mode == "none" or n_items <= 0:
        return
    if not m.predict:
        plan.notes.append(
            f"{label}: no audio players: the prediction files carry no predict manifest (the audio root, seeds "
            "and settings are unknown)"
        )
        return
    rows = items.rows
    base = {c: str(r.manifest.get("condition", c)) for c, r in m.predict.items()}
    frames = {c: items.frames[c] for c in items.frames if base.get(c) in AUDIO_CONDITIONS}
    records = {c: f.to_dict("index") for c, f in frames.items()}
    done = 0
    for i in audio_order(rows):
        if done >= n_items:
            break
        row = rows[i]
        offered = False
        for cond, recs in records.items():
            rec = recs.get(row["id"])
            if rec is None or not rec.get("audio_sent"):
                continue
            cell = row["c"].setdefault(cond, {})
            keys = []
            try:
                parts = rebuild(row["id"], base[cond], rec, m.predict[cond].manifest)
            except InputError as exc:
                key = f"{label}|{row['id']}|{cond}"
                plan.players[key] = {"status": "unavailable", "note": f"not offered: {exc}"}
                cell["au"] = [key]
                continue
            for part in parts:
                key = f"{label}|{row['id']}|{cond}|{part.index}"
                keys.append(key)
                player: dict[str, Any] = {
                    "status": "verified" if part.wav is not None else "mismatch",
                    "note": part.note,
                    "source": part.source,
                    "sha256": part.sha256,
                }
                if part.wav is not None:
                    offered = True
                    if mode == "embed":
                        flac = wav_to_flac(part.wav)
                        player["src"] = "data:audio/flac;base64," + base64.b64encode(flac).decode("ascii")
                        plan.embedded_bytes += len(player["src"])
                    elif (
                        cond == "audio"
                        and not _settings(m.predict[cond].manifest)["sample_rate"]
                        and not part.source.startswith("..")
                    ):
                        root = Path(_settings(m.predict[cond].manifest)["root"])
                        target = (root / part.source).resolve()
                        rel_path = Path(os.path.relpath(target, report_path.resolve().parent)).as_posix()
                        player["src"] = quote(rel_path)
                        player["note"] += "; linked to the original file"
                    else:
                        rel = f"{report_path.stem}_audio/{_safe(label)}/{_safe(row['id'])}_{cond}_{part.index}.flac"
                        plan.files[rel] = wav_to_flac(part.wav)
                        player["src"] = quote(rel)
                plan.players[key] = player
            cell["au"] = keys
        done += 1 if offered or any(c.get("au") for c in row["c"].values()) else 0
