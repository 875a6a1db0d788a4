"""Option groups: one declaration per flag, per-command defaults, hidden old spellings, one meaning each."""

from __future__ import annotations

import os
import subprocess
import sys

from lalm_bench.cli.options import EMBEDDING, LLM

_WIDE = {**os.environ, "COLUMNS": "200"}  # rich wraps the help to the terminal


def test_help_shows_the_groups_and_hides_old_spellings(run_cli):
    out = run_cli("similarity", "--help").stdout
    for panel in ("Embedding model", "Output", "Statistics"):
        assert panel in out
    assert "--model-revision" in out and "--no-embedding-cache" in out and "--embedding-cache-dir" in out
    assert "--revision" not in out.replace("--model-revision", "") and "--no-cache" not in out
    gen = run_cli("rubrics", "generate", "--help").stdout
    assert "LLM server" in gen and "--no-llm-cache" in gen and "--dataset-revision" in gen
    assert "--no-cache" not in gen and "--revision" not in gen.replace("-revision", "")


def test_each_command_has_its_own_defaults_from_one_declaration():
    assert EMBEDDING.but(model="BAAI/bge-m3", batch_size=128).default("batch_size") == 128
    assert EMBEDDING.default("batch_size") == 64 and EMBEDDING.default("model") == "BAAI/bge-base-en-v1.5"
    assert LLM.default("timeout") == 300.0  # one default timeout for every LLM command


def test_old_and_new_spellings_must_agree(run_cli, tmp_path):
    res = run_cli(
        "similarity", "--model", "mock:hash", "--model-revision", "a", "--revision", "b", "-o", tmp_path / "x.json"
    )
    assert res.exit_code == 2 and "--model-revision and --revision (its old spelling) disagree" in res.stderr
    res = run_cli("clotho-refs", "--dataset-revision", "a", "--revision", "b", "-o", tmp_path)
    assert res.exit_code == 2 and "disagree" in res.stderr


def test_the_old_spellings_still_work(run_cli, tmp_path):
    cache = tmp_path / "cache"
    res = run_cli("similarity", "--model", "mock:hash", "--cache-dir", cache, "-o", tmp_path / "a.json", "-q")
    assert res.exit_code == 0, res.stderr
    assert (cache / "embeddings.sqlite3").exists()
    res = run_cli("similarity", "--model", "mock:hash", "--revision", "v1", "-o", tmp_path / "b.json", "-q")
    assert res.exit_code == 2 and "--model-revision pins a hub model" in res.stderr  # mock models have none


def test_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom lalm_bench.cli import main\n"
        "try:\n    main(['rubrics', 'generate', '--help'])\nexcept SystemExit:\n    pass\n"
        "names = ('torch', 'pandas', 'numpy', 'openai', 'sentence_transformers', 'scipy')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_run_imports_only_the_module_of_its_command():
    """`lalm-bench similarity …` loads `cli/similarity.py`, not the modules (and imports) of the other commands;
    the top-level help still lists every command."""
    code = (
        "import sys\nfrom lalm_bench.cli import COMMANDS, main\n"
        "try:\n    main(['similarity', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in COMMANDS.values() if f'lalm_bench.cli.{m}' in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "['similarity']"
    from lalm_bench.cli import COMMANDS

    top = subprocess.run(
        [sys.executable, "-m", "lalm_bench", "--help"], capture_output=True, text=True, timeout=120, env=_WIDE
    )
    assert top.returncode == 0, top.stderr
    assert all(f" {name} " in top.stdout for name in COMMANDS), top.stdout
