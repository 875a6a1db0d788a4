"""Issue 19, items 1 and 2: special files (FIFOs, sockets, devices) are never read as audio nor replaced
as outputs, and Ctrl-C ends a command within seconds whatever its worker threads are doing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import time
from pathlib import Path

import pandas as pd
import pytest

from lalm_bench.llm.testserver import ScriptedOpenAIServer
from lalm_bench.rubrics.common.fakes import JudgeLLM
from tests.hardening.helpers import FAST_OPTIONS, cli_process, make_wav, run_cli_subprocess, wait_for
from tests.predict.helpers import write_jsonl, write_wav


def _special_nodes(folder: Path) -> dict[str, str]:
    """A FIFO, a socket and (where this process may make one) a character device under ``folder``:
    ``{file name: what the error must call it}``."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "fifo.wav")
    nodes = {"fifo.wav": "a FIFO, not a regular file"}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(folder / "socket.wav"))
    sock.close()  # the node stays
    nodes["socket.wav"] = "a socket, not a regular file"
    with contextlib.suppress(PermissionError, OSError):
        os.mknod(folder / "device.wav", stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
        nodes["device.wav"] = "a character device, not a regular file"
    return nodes


@pytest.fixture
def short_tmp(tmp_path_factory):
    """A short path: a Unix socket's path must fit in about 100 bytes."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lb-") as d:
        yield Path(d)


def test_special_files_under_the_audio_root_fail_their_item_and_the_others_run(short_tmp):
    audio = short_tmp / "audio"
    nodes = _special_nodes(audio)
    write_wav(audio / "real.wav", 0.3)
    rows = [{"id": f"i{k}", "audio_path": name, "question": f"Q{k}?", "choices": ["x", "y"]}
            for k, name in enumerate([*nodes, "real.wav"])]  # fmt: skip
    bench = write_jsonl(short_tmp / "bench.jsonl", rows)
    out = short_tmp / "p.parquet"
    args = ["predict", "--benchmark", bench, "--model", "mock/echo", "--audio-root", audio, "-o", out, "--quiet",
            "--condition", "audio,noise"]  # fmt: skip
    res = run_cli_subprocess(*args, cwd=short_tmp, timeout=120)  # a worker opening the FIFO used to hang here
    assert res.returncode == 0, res.stderr
    assert f"{len(nodes)} of {len(rows)} items to ask lack audio" in res.stderr
    for condition in ("audio", "noise"):
        df = pd.read_parquet(short_tmp / f"p_{condition}.parquet").set_index("audio_path")
        for name, kind in nodes.items():
            assert pd.isna(df.loc[name, "model_output"])
            assert df.loc[name, "error"] == f"unreadable audio file {(audio / name).resolve()} ({kind})"
        assert pd.isna(df.loc["real.wav", "error"]) and df.loc["real.wav", "model_output"]
    assert stat.S_ISFIFO(os.stat(audio / "fifo.wav").st_mode)  # nothing was replaced either


def _judge_args(folder: Path, server: ScriptedOpenAIServer, audio: Path, clips: list[str]) -> list[object]:
    csv = folder / "clotho_captions_evaluation.csv"
    lines = ["file_name,caption_1,caption_2,caption_3,caption_4,caption_5"]
    lines += [f"{c}," + ",".join(f"a dog barks near a river {j}" for j in range(5)) for c in clips]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rubric = folder / "rubric.json"
    rubric.write_text(json.dumps([{"criterion": "The caption mentions that a dog barks.", "weight": 1}]))
    captions = folder / "captions.csv"
    pd.DataFrame({"file_name": clips, "model_output": ["A dog barks."] * len(clips)}).to_csv(captions, index=False)
    return [
        "rubrics", "judge", "--rubric", rubric, "--captions", captions, "--name", "sys", "--csv", csv,
        "--judge-model", "openai/judge", "--base-url", server.base_url, "--output-dir", folder / "out",
        "--judge-with-audio", "--audio-dir", audio, "--quiet", "--max-retries", "1", *FAST_OPTIONS,
    ]  # fmt: skip


def test_judge_with_audio_fails_the_captions_of_special_files_and_judges_the_others(short_tmp):
    audio = short_tmp / "audio"
    nodes = _special_nodes(audio)
    (audio / "real.wav").write_bytes(make_wav(seconds=0.1))
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        res = run_cli_subprocess(*_judge_args(short_tmp, server, audio, [*nodes, "real.wav"]), cwd=short_tmp,
                                 timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    log = [json.loads(line) for line in (short_tmp / "out" / "log.jsonl").read_text().splitlines()]
    by_clip = {r["clip"]: r for r in log}
    for name, kind in nodes.items():
        assert by_clip[name]["error_kind"] == "audio" and by_clip[name]["error"].endswith(f"({kind})")
    assert by_clip["real.wav"]["error"] is None


# A worker thread blocked in I/O for good (a hung network mount, a device that never answers): simulated
# by a read from a pipe nobody writes, in place of the audio read. Nothing else of the command is changed.
BLOCKED_ENTRY = """
import os, sys
import lalm_bench.audio.files as audio
r, w = os.pipe()
def blocked(*args, **kwargs):
    open(os.environ["LB_BLOCKED_FLAG"], "w").close()
    os.read(r, 1)
audio.read_audio_head = blocked
audio.read_audio_part = blocked
from lalm_bench.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", ["predict", "judge"])
def test_ctrl_c_exits_130_within_seconds_while_a_worker_is_blocked_in_io(short_tmp, monkeypatch, command):
    flag = short_tmp / "blocked"
    monkeypatch.setenv("LB_BLOCKED_FLAG", str(flag))
    audio = short_tmp / "audio"
    audio.mkdir()
    (audio / "a.wav").write_bytes(make_wav(seconds=0.1))
    with ScriptedOpenAIServer(JudgeLLM()) as server:
        if command == "predict":
            bench = write_jsonl(short_tmp / "b.jsonl", [{"id": "1", "audio_path": "a.wav", "question": "Q?"}])
            args: list[object] = ["predict", "--benchmark", bench, "--model", "mock/echo", "--audio-root", audio,
                                  "-o", short_tmp / "p.parquet", "--quiet"]  # fmt: skip
        else:
            args = _judge_args(short_tmp, server, audio, ["a.wav"])
        proc = cli_process(*args, cwd=short_tmp, entry=BLOCKED_ENTRY)
        wait_for(flag.exists, proc, timeout=120)
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert err.splitlines()[-1].startswith("interrupted") and "Traceback" not in err
    assert took < 5, f"took {took:.1f} s to exit"


# ---- item 2: an output that exists must be a regular file, --overwrite or not -------------------------------
def _node(path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        sock.close()
    return path


def _sample_predictions(folder: Path) -> tuple[Path, Path]:
    from lalm_bench.samples import SAMPLE_AUDIO, SAMPLE_NOISE

    return Path(SAMPLE_AUDIO), Path(SAMPLE_NOISE)


@pytest.mark.parametrize(
    ("case", "what"),
    [
        ("similarity --plot /dev/null", "a character device"),
        ("similarity -o FIFO", "a FIFO"),
        ("accuracy --items SOCKET", "a socket"),
        ("predict -o (its table a FIFO)", "a FIFO"),
        ("rubrics compare -o SOCKET", "a socket"),
    ],
)
def test_overwrite_onto_a_device_fifo_or_socket_is_one_error_before_work(short_tmp, case, what):
    audio, noise = _sample_predictions(short_tmp)
    fifo, sock = short_tmp / "out.fifo", short_tmp / "items.csv"
    if case == "similarity --plot /dev/null":
        # a hub model that is not cached: loading it would fail, so this error proves it came first
        args = ["similarity", "--model", "nobody/not-cached", "-o", short_tmp / "r.json", "--plot", "/dev/null"]
        node = Path("/dev/null")
    elif case == "similarity -o FIFO":
        args = ["similarity", "--model", "nobody/not-cached", "-o", _node(fifo, "fifo")]
        node = fifo
    elif case == "accuracy --items SOCKET":
        args = ["accuracy", "--audio-file", audio, "--noise-file", noise, "-o", short_tmp / "a.json",
                "--items", _node(sock, "socket")]  # fmt: skip
        node = sock
    elif case == "predict -o (its table a FIFO)":
        bench = write_jsonl(short_tmp / "b.jsonl", [{"id": "1", "audio_path": "a.wav", "question": "Q?"}])
        node = _node(short_tmp / "p_none.parquet", "fifo")
        args = ["predict", "--benchmark", bench, "--model", "mock/echo", "--condition", "none",
                "-o", short_tmp / "p.parquet"]  # fmt: skip
    else:
        for name in ("r1.json", "r2.json"):
            (short_tmp / name).write_text(json.dumps([{"criterion": "A dog barks.", "weight": 1}]))
        args = ["rubrics", "compare", short_tmp / "r1.json", short_tmp / "r2.json", "--model", "mock:hash",
                "--threshold", "0.9", "-o", _node(sock, "socket")]  # fmt: skip
        node = sock
    before = os.stat(node)
    res = run_cli_subprocess(*args, "--overwrite", "--quiet", cwd=short_tmp, timeout=120)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error: "), res.stderr
    assert f"{node} is {what}, not a regular file" in res.stderr
    after = os.stat(node)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    assert not [p for p in short_tmp.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]


def test_output_set_refuses_a_node_that_appeared_after_the_check(tmp_path):
    """The last guard: a FIFO created between the check and the commit is not replaced either."""
    from lalm_bench.errors import InputError
    from lalm_bench.io import OutputSet

    target = tmp_path / "out.json"
    with pytest.raises(InputError, match="is a FIFO, not a regular file"), OutputSet() as out:
        out.json(target, {"a": 1})
        os.mkfifo(target)
    assert stat.S_ISFIFO(os.stat(target).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left
