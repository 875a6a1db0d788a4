"""Item 5 (and the refs/main items): no file outside the inputs is read. Audio names leading out of the
audio folder fail their clip (recorded), nothing of them is sent, and the message is the same whether
the target exists or not; a hub ref is a commit hash only."""

from __future__ import annotations

import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import RubricLLM
from tests.datasets.fake_hub import REV_A, REV_B
from tests.hardening.helpers import make_wav, read_jsonl, write_clotho_csv

CAPTIONS = [f"a dog barks near the river, take {j}" for j in range(5)]


def test_audio_names_leading_out_of_the_audio_folder_fail_their_clip_and_send_nothing(tmp_path, run_cli):
    data = tmp_path / "data"
    audio_dir = data / "evaluation"
    audio_dir.mkdir(parents=True)
    secret = tmp_path / "secret.wav"  # exists, outside the dataset
    secret.write_bytes(make_wav(seconds=0.1, freq=999.0))
    good = make_wav(seconds=0.1, freq=300.0)
    (audio_dir / "good.wav").write_bytes(good)
    (audio_dir / "link.wav").symlink_to(secret)  # a link inside leading outside
    names = {
        "good.wav": "ok",
        "../../secret.wav": "exists",
        "../../absent.wav": "absent",
        str(secret): "exists",
        str(tmp_path / "absent.wav"): "absent",
        "link.wav": "exists",
    }
    csv = write_clotho_csv(data / "clotho_captions_evaluation.csv", {n: CAPTIONS for n in names})
    llm = RubricLLM()
    with ScriptedOpenAIServer(llm) as server:
        code, _, err = run_cli(
            "rubrics", "generate", "--csv", csv, "--audio-model", "openai/omni", "--base-url", server.base_url,
            "--output-dir", tmp_path / "out", "--quiet", "--no-llm-cache",
        )  # fmt: skip
        sent = [audio for r in server.requests for audio in r.audio_bytes]
    assert code == 0, err
    records = {r["clip"]: r for r in read_jsonl(tmp_path / "out" / "deter" / "run_0" / "log.jsonl")}
    assert records["good.wav"]["status"] == "ok"
    assert sent == [good]  # only the clip inside the folder was read and sent
    messages = set()
    for name, kind in names.items():
        if kind == "ok":
            continue
        r = records[name]
        assert r["status"] == "failed" and r["failed_step"] == "audio" and r["baseline_reply"] is None
        messages.add(r["error"].replace(repr(name), "NAME"))
    # one message for all: it never tells whether the target outside exists
    assert len(messages) == 1
    assert "is not under the audio root" in messages.pop()


@pytest.mark.parametrize("content", [b"../../../../evil\n", b"\xff\xfe\x00main"])
def test_a_ref_that_is_no_commit_hash_is_never_followed(fake_hub, tmp_path, run_cli, content):
    csv_text = b"file_name,caption_1,caption_2,caption_3,caption_4,caption_5\nx.wav,a,b,c,d,e\n"
    fake_hub.add_snapshot({"clotho_captions_evaluation.csv": csv_text}, revision=REV_A)
    (fake_hub.folder() / "refs" / "main").write_bytes(content)
    baseline = tmp_path / "baseline.csv"
    baseline.write_text("file_name,model_output\nx.wav,a sound\n")
    for args in (
        ["rubrics", "generate", "--rubric-model", "mock/echo", "--baseline-file", baseline],
        ["clotho-refs", "--model", "mock:hash"],
    ):
        code, _, err = run_cli(*args, "--output-dir", tmp_path / "out", "--quiet")
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert "does not hold a commit hash" in err and "refs/main" in err


def test_refs_main_naming_a_missing_snapshot_is_an_error_not_another_snapshot(fake_hub, tmp_path, run_cli):
    csv_text = b"file_name,caption_1,caption_2,caption_3,caption_4,caption_5\nx.wav,a,b,c,d,e\n"
    fake_hub.add_snapshot({"clotho_captions_evaluation.csv": csv_text}, revision=REV_A, ref=None)
    (fake_hub.folder() / "refs").mkdir()
    (fake_hub.folder() / "refs" / "main").write_text(REV_B)  # names a snapshot that is not there
    code, _, err = run_cli("clotho-refs", "--model", "mock:hash", "--output-dir", tmp_path / "out", "--quiet")
    assert code == 2 and err.count("\n") == 1
    assert f"refs/main names snapshot {REV_B[:12]}" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
