"""`rubrics collect` (the seed's rm_dup) on seed-format fixtures and on run logs."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.rubrics.helpers import REPO


def _seed_results(folder, name, n):
    records = [
        {"clip": f"c{i}.wav", "final_criteria": [{"criterion": f"k{j}", "weight": 1} for j in range(i + 1)]}
        for i in range(n)
    ]
    (folder / name).write_text(json.dumps(records, indent=2))
    return records


def test_collect_takes_the_last_record_of_each_list(tmp_path, run_cli):
    src, dst = tmp_path / "stoch", tmp_path / "stoch_new"
    src.mkdir()
    r0 = _seed_results(src, "results_0.json", 3)
    r1 = _seed_results(src, "results_1.json", 5)
    (src / "notes.txt").write_text("ignored")
    code, out, _ = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", dst)
    assert code == 0 and "2 processed, 0 skipped" in out and "0 failed" in out
    assert json.loads((dst / "results_0.json").read_text()) == r0[-1]
    assert json.loads((dst / "results_1.json").read_text()) == r1[-1]
    assert sorted(p.name for p in dst.iterdir()) == ["results_0.json", "results_1.json"]  # no temp files

    # existing outputs are skipped unless --overwrite; --wrap-list writes a one-element list
    code, out, _ = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", dst, "--wrap-list")
    assert "0 processed, 2 skipped" in out
    assert json.loads((dst / "results_0.json").read_text()) == r0[-1]
    code, out, _ = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", dst, "--wrap-list", "--overwrite")
    assert "2 processed, 0 skipped" in out
    assert json.loads((dst / "results_1.json").read_text()) == [r1[-1]]


def test_collect_counts_bad_files_as_failed_with_a_reason(tmp_path, run_cli):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    _seed_results(src, "good.json", 2)
    (src / "broken.json").write_text('[{"a": 1}, {"b"')
    (src / "empty.json").write_text("[]")
    (src / "object.json").write_text('{"final_criteria": []}')
    (src / "numbers.json").write_text("[1, 2]")
    (src / "binary.json").write_bytes(b"\xff\xfe\x00")
    code, out, err = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", dst, "--pattern", "*.json")
    assert code == 1
    assert "1 processed, 0 skipped, 5 failed" in out
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(lines) == 5
    assert any("broken.json: not valid JSON" in line for line in lines)
    assert any("empty.json: empty list" in line for line in lines)
    assert any("object.json: expected a JSON list" in line for line in lines)
    assert any("numbers.json: last item is a JSON int" in line for line in lines)
    assert any("binary.json: cannot read" in line for line in lines)
    assert [p.name for p in dst.iterdir()] == ["good.json"]


def test_collect_run_logs_and_missing_src(tmp_path, run_cli):
    src, dst = tmp_path / "stoch", tmp_path / "stoch_new"
    for k in range(2):
        (src / f"run_{k}").mkdir(parents=True)
        lines = [json.dumps({"position": i, "final_criteria": [{"criterion": "x", "weight": i + k}]}) for i in range(3)]
        (src / f"run_{k}" / "log.jsonl").write_text("\n".join(lines) + "\n" + '{"position": 3, "fin')  # torn tail
    code, out, _ = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", dst)
    assert code == 0 and "2 processed" in out and "*/log.jsonl" in out
    assert json.loads((dst / "run_1.json").read_text()) == {
        "position": 2,
        "final_criteria": [{"criterion": "x", "weight": 3}],
    }
    code, _, err = run_cli("rubrics", "collect", "--src-dir", tmp_path / "nope", "--dst-dir", dst)
    assert code == 2 and err.strip().startswith("error:") and len(err.strip().splitlines()) == 1


def test_seed_rm_dup_script(tmp_path):
    src, dst = tmp_path / "stoch", tmp_path / "stoch_new"
    src.mkdir()
    r = _seed_results(src, "results_3.json", 4)
    dst.mkdir()
    (dst / "results_3.json").write_text("old")
    cmd = [
        sys.executable,
        str(REPO / "projects/make_rubrics/rm_dup.py"),
        "--src-dir",
        str(src),
        "--dst-dir",
        str(dst),
    ]
    proc = subprocess.run([*cmd, "--overwrite"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "1 processed" in proc.stdout
    assert json.loads((dst / "results_3.json").read_text()) == r[-1]
