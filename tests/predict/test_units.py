"""The pieces of predict: prompt templates, output names, condition lists, dispatching, benchmark reading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lalm_bench.audio import conditions as controls
from lalm_bench.datasets.benchmark import BenchmarkColumns, load_benchmark
from lalm_bench.errors import InputError
from lalm_bench.predict import config as cfg
from lalm_bench.predict import prompts
from lalm_bench.runs import Dispatcher
from tests.predict.helpers import write_jsonl


def test_default_template_renders_choices_with_letters_and_open_questions_plainly():
    t = prompts.default_template()
    assert t.version == "1" and len(t.sha256) == 64
    text = t.render("What is it?", ["A dog", "A cat"], "sound")
    assert text == (
        "What is it?\n\nChoices:\n(A) A dog\n(B) A cat\n\nAnswer with the letter and the text of the correct choice."
    )
    assert t.render("What is it?", [], None) == "What is it?"
    # one choice is an open question (MMAU-Pro stores the reference answer of open items as their only choice)
    assert t.render("How much?", ["15 psi, from a pressure cooker"], "open") == "How much?"
    many = prompts.format_choices([f"c{i}" for i in range(27)])
    assert many.splitlines()[0] == "(1) c0" and many.splitlines()[-1] == "(27) c26"
    assert prompts.format_choices(["x", "y"]) == "(A) x\n(B) y"


def test_template_parsing_errors():
    with pytest.raises(InputError, match="unknown placeholder"):
        prompts.parse_template("{question} {choices} {answer}", name="t", version="1")
    with pytest.raises(InputError, match=r"needs the \{question\}"):
        prompts.parse_template("{choices}", name="t", version="1")
    with pytest.raises(InputError, match=r"needs \{choices\}"):
        prompts.parse_template("{question}", name="t", version="1")
    with pytest.raises(InputError, match="occurs 2 times"):
        prompts.parse_template(
            f"{{question}}{{choices}}\n{prompts.SEPARATOR}\n{{question}}\n{prompts.SEPARATOR}\n", name="t", version="1"
        )
    with pytest.raises(InputError, match="is for items without choices"):
        prompts.parse_template(f"{{question}}{{choices}}\n{prompts.SEPARATOR}\n{{question}}{{choices}}", name="t",
                               version="1")  # fmt: skip
    literal = prompts.parse_template('{question}\n{choices}\nReply as {"pick": "A"} or { }', name="t", version="1")
    assert literal.render("Q", ["a", "b"], None).endswith('Reply as {"pick": "A"} or { }')
    assert literal.without_choices is None
    with pytest.raises(InputError, match="no '=== without choices ===' part"):
        literal.render("Q", [], None)


def test_output_names_and_conditions():
    assert cfg.condition_files(Path("out/preds.parquet"), "noise") == (
        Path("out/preds_noise.parquet"),
        Path("out/preds_noise.manifest.json"),
    )
    with pytest.raises(InputError, match=r"--output preds: name a \.parquet file, e\.g\. preds\.parquet"):
        cfg.condition_files(Path("preds"), "none")  # issue 19: no suffix is refused, not written beside a folder
    assert cfg.condition_files(Path("p.pq"), "audio")[0] == Path("p_audio.pq")
    assert cfg.runs_folder(Path("out/preds.parquet")) == Path("out/preds.runs")
    with pytest.raises(InputError, match=r"name a \.parquet file"):
        cfg.output_stem(Path("preds.json"))
    assert cfg.parse_conditions(["audio, noise", "none"]) == ("audio", "noise", "none")
    with pytest.raises(InputError, match="empty name"):
        cfg.parse_conditions(["audio,,noise"])
    assert cfg.CONDITIONS == controls.CONDITIONS  # one list, in the numpy-free audio.sent


def test_dispatcher_sends_to_the_least_loaded_server_in_turn():
    d = Dispatcher(3)
    assert [d.acquire() for _ in range(6)] == [0, 1, 2, 0, 1, 2]
    d.release(1)
    d.release(1)
    assert d.acquire() == 1 and d.acquire() == 1 and d.load == [2, 2, 2]


def test_benchmark_reading_details(tmp_path):
    root = tmp_path / "audio"
    root.mkdir()
    bench = write_jsonl(tmp_path / "b.jsonl", [
        {"id": 7, "audio_path": str(root / "a.wav"), "question": "Q", "choices": '["x", "y"]', "topic": "t"},
        {"id": 8, "audio_path": ["b.wav", "c.wav"], "question": "Q2", "choices": None, "topic": None},
    ])  # fmt: skip
    b = load_benchmark(bench, BenchmarkColumns(category="topic"), audio_root=root)
    assert [it.id for it in b.items] == ["7", "8"]
    assert b.items[0].audio == ("a.wav",) and b.items[1].audio == ("b.wav", "c.wav")
    assert b.items[0].choices == ("x", "y") and b.items[1].choices == ()
    assert b.items[0].category == "t" and b.items[1].category is None
    assert b.columns == {"id": "id", "audio": "audio_path", "question": "question", "choices": "choices",
                         "category": "topic", "answer": None}  # fmt: skip
    with pytest.raises(InputError, match="missing column"):
        load_benchmark(bench, BenchmarkColumns(answer="answer"), audio_root=root)
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(InputError, match="has no rows"):
        load_benchmark(tmp_path / "empty.json", BenchmarkColumns(), audio_root=root)


def test_cli_import_stays_light():
    code = (
        "import sys; from lalm_bench.cli import predict;"
        "print([m for m in ('pandas', 'numpy', 'openai', 'soundfile', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
