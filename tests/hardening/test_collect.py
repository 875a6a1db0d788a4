"""``rubrics collect`` reads only under --src-dir, refuses an output folder (-o) that is a file before work, and
counts a file it cannot use (nested too deeply, a clip logged twice, a link leading out) as failed while
collecting the others."""

from __future__ import annotations

import json

import pytest


def _lists(src, n=2):
    src.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        (src / f"results_{k}.json").write_text(json.dumps([{"clip": "a"}, {"clip": "b", "final": k}]))


@pytest.mark.parametrize("pattern", ["/etc/*.json", "../*.json", "runs/../../*.json", "~/*.json", ""])
def test_patterns_that_leave_src_dir_are_refused(tmp_path, run_cli, pattern):
    _lists(tmp_path / "src")
    (tmp_path / "outside.json").write_text(json.dumps([{"secret": 1}]))
    code, _, err = run_cli("rubrics", "collect", "--src-dir", tmp_path / "src", "--dst-dir", tmp_path / "dst",
                           "--pattern", pattern)  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: --pattern")
    assert not (tmp_path / "dst").exists()


def test_a_dst_dir_that_is_a_file_is_refused_before_work(tmp_path, run_cli):
    _lists(tmp_path / "src")
    dst = tmp_path / "dst"
    dst.write_text("keep me")
    code, _, err = run_cli("rubrics", "collect", "--src-dir", tmp_path / "src", "--dst-dir", dst)
    assert code == 2 and err.count("\n") == 1 and "-o/--output" in err and "is a file" in err
    assert dst.read_text() == "keep me"


def test_unusable_files_are_counted_failed_and_the_others_collected(tmp_path, run_cli):
    src = tmp_path / "src"
    _lists(src)
    (src / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (src / "deep_record.json").write_text('[{"a": ' + "[" * 5_000 + "]" * 5_000 + "}]")
    (src / "huge_number.json").write_text("[" + "9" * 5_000 + "]")
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps([{"secret": 1}]))
    (src / "link.json").symlink_to(outside)
    code, out, err = run_cli("rubrics", "collect", "--src-dir", src, "--dst-dir", tmp_path / "dst")
    assert code == 1 and "unexpected" not in err and "Traceback" not in err
    assert "2 processed, 0 skipped, 4 failed" in out
    lines = [line for line in err.splitlines() if line.startswith("failed:")]
    failed = {line.split(": ", 2)[1].rsplit("/", 1)[-1]: line for line in lines}
    assert "nested too deeply" in failed["deep.json"] and "nested too deeply" in failed["deep_record.json"]
    assert "not valid JSON" in failed["huge_number.json"]
    assert "outside --src-dir" in failed["link.json"]
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["results_0.json", "results_1.json"]
