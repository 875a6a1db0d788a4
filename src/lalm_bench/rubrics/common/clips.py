"""Where the rubric sub-jobs get clips, references, audio and baseline captions.

Clotho comes through the shared dataset layer (:mod:`lalm_bench.datasets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lalm_bench.errors import InputError
from lalm_bench.llm.interface import AudioPart


@dataclass(frozen=True)
class ClipSelection:
    """Which Clotho clips: the split, where its captions and audio are, and a window of clips."""

    split: str = "evaluation"
    csv: Path | None = None  # default: the cached woongvy/clotho-v2.1 snapshot
    audio_dir: Path | None = None
    dataset_revision: str | None = None
    start: int = 0
    limit: int | None = None


@dataclass(frozen=True)
class Clip:
    file_name: str
    captions: tuple[str, ...]


@dataclass(frozen=True)
class ClipSet:
    split: str
    clips: list[Clip]
    csv_path: Path
    audio_dir: Path
    revision: str | None

    def describe(self, start: int, limit: int | None, n_clips: int) -> dict[str, Any]:
        """The ``dataset`` entry of a run manifest."""
        return {
            "name": "clotho",
            "split": self.split,
            "csv": str(self.csv_path),
            "audio_dir": str(self.audio_dir),
            "revision": self.revision,
            "start": start,
            "limit": limit,
            "clips": n_clips,
        }


def load_clip_set(
    split: str, csv: Path | None = None, audio_dir: Path | None = None, revision: str | None = None
) -> ClipSet:
    """Clotho clips of ``split`` through the shared dataset layer (hub-cache snapshot or ``--csv``).

    Captions are kept verbatim; the audio lies under ``<snapshot>/<split>/`` unless ``audio_dir`` says
    otherwise (with ``--csv``: beside the CSV, or under ``audio/<split>/`` there).
    """
    from lalm_bench.datasets import clotho as ds

    ds.check_split(split)
    commit = None
    if csv is None:
        csv = ds.clotho_csv_path(split, revision)
        commit = csv.parent.name
        audio_dir = audio_dir or csv.parent / split
    elif audio_dir is None:
        candidates = [Path(csv).parent / split, Path(csv).parent / "audio" / split]
        audio_dir = next((d for d in candidates if d.is_dir()), candidates[0])
    table = ds.load_clotho(csv, split=split, min_captions=1)
    if len(set(table.clips)) != len(table.clips):
        dup = next(c for i, c in enumerate(table.clips) if c in table.clips[:i])
        raise InputError(f"{csv}: file_name {dup!r} occurs more than once")
    clips = [Clip(name, tuple(caps)) for name, caps in zip(table.clips, table.captions, strict=True)]
    return ClipSet(split=split, clips=clips, csv_path=Path(csv), audio_dir=Path(audio_dir), revision=commit)


def load_baselines(path: Path, id_column: str = "file_name", text_column: str = "model_output") -> dict[str, str]:
    """``clip -> caption`` from a Parquet/CSV file (text kept verbatim). A clip is named by its file name; a
    path in ``id_column`` counts by its last part, so ``predict``'s ``audio_path`` names clips too."""
    from lalm_bench.io import read_table, require_columns

    df = read_table(path)  # CSV/TSV are read as strings, verbatim
    require_columns(df, [id_column, text_column], path)
    names = [_clip_name(v) for v in df[id_column]]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"{path}: {id_column} {name!r} occurs more than once")
        seen.add(name)
    out: dict[str, str] = {}
    for name, text in zip(names, df[text_column], strict=True):
        out[name] = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return out


def _clip_name(value: object) -> str:
    text = str(value)
    return text.replace("\\", "/").rsplit("/", 1)[-1] if "/" in text or "\\" in text else text


def read_clip_audio(clipset: ClipSet, clip: Clip) -> AudioPart:
    """The clip's audio for an ``input_audio`` part; :class:`InputError` (recorded per clip) when the file
    is missing, unreadable, or its name would lead outside the audio folder."""
    from lalm_bench.audio.files import read_audio_part
    from lalm_bench.audio.paths import resolve_under

    audio = read_audio_part(resolve_under(clipset.audio_dir, clip.file_name))
    return AudioPart(data=audio.data, format=audio.format)
