"""Download and extraction with local zip/7z archives in a fake hub cache (the real hub client, offline)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import py7zr
import pytest

from lalm_bench.datasets import clotho_csv_path, load_clotho
from lalm_bench.datasets.download import dataset_status, download_dataset, extract_archive
from lalm_bench.errors import LalmBenchError

REPO_ROOT = Path(__file__).resolve().parents[2]
CSV = (
    "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    '"a, b.wav",one,two,three,four,five\n'
    "c.wav,six,seven,eight,nine,ten\n"
)
SPLITS = ("development", "validation", "evaluation")


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for split in SPLITS:
            zf.writestr(f"clotho_captions_{split}.csv", CSV)
    return buf.getvalue()


def make_7z(tmp: Path, split: str) -> bytes:
    src = tmp / f"src_{split}" / split
    src.mkdir(parents=True)
    for name in ("a, b.wav", "c.wav"):
        (src / name).write_bytes(b"RIFF" + name.encode() * 50)
    out = tmp / f"clotho_audio_{split}.7z"
    with py7zr.SevenZipFile(out, "w") as zf:
        zf.writeall(src, arcname=split)
    return out.read_bytes()


@pytest.fixture
def clotho_snapshot(fake_hub, tmp_path):
    files = {"clotho.zip": make_zip(), **{f"clotho_audio_{s}.7z": make_7z(tmp_path, s) for s in SPLITS}}
    return fake_hub.add_snapshot(files)


def test_extract_zip_then_skip_then_repair(tmp_path):
    archive = tmp_path / "clotho.zip"
    archive.write_bytes(make_zip())
    dest = tmp_path / "snap"
    assert extract_archive(archive, dest, progress=False) == "extracted"
    target = dest / "clotho_captions_evaluation.csv"
    assert target.read_text() == CSV
    assert extract_archive(archive, dest, progress=False) == "skipped"
    target.write_text("half")  # an interrupted extraction
    assert extract_archive(archive, dest, progress=False) == "extracted"
    assert target.read_text() == CSV


def test_extract_7z_then_skip(tmp_path):
    archive = tmp_path / "clotho_audio_validation.7z"
    archive.write_bytes(make_7z(tmp_path, "validation"))
    dest = tmp_path / "snap"
    assert extract_archive(archive, dest, progress=True) == "extracted"
    assert sorted(p.name for p in (dest / "validation").iterdir()) == ["a, b.wav", "c.wav"]
    assert extract_archive(archive, dest, progress=False) == "skipped"
    (dest / "validation" / "c.wav").unlink()
    assert extract_archive(archive, dest, progress=False) == "extracted"
    assert (dest / "validation" / "c.wav").is_file()
    assert extract_archive(tmp_path / "absent.7z", dest) == "missing"


def test_corrupt_archive_is_one_line_error(tmp_path):
    bad = tmp_path / "clotho.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LalmBenchError, match="cannot extract"):
        extract_archive(bad, tmp_path / "snap")


def test_download_extracts_in_the_snapshot_and_the_loader_finds_it(clotho_snapshot):
    report = download_dataset("clotho", progress=False)  # the real snapshot_download, offline, cached
    assert report.snapshot == clotho_snapshot
    assert report.archives == {
        "clotho.zip": "extracted",
        **{f"clotho_audio_{s}.7z": "extracted" for s in SPLITS},
    }
    table = load_clotho(clotho_csv_path("evaluation"), "evaluation")
    assert table.clips == ["a, b.wav", "c.wav"]
    assert (clotho_snapshot / "evaluation" / "a, b.wav").is_file()
    again = download_dataset("clotho", progress=False)
    assert set(again.archives.values()) == {"skipped"}


def test_status_before_and_after(clotho_snapshot):
    st = dataset_status()
    clotho = st["datasets"]["clotho"]
    assert clotho["revision"] == clotho_snapshot.name
    assert clotho["splits"]["evaluation"] == {
        "captions_csv": None,
        "clips": None,
        "audio_archive": True,
        "audio_files": 0,
        "audio_complete": False,
    }
    download_dataset("clotho", progress=False)
    ev = dataset_status()["datasets"]["clotho"]["splits"]["evaluation"]
    assert ev["clips"] == 2 and ev["audio_files"] == 2 and ev["audio_complete"] is True


def test_status_when_nothing_is_downloaded(fake_hub, run_cli):
    code, out, err = run_cli("data", "status", "--json")
    assert code == 0, err
    clotho = json.loads(out)["datasets"]["clotho"]
    assert clotho["snapshot"] is None and "not downloaded" in clotho["problem"]
    code, out, _ = run_cli("data", "status")
    assert code == 0 and "clotho (woongvy/clotho-v2.1): not downloaded" in " ".join(out.split())


def test_cli_download_and_status(clotho_snapshot, run_cli):
    code, out, err = run_cli("data", "download", "clotho", "--quiet")
    assert code == 0, err
    assert "clotho.zip: extracted" in out and "clotho_audio_development.7z: extracted" in out
    code, out, _ = run_cli("data", "download", "clotho", "--captions-only", "--quiet")
    assert code == 0 and "clotho.zip: skipped" in out and ".7z" not in out
    code, out, _ = run_cli("data", "status")
    assert code == 0 and "evaluation" in out and "(complete)" in out


def test_offline_and_not_cached_is_one_line(fake_hub, run_cli):
    code, _, err = run_cli("data", "download", "clotho", "--quiet")
    assert code == 2
    assert err.startswith("error: cannot download woongvy/clotho-v2.1") and err.count("\n") == 1
    assert "HF_HUB_OFFLINE is set" in err


def test_unknown_dataset(run_cli):
    code, _, err = run_cli("data", "download", "audioset")
    assert code == 2 and "unknown dataset 'audioset' (known: clotho)" in err


def test_token_is_passed_to_the_hub_but_never_shown(fake_hub, monkeypatch, run_cli):
    import huggingface_hub

    seen = {}
    secret = "hf_SECRETsecretSECRET123"

    def fake_snapshot_download(repo_id, **kwargs):  # the network is not reachable from the tests
        seen.update(kwargs)
        raise RuntimeError(f"401 Unauthorized for token {kwargs['token']}")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setenv("HF_TOKEN", secret)
    code, out, err = run_cli("data", "download", "clotho")
    assert code == 2 and seen["token"] == secret and seen["repo_type"] == "dataset"
    assert secret not in out + err and "***" in err
    code, out, err = run_cli("data", "download", "clotho", "--token", "hf_other_token_value")
    assert seen["token"] == "hf_other_token_value"
    assert "hf_other_token_value" not in out + err
    assert not any(secret.encode() in p.read_bytes() for p in fake_hub.root.rglob("*") if p.is_file())


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not on PATH")
def test_seed_download_script_calls_the_command(clotho_snapshot):
    env = {**os.environ, "HF_HUB_CACHE": str(clotho_snapshot.parents[2]), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "download_datasets.sh"), "--captions-only", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "clotho.zip: extracted" in proc.stdout
    assert (clotho_snapshot / "clotho_captions_development.csv").is_file()
