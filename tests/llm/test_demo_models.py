"""The demo chat models as known-answer tests: run through predict on the demo benchmark, under the real
audio and the controls, each behaves as documented."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from lalm_bench.datasets.demo import write_demo_benchmark
from lalm_bench.io import OutputOptions
from lalm_bench.llm import AudioPart, Message, TextPart
from lalm_bench.llm import mock_listen as ml
from lalm_bench.llm.options import LLMOptions, make_chat_model
from lalm_bench.predict.command import predict_command
from lalm_bench.predict.config import PredictConfig
from tests.llm.helpers import make_wav, run

CONDITIONS = ("audio", "noise", "silence", "none", "mismatched")
_PICK = re.compile(r"\(([A-Z])\) ")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, pd.DataFrame]]:
    """Predictions of the four demo models under every condition (no response cache)."""
    folder = tmp_path_factory.mktemp("demo-models")
    bench = write_demo_benchmark(folder / "bench", seed=0)
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for model in ("listener", "deaf", "presence", "first-option"):
        config = PredictConfig(
            benchmark=bench.path, model=f"mock/{model}", conditions=CONDITIONS, llm=LLMOptions(use_cache=False)
        )
        base = folder / model / "p.parquet"
        predict_command(config, OutputOptions(base, quiet=True))
        out[model] = {c: pd.read_parquet(folder / model / f"p_{c}.parquet") for c in CONDITIONS}
    return out


def _picked(row: pd.Series) -> int | None:
    m = _PICK.search(row["model_output"] or "")
    return None if m is None else ord(m.group(1)) - ord("A")


def _right(frame: pd.DataFrame) -> pd.Series:
    mc = frame[frame["choices"].map(len) > 0]
    return mc.apply(lambda r: _picked(r) == list(r["choices"]).index(r["answer"]), axis=1)


def test_listener_is_right_with_audio_and_degrades_under_every_control(runs):
    acc = {c: _right(f).mean() for c, f in runs["listener"].items()}
    assert acc["audio"] >= 0.95, acc
    for control in ("noise", "silence", "none", "mismatched"):
        assert acc[control] <= acc["audio"] - 0.3, acc
    audio = runs["listener"]["audio"].set_index("id")
    open_items = audio[audio["choices"].map(len) == 0]
    assert all(
        o.split()[1:3] == a.split()[1:3] for o, a in zip(open_items["model_output"], open_items["answer"], strict=True)
    )
    assert runs["listener"]["none"]["model_output"].str.startswith("There is no audio").all()


def test_deaf_answers_the_same_whatever_the_audio(runs):
    frames = runs["deaf"]
    base = frames["audio"].set_index("id")["model_output"]
    for c in CONDITIONS[1:]:
        assert frames[c].set_index("id")["model_output"].reindex(base.index).tolist() == base.tolist()
    assert 0.2 < _right(frames["audio"]).mean() < 0.7  # the text prior: about chance


def test_presence_is_right_on_presence_items_only(runs):
    frames = runs["presence"]
    audio = frames["audio"]
    right = _right(audio)
    cats = audio.loc[right.index, "category"]
    assert right[cats == "presence"].all()
    deaf = runs["deaf"]["audio"].set_index("id")
    others = audio[(audio["category"] != "presence") & (audio["choices"].map(len) > 0)]
    assert [_picked(r) for _, r in others.iterrows()] == [_picked(deaf.loc[i]) for i in others["id"]]
    # its wording follows whether there was sound
    silent = {i for i, t in zip(audio["id"], audio["truth"], strict=True) if '"silence"' in t}
    assert all(
        o.startswith("I hear nothing;") == (i in silent)
        for i, o in zip(audio["id"], audio["model_output"], strict=True)
    )
    assert frames["none"]["model_output"].str.startswith("I hear nothing;").all()
    assert frames["silence"]["model_output"].str.startswith("I hear nothing;").all()


def test_first_option_always_picks_position_one(runs):
    for frame in runs["first-option"].values():
        mc = frame[frame["choices"].map(len) > 0]
        assert all(_picked(r) == 0 for _, r in mc.iterrows())


def test_prompts_are_read_robustly_and_unknown_questions_fall_back_to_the_text_prior():
    p = ml.parse_prompt("Intro line\nWhich bird?\nChoices:\n(1) Owl\n(2) Crow\n\nAnswer with the letter.")
    assert p.question == "Intro line Which bird?" and p.labels == ("1", "2") and p.choices == ("Owl", "Crow")
    assert ml.parse_prompt("Describe it.").choices == ()
    listener = make_chat_model("mock/listener", LLMOptions(use_cache=False))
    deaf = make_chat_model("mock/deaf", LLMOptions(use_cache=False))
    text = "Which bird is singing?\nChoices:\n(A) Owl\n(B) Crow\n(C) Wren"
    wav = make_wav(seconds=0.5)

    def ask(model, audio: bytes | None, prompt: str = text) -> str:
        content = ((AudioPart(audio),) if audio else ()) + (TextPart(prompt),)
        return run(model.chat([Message("user", content)])).text

    assert ask(listener, wav) == ask(deaf, wav) == ask(deaf, None)
    # bytes that are not audio, markup in the question: still one plain pick
    odd = "Is there any sound in this clip? </script><b>x</b>\n(A) Yes\n(B) No"
    assert re.fullmatch(r"There is no audio; the most likely answer is \((A\) Yes|B\) No)\.", ask(listener, b"x", odd))
    assert ask(listener, wav, "Is there any sound in this clip?\n(A) Yes\n(B) No") == "The answer is (A) Yes."
    assert ask(listener, wav, "How many clicks do you hear?").endswith(".")


def test_drops_audio_keeps_the_old_deaf_behaviour_for_the_canary():
    drops = make_chat_model("mock/drops-audio", LLMOptions(use_cache=False))
    deaf = make_chat_model("mock/deaf", LLMOptions(use_cache=False))
    one, two = make_wav(seconds=1.0), make_wav(seconds=2.0)

    def tokens(model, wav: bytes) -> int:
        return run(model.chat([Message("user", (AudioPart(wav), TextPart("hi")))])).usage.prompt_tokens

    assert tokens(drops, one) == tokens(drops, two) == 1
    assert tokens(deaf, two) - tokens(deaf, one) == 25  # a deaf model behind a working server: audio counted
