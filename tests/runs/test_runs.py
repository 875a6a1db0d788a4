"""The run machinery: one writer per run folder, settings checks, overwrite without loss, the worker pool."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from pydantic import BaseModel

from lalm_bench.errors import InputError, OutputExistsError, RunLockedError
from lalm_bench.runs import RunFolder, RunLog, run_pool
from lalm_bench.runs.folder import ASIDE_NAME


def _write_run(folder, settings: dict, lines: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({"settings": settings}))
    (folder / "log.jsonl").write_text("".join(json.dumps({"i": i}) + "\n" for i in range(lines)))


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    holder = rf"being written by another process \(pid {os.getpid()} on "
    with RunFolder(tmp_path / "run_0"), pytest.raises(RunLockedError, match=holder):
        RunFolder(tmp_path / "run_0").acquire()
    with RunFolder(tmp_path / "run_0"):  # released: the next writer gets it
        pass


def test_a_folder_created_for_nothing_is_removed_again(tmp_path):
    with RunFolder(tmp_path / "new" / "run_0"):
        pass
    assert not (tmp_path / "new" / "run_0").exists()


def test_settings_decide_resume_refusal_or_overwrite(tmp_path):
    folder = tmp_path / "run_0"
    _write_run(folder, {"seed": 1, "base_url": "http://127.0.0.1:1/v1"}, lines=3)
    with RunFolder(folder) as run:
        assert run.check({"seed": 1, "base_url": "http://127.0.0.1:2/v1"}, overwrite=False) is True
        with pytest.raises(OutputExistsError, match=r"seed: 1 -> 2.*--overwrite.*--run-name"):
            run.check({"seed": 2}, overwrite=False)
    (folder / "run.json").write_text("not json")
    with RunFolder(folder) as run, pytest.raises(InputError, match="not a run manifest"):
        run.check({"seed": 1}, overwrite=False)


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_record(tmp_path):
    folder = tmp_path / "run_0"
    _write_run(folder, {"seed": 1}, lines=3)
    old_log = (folder / "log.jsonl").read_bytes()
    with RunFolder(folder) as run:  # a failed start: nothing written
        assert run.check({"seed": 2}, overwrite=True) is False
        assert not (folder / "log.jsonl").exists() and (folder / ASIDE_NAME).is_dir()
    assert (folder / "log.jsonl").read_bytes() == old_log and not (folder / ASIDE_NAME).exists()

    with RunFolder(folder) as run:  # a start that writes: the old run goes
        run.check({"seed": 2}, overwrite=True)
        with RunLog(run.log_path) as log:
            log.append(_Rec(i=0))
        run.record_written()
    assert not (folder / ASIDE_NAME).exists() and json.loads((folder / "log.jsonl").read_text()) == {"i": 0}


def test_a_killed_overwrite_is_finished_by_the_next_writer(tmp_path):
    folder = tmp_path / "run_0"
    _write_run(folder, {"seed": 1}, lines=2)
    old_log = (folder / "log.jsonl").read_bytes()
    run = RunFolder(folder).acquire()
    run.check({"seed": 2}, overwrite=True)
    (folder / "run.json").write_text(json.dumps({"settings": {"seed": 2}}))
    run._lock.release()  # what kill -9 leaves: the lock is gone, the old run is aside, no new record
    with RunFolder(folder):
        pass
    assert (folder / "log.jsonl").read_bytes() == old_log
    assert json.loads((folder / "run.json").read_text())["settings"] == {"seed": 1}


class _Rec(BaseModel):
    i: int


def test_pool_bounds_concurrency_and_reports_in_completion_order():
    active, peak, seen = 0, 0, []

    async def work(i: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01 * (5 - i % 5))
        active -= 1
        return i * i

    asyncio.run(run_pool(range(20), work, lambda i, r: seen.append((i, r)), concurrency=4))
    assert peak == 4 and sorted(seen) == [(i, i * i) for i in range(20)]


def test_pool_stops_at_the_first_fatal_error_and_cancels_the_rest():
    started, finished = [], []

    async def work(i: int) -> int:
        started.append(i)
        if i == 3:
            raise RuntimeError("fatal")
        await asyncio.sleep(0.05)
        finished.append(i)
        return i

    with pytest.raises(RuntimeError, match="fatal"):
        asyncio.run(run_pool(range(100), work, lambda i, r: None, concurrency=4))
    assert len(started) < 10 and 3 not in finished


class _Rec(BaseModel):
    i: int


def test_run_log_records_are_readable_at_once_and_fsynced_in_groups(tmp_path, monkeypatch):
    from lalm_bench.runs.log import read_records

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    path = tmp_path / "log.jsonl"
    log = RunLog(path, sync_interval_s=0.2)
    for i in range(50):
        log.append(_Rec(i=i))
        # what is appended is in the file for the next reader (a killed process's successor) at once
        assert [r.i for r in read_records(path, _Rec, repair=False)] == list(range(i + 1))
    assert log.synced >= 1 and len(synced) < 10  # the first at once, the rest grouped
    log.close()
    assert log.synced == 50


def test_run_pool_keeps_concurrency_and_stops_at_the_first_failure():
    running = peak = 0
    seen: list[int] = []

    async def work(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (i % 3))
        running -= 1
        if i == 40:
            raise RuntimeError("boom")
        return i

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(run_pool(range(100), work, lambda i, r: seen.append(r), concurrency=8))
    assert peak == 8 and 40 not in seen and len(seen) < 100
    seen.clear()
    asyncio.run(run_pool(range(30), lambda i: asyncio.sleep(0, i), lambda i, r: seen.append(r), concurrency=64))
    assert sorted(seen) == list(range(30))
