"""The run engine on a small job of its own: lifecycle order, resume, one-shape callbacks, fatal errors, cleanup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lalm_bench.errors import InputError, LalmBenchError, RunLockedError
from lalm_bench.llm.calls import call_step
from lalm_bench.llm.errors import LLMAuthError
from lalm_bench.llm.interface import Message
from lalm_bench.llm.options import LLMOptions
from lalm_bench.runs import LLMJob, Models, RunFolder, RunSlot, read_records, run_job
from lalm_bench.runs.engine import Lock


class Echo(BaseModel):
    word: str
    text: str | None


class WordsJob(LLMJob[str, Echo, RunSlot[Echo], list[str]]):
    """Asks ``mock/echo`` to repeat each word, in one run folder."""

    unit = "word"

    def __init__(self, folder: Path, words: list[str], *, fail_on: str | None = None) -> None:
        self.folder, self.words, self.fail_on = folder, words, fail_on
        self.calls: list[str] = []
        self.kept: list[Echo] = []
        self.run: RunSlot[Echo] | None = None
        self.models = Models()

    def check(self) -> dict[str, tuple[str, LLMOptions]]:
        self.calls.append("check")
        if not self.words:
            raise InputError("no words")
        return {"echo": ("mock/echo", LLMOptions(use_cache=False))}

    def open_runs(self, models: Models, lock: Lock) -> list[RunSlot[Echo]]:
        self.calls.append("open_runs")
        self.models = models
        folder = lock(RunFolder(self.folder))
        identity = {"words": len(self.words)}
        resume = folder.check(identity, overwrite=False)
        self.kept = read_records(folder.log_path, Echo, key=lambda r: r.word) if resume else []
        if any(r.word not in self.words for r in self.kept):
            raise InputError("the log holds another word")
        self.run = RunSlot(folder=folder, identity=identity, resumed=len(self.kept))
        return [self.run]

    def ready(self) -> None:
        self.calls.append("ready")

    def manifest(self, run: RunSlot[Echo]) -> dict[str, Any]:
        return {"settings": run.identity, "models": self.models.info}

    def plan(self) -> list[str]:
        done = {r.word for r in self.kept}
        return [w for w in self.words if w not in done]

    async def step(self, task: str) -> Echo:
        if task == self.fail_on:
            raise LLMAuthError("mock/echo: the key was refused")
        res, _reply = await call_step(self.models["echo"], [Message.text("user", task)])
        return Echo(word=task, text=res.text if res is not None else None)

    def run_of(self, task: str) -> RunSlot[Echo]:
        assert self.run is not None
        return self.run

    def concurrency(self) -> int:
        return 2

    def commit(self, run: RunSlot[Echo], record: Echo) -> None:
        self.kept.append(record)

    def result(self) -> list[str]:
        return sorted(r.text or "" for r in self.kept)


def _run(job: WordsJob, on_record: Any = None) -> list[str]:
    return run_job(job, on_start=lambda: on_record)


def test_a_job_runs_in_order_and_each_record_reaches_log_state_and_callback(tmp_path):
    job = WordsJob(tmp_path / "run", ["a", "b", "c"])
    seen: list[Echo] = []
    assert _run(job, seen.append) == ["a", "b", "c"]
    assert job.calls == ["check", "open_runs", "ready"]
    assert sorted(r.word for r in seen) == ["a", "b", "c"]  # on_record(record): one argument, every job
    logged = read_records(tmp_path / "run" / "log.jsonl", Echo)
    assert sorted(r.word for r in logged) == ["a", "b", "c"]
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["settings"] == {"words": 3}
    assert manifest["models"]["echo"]["name"] == "mock/echo"  # llm.describe_model
    with RunFolder(tmp_path / "run"):  # released: the next writer gets the lock
        pass


def test_a_rerun_resumes_and_keeps_the_manifest_of_an_unchanged_run(tmp_path):
    _run(WordsJob(tmp_path / "run", ["a", "b"]))
    manifest = tmp_path / "run" / "run.json"
    manifest.write_text(manifest.read_text().replace('"models"', '"models_marked"'))  # rewritten -> mark gone
    job = WordsJob(tmp_path / "run", ["a", "b"])
    seen: list[Echo] = []
    assert _run(job, seen.append) == ["a", "b"]
    assert seen == []  # nothing left to ask
    assert "models_marked" in manifest.read_text()


def test_a_fatal_error_is_one_line_that_says_rerunning_resumes_and_everything_is_released(tmp_path):
    job = WordsJob(tmp_path / "run", ["a", "b", "c", "d"], fail_on="d")
    with pytest.raises(LalmBenchError, match=r"the key was refused \(the logs keep every finished word; rerun"):
        _run(job)
    with RunFolder(tmp_path / "run"):
        pass
    rerun = WordsJob(tmp_path / "run", ["a", "b", "c", "d"])
    assert _run(rerun) == ["a", "b", "c", "d"]
    assert sorted(r.word for r in read_records(tmp_path / "run" / "log.jsonl", Echo)) == ["a", "b", "c", "d"]


def test_a_refusal_after_the_lock_releases_the_folder(tmp_path):
    _run(WordsJob(tmp_path / "run", ["a", "b"]))
    with pytest.raises(InputError, match="another word"):
        _run(WordsJob(tmp_path / "run", ["x", "y"]))
    with RunFolder(tmp_path / "run"):
        pass


def test_a_locked_folder_is_refused_before_any_request(tmp_path):
    with RunFolder(tmp_path / "run"), pytest.raises(RunLockedError):
        _run(WordsJob(tmp_path / "run", ["a"]))
