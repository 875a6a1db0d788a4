"""The face of every command: an example and a README pointer in each --help, flags shown as flags, one
``-o`` and one seed default everywhere, old spellings kept as hidden aliases, the category from one file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.cli.root import readme_anchor
from lalm_bench.manifest import DEFAULT_SEED
from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> list[tuple[str, ...]]:
    """Every command path of the CLI, groups included (``("rubrics",)``, ``("rubrics", "judge")``, …)."""
    import typer.main

    from lalm_bench.cli import app

    paths: list[tuple[str, ...]] = []

    def walk(cmd, path: tuple[str, ...]) -> None:
        if path:
            paths.append(path)
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


COMMANDS = _commands()
LEAVES = [c for c in COMMANDS if c not in {("rubrics",), ("data",), ("cache",)}]


def _help(run_cli, monkeypatch, *path: str) -> str:
    monkeypatch.setenv("COLUMNS", "250")
    res = run_cli(*path, "--help")
    assert res.exit_code == 0, res.stderr
    return res.stdout


def test_the_commands_are_all_found():
    assert {("similarity",), ("predict",), ("rubrics", "judge"), ("data", "download"), ("cache", "clear")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_help_has_an_example_a_readme_section_and_no_bool(path, run_cli, monkeypatch):
    out = _help(run_cli, monkeypatch, *path)
    assert "Example" in out and "$ lalm-bench " in out
    found = re.search(r"README\.md#([\w-]+)", out)
    assert found, out
    headings = {readme_anchor(h) for h in re.findall(r"^#+ (.+)$", README.read_text(encoding="utf-8"), re.M)}
    assert found.group(1) in headings
    assert "<bool>" not in out


def test_the_top_level_help_shows_the_loop_in_three_lines(run_cli, monkeypatch):
    out = _help(run_cli, monkeypatch)
    loop = [line.strip() for line in out.splitlines() if "->" in line]
    assert len(loop) == 3
    assert loop[0].startswith("listen:") and "predict" in loop[0] and "similarity | accuracy" in loop[0]
    assert "rubrics generate" in loop[1] and "rubrics judge" in loop[1] and "rubrics compare" in loop[1]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_one_output_flag_and_old_spellings_hidden(path, run_cli, monkeypatch):
    out = _help(run_cli, monkeypatch, *path)
    for old in ("--output-dir", "--dst-dir"):
        assert old not in out  # hidden aliases
    if "--output" in out:
        assert re.search(r"--output\s+-o\s", out), out


def test_every_seed_flag_has_the_same_default():
    import typer.main

    from lalm_bench.cli import app

    defaults = {}

    def walk(cmd, path: str) -> None:
        for param in getattr(cmd, "params", []):
            if "--seed" in getattr(param, "opts", ()):
                defaults[path] = param.default
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    assert {"similarity", "accuracy", "predict", "clotho-refs", "rubrics generate", "rubrics judge"} <= set(defaults)
    assert set(defaults.values()) == {DEFAULT_SEED}, defaults


def test_every_config_seed_defaults_to_the_same_seed():
    from lalm_bench.accuracy.config import AccuracyConfig
    from lalm_bench.clotho_refs.config import ClothoRefsConfig
    from lalm_bench.predict.config import PredictConfig
    from lalm_bench.rubrics.generate.config import GenerateConfig
    from lalm_bench.rubrics.judge.config import JudgeConfig
    from lalm_bench.similarity.config import SimilarityConfig

    seeds = {
        AccuracyConfig().seed,
        ClothoRefsConfig().seed,
        PredictConfig(benchmark=Path("b"), model="mock/echo").seed,
        GenerateConfig().seed,
        JudgeConfig(rubric=Path("r")).seed,
        SimilarityConfig().seed,
    }
    assert seeds == {DEFAULT_SEED}


def _captions_csv(path: Path) -> Path:
    pd.DataFrame(
        {
            "file_name": ["a.wav", "b.wav", "c.wav"],
            **{f"caption_{i}": [f"a dog barks {i}", "rain", "wind"] for i in range(1, 4)},
        }
    ).to_csv(path, index=False)
    return path


def test_o_and_its_old_spelling_write_the_same_folder(run_cli, tmp_path):
    csv = _captions_csv(tmp_path / "caps.csv")
    base = ["clotho-refs", "--csv", csv, "--model", "mock:hash", "--bootstrap", "0", "-q"]
    assert run_cli(*base, "-o", tmp_path / "new").exit_code == 0
    assert run_cli(*base, "--output-dir", tmp_path / "old").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted(p.name for p in (tmp_path / "old").iterdir())
    res = run_cli(*base, "-o", tmp_path / "a", "--output-dir", tmp_path / "b")
    assert res.exit_code == 2 and "disagree" in res.stderr and res.stderr.count("\n") == 1


def test_collect_takes_o_and_its_old_spelling(run_cli, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "results_0.json").write_text(json.dumps([{"final_criteria": []}, {"final_criteria": [{"c": 1}]}]))
    for flag, dst in (("-o", tmp_path / "new"), ("--dst-dir", tmp_path / "old")):
        res = run_cli("rubrics", "collect", "--src-dir", src, flag, dst)
        assert res.exit_code == 0, res.stderr
        assert json.loads((dst / "results_0.json").read_text()) == {"final_criteria": [{"c": 1}]}


@pytest.mark.parametrize("given", ["--audio-file", "--noise-file"])
def test_similarity_with_one_prediction_file_is_an_error_not_the_sample(given, run_cli, tmp_path):
    res = run_cli("similarity", given, SAMPLE_AUDIO, "--model", "mock:hash", "-o", tmp_path / "s.json", "-q")
    assert res.exit_code == 2 and res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    assert "needs" in res.stderr and not (tmp_path / "s.json").exists()


def test_similarity_and_accuracy_take_the_category_from_the_audio_file(run_cli, tmp_path):
    noise = pd.read_parquet(SAMPLE_NOISE)
    noise["category"] = "from-the-noise-file"
    noise_file = tmp_path / "noise.parquet"
    noise.to_parquet(noise_file)
    audio_categories = set(pd.read_parquet(SAMPLE_AUDIO)["category"])
    files = ["--audio-file", SAMPLE_AUDIO, "--noise-file", noise_file, "--model", "mock:hash", "--bootstrap", "0", "-q"]
    assert run_cli("similarity", *files, "-o", tmp_path / "s.json").exit_code == 0
    assert run_cli("accuracy", *files, "-o", tmp_path / "a.json").exit_code == 0
    sim = json.loads((tmp_path / "s.json").read_text())
    acc = json.loads((tmp_path / "a.json").read_text())
    assert set(sim["by_category"]) == audio_categories and set(acc["by_category"]) <= audio_categories
    assert (
        sim["matching"]["category_from"] == "audio"
        and sim["matching"]["category_mismatches"] == sim["matching"]["matched"]
    )
