"""Exit status 3 (with the counts) when every clip of a run failed; ``data download`` never exits 0
while archives are missing."""

from __future__ import annotations

import io
import zipfile

from lalm_bench.llm.testserver import ScriptedOpenAIServer, error
from tests.datasets.fake_hub import REV_A
from tests.hardening.helpers import CLIPS, FAST_OPTIONS, read_jsonl, write_baselines, write_clotho_csv


def test_every_clip_failed_exits_3_with_the_counts(tmp_path, run_cli):
    clips = dict(list(CLIPS.items())[:3])
    csv = write_clotho_csv(tmp_path / "clotho_captions_evaluation.csv", clips)
    baseline = write_baselines(tmp_path / "baseline.csv", clips)
    with ScriptedOpenAIServer(lambda req: error(500, "model crashed")) as server:
        code, _, err = run_cli(
            "rubrics", "generate", "--csv", csv, "--baseline-file", baseline, "--rubric-model", "openai/judge",
            "--base-url", server.base_url, "--output-dir", tmp_path / "out", "--quiet", *FAST_OPTIONS,
        )  # fmt: skip
    assert code == 3
    assert err.count("\n") == 1 and err.startswith("error: all 3 clips processed failed")
    records = read_jsonl(tmp_path / "out" / "deter" / "run_0" / "log.jsonl")
    assert [r["status"] for r in records] == ["failed"] * 3  # the failures are kept, each with its error


def test_data_download_offline_with_archives_missing_is_not_success(fake_hub, run_cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    captions = b"file_name,caption_1,caption_2,caption_3,caption_4,caption_5\nx.wav,a,b,c,d,e\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for split in ("development", "validation", "evaluation"):
            zf.writestr(f"clotho_captions_{split}.csv", captions)
    fake_hub.add_snapshot({"clotho.zip": buf.getvalue()}, revision=REV_A)  # no audio archives
    code, out, err = run_cli("data", "download", "clotho", "--quiet")
    assert code == 2 and err.count("\n") == 1
    assert "3 of 4 archives are not in" in err and "HF_HUB_OFFLINE is set" in err
    assert "clotho.zip: extracted" in out and "clotho_audio_evaluation.7z: missing" in out
    code, out, err = run_cli("data", "download", "clotho", "--captions-only", "--quiet")
    assert code == 0, err
    assert "clotho.zip: skipped" in out
