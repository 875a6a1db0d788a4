"""The content gap tells "uses the sound" from "notices sound"; identical answers are counted and said;
same-question groups hold one question *and* its choices; templates can be left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.similarity._data import write_preds

N = 24


def _rows(answer, *, condition: str) -> list[dict]:
    return [
        {"id": f"q{i}", "category": "sound" if i % 2 else "music", "question": "What do you hear?",
         "choices": ["a dog", "a bell"] if i % 3 else ["a car", "rain"], "model_output": answer(i, condition)}
        for i in range(N)
    ]  # fmt: skip


def _clip(i: int, condition: str) -> int:
    """The clip heard under each condition: mismatched sends the next item's clip; noise has none."""
    return {"audio": i, "audio_2": i, "mismatched": (i + 1) % N}.get(condition, -1)


MODELS = {
    # answers from what is in the clip (deterministic: a repeat of the audio run gives the same text)
    "listener": lambda i, c: f"I hear sound number {_clip(i, c)}" if _clip(i, c) >= 0 else "I only hear static",
    # notices that there is sound, ignores what it is
    "presence": lambda i, c: "I hear a sound; the answer is (A)",
    # answers from the text alone
    "deaf": lambda i, c: "The answer is (A) a dog.",
}


def _write(tmp_path: Path, model: str) -> dict[str, Path]:
    return {
        c: write_preds(tmp_path / f"{model}_{c}.parquet", _rows(MODELS[model], condition=c))
        for c in ("audio", "noise", "noise_2", "mismatched", "audio_2")
    }


def _run(run_cli, tmp_path: Path, model: str, *extra: object) -> tuple[dict, str]:
    files = _write(tmp_path, model)
    out = tmp_path / f"{model}.json"
    res = run_cli(
        "similarity", "--model", "mock:hash", "-o", out, "--audio-file", files["audio"], "--noise-file", files["noise"],
        "--noise-file-2", files["noise_2"], "--mismatched-file", files["mismatched"], *extra,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return json.loads(out.read_text()), res.stdout


@pytest.mark.parametrize("reference", ["audio_2", "noise_2"])
def test_the_content_gap_tells_the_three_models_apart(run_cli, tmp_path, reference):
    extra = ["--audio-file-2", tmp_path / "listener_audio_2.parquet"] if reference == "audio_2" else []
    if reference == "audio_2":
        _write(tmp_path, "listener")
    listener, out = _run(run_cli, tmp_path, "listener", *extra)
    gap = listener["content"]["content_gap"]["overall"]
    assert listener["content"]["available"]
    assert listener["content"]["reference"] == ("audio_vs_audio" if reference == "audio_2" else "noise_vs_noise")
    assert gap["mean_difference"] > 0.2 and gap["ci95"][0] > 0  # uses the sound
    assert out.index("content gap") < out.index("matched vs the floor")  # the question asked comes first
    for model in ("presence", "deaf"):
        result, out = _run(run_cli, tmp_path / model if (tmp_path / model).mkdir() is None else tmp_path, model)
        gap = result["content"]["content_gap"]["overall"]
        assert gap["mean_difference"] == pytest.approx(0.0, abs=1e-9), model  # does not use the sound
        assert result["identical"]["audio_vs_mismatched"]["share"] == 1.0
    assert result["identical"]["audio_vs_noise"]["share"] == 1.0  # deaf: identical under audio and noise
    assert "identical under audio and noise for 100% of items" in out


def test_without_a_reference_run_the_content_gap_says_why(run_cli, tmp_path):
    files = _write(tmp_path, "listener")
    out = tmp_path / "o.json"
    res = run_cli("similarity", "--model", "mock:hash", "-o", out, "--audio-file", files["audio"],
                  "--noise-file", files["noise"], "--mismatched-file", files["mismatched"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    content = json.loads(out.read_text())["content"]
    assert not content["available"] and "--audio-file-2" in content["reason"]
    assert content["audio_vs_mismatched"]["overall"]["count"] == N
    assert "note: content gap: no run-to-run reference" in res.stdout


def test_same_question_groups_hold_one_question_and_its_choices(run_cli, tmp_path):
    result, _ = _run(run_cli, tmp_path, "listener")
    sq = result["same_question"]
    assert sq["grouped_by"] == ["question", "choices"]
    assert sq["groups"] == 2  # one question text, two choice sets
    result, _ = _run(run_cli, tmp_path / "b" if (tmp_path / "b").mkdir() is None else tmp_path, "listener",
                     "--choices-column", "")  # fmt: skip
    assert result["same_question"]["groups"] == 1


def test_templates_can_leave_the_same_question_groups(run_cli, tmp_path):
    result, out = _run(run_cli, tmp_path, "listener", "--exclude-questions", "^What do you")
    sq = result["same_question"]
    assert sq["items_excluded"] == N and sq["items"] == 0
    assert f"{N} items left out by --exclude-questions" in out
    files = _write(tmp_path, "listener")
    res = run_cli("similarity", "--model", "mock:hash", "-o", tmp_path / "x.json", "--audio-file", files["audio"],
                  "--noise-file", files["noise"], "--exclude-questions", "(")  # fmt: skip
    assert res.exit_code == 2 and res.stderr.startswith("error: --exclude-questions '('")
