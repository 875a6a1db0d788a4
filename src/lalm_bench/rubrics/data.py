"""Where the rubric pipeline gets clips, references, audio and baseline captions.

``load_clotho`` is the single point of access to the Clotho captions; it will move to the shared
dataset layer (``lalm_bench.datasets``) without changing its callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lalm_bench.errors import InputError

CLOTHO_REPO = "woongvy/clotho-v2.1"
SPLITS = ("development", "validation", "evaluation")


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

    def audio_path(self, clip: Clip) -> Path:
        return self.audio_dir / clip.file_name


def clotho_snapshot(revision: str | None = None) -> tuple[Path, str]:
    """The cached snapshot folder of the Clotho dataset repo and its commit (no network)."""
    from lalm_bench.embeddings.model import cached_revision, hub_cache_dir

    folder = hub_cache_dir() / f"datasets--{CLOTHO_REPO.replace('/', '--')}"
    commit = cached_revision(CLOTHO_REPO, revision, repo_type="dataset")
    if commit is None or not (folder / "snapshots" / commit).is_dir():
        raise InputError(
            f"Clotho ({CLOTHO_REPO}, revision {revision or 'main'}) not found in the Hugging Face cache "
            f"{folder}; download it first or pass --csv and --audio-dir"
        )
    return folder / "snapshots" / commit, commit


def load_clotho(
    split: str, csv: Path | None = None, audio_dir: Path | None = None, revision: str | None = None
) -> ClipSet:
    """Read ``file_name,caption_1..caption_5`` verbatim (no NA parsing, no unescaping)."""
    if split not in SPLITS:
        raise InputError(f"--split {split!r}: expected one of {', '.join(SPLITS)}")
    commit = None
    if csv is None:
        snapshot, commit = clotho_snapshot(revision)
        csv = snapshot / f"clotho_captions_{split}.csv"
        audio_dir = audio_dir or snapshot / split
    elif audio_dir is None:  # beside the CSV, as in an extracted snapshot or under audio/
        candidates = [Path(csv).parent / split, Path(csv).parent / "audio" / split]
        audio_dir = next((d for d in candidates if d.is_dir()), candidates[0])
    from lalm_bench.io import read_table, require_columns

    cols = ["file_name"] + [f"caption_{i}" for i in range(1, 6)]
    df = read_table(csv, keep_default_na=False, dtype=str)
    require_columns(df, cols, csv)
    if df["file_name"].duplicated().any():
        dup = df.loc[df["file_name"].duplicated(), "file_name"].iloc[0]
        raise InputError(f"{csv}: file_name {dup!r} occurs more than once")
    clips = [Clip(row[0], tuple(row[1:])) for row in df[cols].itertuples(index=False, name=None)]
    return ClipSet(split=split, clips=clips, csv_path=Path(csv), audio_dir=Path(audio_dir), revision=commit)


def load_baselines(path: Path) -> dict[str, str]:
    """``file_name -> model_output`` from a Parquet/CSV file (text kept verbatim)."""
    from lalm_bench.io import read_table, require_columns

    df = read_table(path)  # CSV/TSV are read as strings, verbatim
    require_columns(df, ["file_name", "model_output"], path)
    dup = df["file_name"].duplicated()
    if dup.any():
        raise InputError(f"{path}: file_name {df.loc[dup, 'file_name'].iloc[0]!r} occurs more than once")
    out: dict[str, str] = {}
    for name, text in zip(df["file_name"], df["model_output"], strict=True):
        out[str(name)] = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    return out


def read_audio(path: Path):  # -> AudioPart
    """Read a WAV or MP3 file for an ``input_audio`` part; raise ``InputError`` if missing or unreadable."""
    from lalm_bench.llm.base import AudioPart

    if not path.is_file():
        raise InputError(f"audio file not found: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"audio file unreadable: {path} ({exc.strerror or exc})") from exc
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "wav":
        ok = len(data) > 44 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    elif fmt == "mp3":
        ok = data[:3] == b"ID3" or (len(data) > 2 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0)
    else:
        raise InputError(f"audio file {path}: unsupported format {fmt!r} (wav or mp3)")
    if not ok:
        raise InputError(f"audio file unreadable: {path} (not a valid {fmt.upper()} file)")
    return AudioPart(data=data, format=fmt)  # type: ignore[arg-type]
