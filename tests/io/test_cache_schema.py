"""Both SQLite caches carry a schema version: an old file is adopted, a newer or foreign one refused in one line."""

from __future__ import annotations

import sqlite3

import pytest

from lalm_bench.embeddings.cache import SCHEMA_VERSION as EMB_VERSION
from lalm_bench.embeddings.cache import EmbeddingCache
from lalm_bench.errors import InputError
from lalm_bench.llm.cache import SCHEMA_VERSION as LLM_VERSION
from lalm_bench.llm.cache import ResponseCache
from lalm_bench.llm.errors import LLMConfigError


def _version(path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_new_caches_are_stamped(tmp_path):
    EmbeddingCache(tmp_path / "emb").close()
    ResponseCache(tmp_path / "llm.sqlite").close()
    assert _version(tmp_path / "emb" / "embeddings.sqlite3") == EMB_VERSION
    assert _version(tmp_path / "llm.sqlite") == LLM_VERSION


def test_a_cache_from_before_versioning_is_adopted(tmp_path):
    path = tmp_path / "llm.sqlite"
    ResponseCache(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 0")
    ResponseCache(path).close()
    assert _version(path) == LLM_VERSION


def test_a_newer_or_foreign_cache_is_refused(tmp_path):
    EmbeddingCache(tmp_path / "emb").close()
    db = tmp_path / "emb" / "embeddings.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(InputError, match="schema version 99, written by a newer lalm-bench"):
        EmbeddingCache(tmp_path / "emb")
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    with pytest.raises(LLMConfigError, match="is not a valid LLM response cache for this lalm-bench"):
        ResponseCache(foreign)
