"""The SQLite response cache: keys, what is cached, sharing between processes, crash consistency."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from pydantic import BaseModel

from lalm_bench.llm import (
    AudioPart,
    LLMRequestError,
    LLMResponseError,
    Message,
    ResponseCache,
    Sampling,
    TextPart,
    Usage,
    cache_key,
    default_cache_path,
    is_cacheable,
    open_cache,
)
from lalm_bench.llm.testserver import error
from tests.llm.helpers import Criteria, make_wav, model_for, run

WAV = make_wav()


class Other(BaseModel):
    answer: str


def base_request(**changes):
    req = {
        "model": "openai/Qwen/Qwen3-Omni-30B-A3B-Instruct",
        "base_url": "http://127.0.0.1:8000/v1",
        "messages": [Message("user", (TextPart("Describe."), AudioPart(WAV, "wav")))],
        "sampling": Sampling(),
        "schema": Criteria,
        "extra": {"prompt_version": "v1"},
    }
    req.update(changes)
    return req


def test_key_is_stable_and_sensitive_to_every_input():
    key = cache_key(**base_request())
    assert key == cache_key(**base_request()) and len(key) == 64
    variants = {
        "model": base_request(model="openai/other"),
        "base_url": base_request(base_url="http://127.0.0.1:9000/v1"),
        "text": base_request(messages=[Message("user", (TextPart("Describe!"), AudioPart(WAV, "wav")))]),
        "audio bytes": base_request(
            messages=[Message("user", (TextPart("Describe."), AudioPart(make_wav(freq=880.0), "wav")))]
        ),
        "role": base_request(messages=[Message("system", (TextPart("Describe."), AudioPart(WAV, "wav")))]),
        "temperature": base_request(sampling=Sampling(temperature=0.7)),
        "seed": base_request(sampling=Sampling(seed=3)),
        "max_tokens": base_request(sampling=Sampling(max_tokens=10)),
        "schema": base_request(schema=Other),
        "no schema": base_request(schema=None),
        "prompt version": base_request(extra={"prompt_version": "v2"}),
        "run": base_request(extra={"prompt_version": "v1", "run": "stoch-1", "seed": 1}),
    }
    keys = {name: cache_key(**req) for name, req in variants.items()}
    assert key not in keys.values()
    assert len(set(keys.values())) == len(keys)


def test_key_ignores_credentials_and_audio_identity_is_its_hash():
    with_creds = base_request(base_url="http://user:secret@127.0.0.1:8000/v1")
    assert cache_key(**with_creds) == cache_key(**base_request())
    copy = Message("user", (TextPart("Describe."), AudioPart(bytes(WAV), "wav")))
    same_bytes = base_request(messages=[copy])
    assert cache_key(**same_bytes) == cache_key(**base_request())


def test_what_is_cacheable():
    assert is_cacheable(Sampling(), None)
    assert not is_cacheable(Sampling(temperature=1.0), None)
    assert not is_cacheable(Sampling(temperature=1.0), {"prompt_version": "v1"})
    assert is_cacheable(Sampling(temperature=1.0), {"prompt_version": "v1", "run": "stoch/1", "seed": 1})


def test_deterministic_call_hits_cache(server, tmp_path):
    server.responder = lambda req: '{"items": [{"text": "rain", "weight": 2}], "note": null}'
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = model_for(server, cache=cache)
    msgs = [Message("user", (TextPart("Describe."), AudioPart(WAV, "wav")))]
    first = run(model.chat(msgs, schema=Criteria, cache_key_extra={"prompt_version": "v1"}))
    second = run(model.chat(msgs, schema=Criteria, cache_key_extra={"prompt_version": "v1"}))
    assert not first.cached and second.cached
    assert second.parsed == first.parsed and second.text == first.text
    assert second.usage == first.usage and second.attempts == 0
    assert len(server.requests) == 1
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert (model.stats.cache_hits, model.stats.cache_misses) == (1, 1)
    # another prompt version is another entry
    run(model.chat(msgs, schema=Criteria, cache_key_extra={"prompt_version": "v2"}))
    assert len(server.requests) == 2


def test_cache_persists_across_model_instances(server, tmp_path):
    path = tmp_path / "c.sqlite"
    run(model_for(server, cache=str(path)).chat([Message.text("user", "q")]))
    again = run(model_for(server, cache=str(path)).chat([Message.text("user", "q")]))
    assert again.cached and again.text == "ok" and len(server.requests) == 1


def test_stochastic_calls_cached_per_run_and_seed(server, tmp_path):
    server.responder = lambda req: f"sample {len(server.requests)}"
    model = model_for(server, cache=ResponseCache(tmp_path / "c.sqlite"))
    msgs = [Message.text("user", "q")]
    hot = Sampling(temperature=1.0, seed=7)

    def call(extra):
        return run(model.chat(msgs, sampling=hot, cache_key_extra=extra))

    a1, a2 = call(None), call(None)  # no run identity: never cached
    assert not a1.cached and not a2.cached and a1.text != a2.text
    r1 = call({"run": "stoch/run-1", "seed": 7})
    r1_again = call({"run": "stoch/run-1", "seed": 7})  # rerunning the run resumes from the cache
    r2 = call({"run": "stoch/run-2", "seed": 7})  # another run still samples afresh
    assert r1_again.cached and r1_again.text == r1.text
    assert not r2.cached and r2.text != r1.text
    assert len(server.requests) == 4


def test_errors_are_never_cached(server, tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    model = model_for(server, cache=cache)
    msgs = [Message.text("user", "q")]
    server.script(error(400, "nope"))
    with pytest.raises(LLMRequestError):
        run(model.chat(msgs))
    server.script("not json", "still not json")
    with pytest.raises(LLMResponseError):
        run(model.chat(msgs, schema=Criteria))
    assert len(cache) == 0
    assert run(model.chat(msgs)).cached is False  # the failed call is asked again
    assert len(cache) == 1 and len(server.requests) == 4


def test_cache_disabled(server, monkeypatch, tmp_path):
    model = model_for(server, cache=None)
    assert model.cache is None
    run(model.chat([Message.text("user", "q")]))
    run(model.chat([Message.text("user", "q")]))
    assert len(server.requests) == 2
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", "off")
    assert default_cache_path() is None and open_cache(True) is None
    monkeypatch.setenv("LALM_BENCH_LLM_CACHE", str(tmp_path / "x.sqlite"))
    assert default_cache_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("LALM_BENCH_LLM_CACHE")
    assert default_cache_path().parts[-2:] == ("lalm-bench", "llm-cache.sqlite")


WRITER = textwrap.dedent(
    """
    import sys
    from lalm_bench.llm.cache import ResponseCache
    from lalm_bench.llm.interface import Usage
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cache = ResponseCache(path)
    for i in range(n):
        cache.put(f"{tag}-{i}", f"text {tag} {i}" * 20, Usage(i, 1), "m", {"i": i})
        if i == 20:
            print("started", flush=True)
    print("done", flush=True)
    """
)


def test_two_processes_share_one_cache(tmp_path):
    path = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, "300"], stdout=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip().endswith("done")
    with ResponseCache(path) as cache:
        assert len(cache) == 600
        entry = cache.get("b-299")
        assert entry.text == "text b 299" * 20 and entry.usage == Usage(299, 1) and entry.meta == {"i": 299}


def test_killed_writer_leaves_cache_consistent(tmp_path):
    path = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "k", "1000000"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with ResponseCache(path) as cache:
        n = len(cache)
        assert n >= 21
        # every committed entry is complete: keys k-0 .. k-(n-1), none torn
        last = cache.get(f"k-{n - 1}")
        assert last is not None and last.text == f"text k {n - 1}" * 20
        assert cache.get(f"k-{n}") is None
        cache.put("after", "x", Usage(), "m")  # still writable
        assert cache.get("after").text == "x"


def test_unusable_cache_path_is_a_one_line_error(tmp_path):
    from lalm_bench.llm import LLMConfigError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LLMConfigError, match="cannot open the LLM response cache"):
        ResponseCache(blocker / "sub" / "c.sqlite")


def test_sampling_is_part_of_key_even_with_same_temperature():
    a = base_request(sampling=Sampling(temperature=0.0, top_p=0.5))
    b = base_request(sampling=replace(Sampling(), top_p=0.9))
    assert cache_key(**a) != cache_key(**b)


def test_grouped_writes_are_seen_at_once_and_committed_together(tmp_path):
    path = tmp_path / "grouped.sqlite"
    cache = ResponseCache(path)
    cache.group_writes(max_s=60, max_entries=3)
    cache.put("a", "A", Usage(1, 2), "m", {"x": 1})
    cache.put("b", "B", Usage(), "m")
    assert cache.get("a").text == "A" and cache.get("a").meta == {"x": 1}  # held, but served
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 0  # not committed yet
    cache.put("c", "C", Usage(), "m")  # the third entry commits the group
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 3
    cache.put("d", "D", Usage(), "m")
    cache.write_now()
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 4
    cache.put("e", "E", Usage(), "m")  # written at once again
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 5
    other.close()
    cache.close()
