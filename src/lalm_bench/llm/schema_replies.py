"""Replies that follow a request's JSON schema: a random valid instance of it (what a server with constrained
decoding may answer, e.g. vLLM's structured outputs or llama.cpp's grammars), for the test and dry-run servers."""

from __future__ import annotations

import collections
import json
import random
import threading
from collections.abc import Callable
from typing import Any

from lalm_bench.llm.testserver import RecordedRequest, Reply, completion, default_responder


def request_schema(body: Any) -> dict[str, Any] | None:
    """The JSON schema a request asks its reply to follow: ``response_format.json_schema.schema`` or vLLM's
    ``structured_outputs.json``; ``None`` for a request without one (``json_object`` carries none)."""
    if not isinstance(body, dict):
        return None
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
    structured = body.get("structured_outputs")
    if isinstance(structured, dict) and isinstance(structured.get("json"), dict):
        return structured["json"]
    return None


_WORDS = ("rain", "a dog barks", "", "met", "C1", "engine", "{", "water drips", "ü", "x" * 40)


def schema_instance(schema: dict[str, Any], rng: random.Random, *, max_items: int = 4) -> Any:
    """A random JSON value valid for ``schema`` (the subset pydantic writes: ``$ref``/``$defs``,
    ``anyOf``/``oneOf``, ``enum``, ``const``, objects, arrays, strings, numbers, booleans, null).

    Optional properties come or not at random, arrays take any allowed length, strings any words:
    what constrained decoding guarantees, and no more."""
    root = schema

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = root
            for key in node["$ref"].lstrip("#/").split("/"):
                target = target[key]
            node = target
        return node

    def gen(node: dict[str, Any], depth: int) -> Any:
        node = resolve(node)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return rng.choice(node["enum"])
        for key in ("anyOf", "oneOf"):
            if key in node:
                return gen(rng.choice(node[key]), depth)
        if node.get("allOf"):
            return gen(node["allOf"][0], depth)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind is None:
            kind = "object" if "properties" in node else "string"
        if kind == "object":
            props = node.get("properties", {})
            required = set(node.get("required", []))
            out = {k: gen(v, depth + 1) for k, v in props.items() if k in required or rng.random() < 0.5}
            extra = node.get("additionalProperties", True)
            if extra is not False and depth < 3 and rng.random() < 0.3:
                out[f"extra_{rng.randrange(100)}"] = gen(extra if isinstance(extra, dict) else {}, depth + 1)
            return out
        if kind == "array":
            fewest = int(node.get("minItems", 0))
            most = int(node.get("maxItems", max(fewest, max_items if depth < 3 else fewest)))
            return [gen(node.get("items", {}), depth + 1) for _ in range(rng.randint(fewest, max(fewest, most)))]
        if kind == "string":
            text = rng.choice(_WORDS)
            text = text.ljust(int(node.get("minLength", 0)), "a")
            return text if node.get("maxLength") is None else text[: int(node["maxLength"])]
        if kind in ("integer", "number"):
            low = node.get("minimum", node.get("exclusiveMinimum", -5))
            high = node.get("maximum", node.get("exclusiveMaximum", 10))
            value = rng.randint(int(low) + ("exclusiveMinimum" in node), int(high) - ("exclusiveMaximum" in node))
            return value if kind == "integer" else value + rng.choice((0.0, 0.5))
        if kind == "boolean":
            return rng.random() < 0.5
        return None

    return gen(schema, 0)


class SchemaFollower:
    """A responder that answers every request carrying a JSON schema with a random instance of it, as a
    server with constrained decoding would (valid for the schema, otherwise arbitrary); other requests
    go to ``fallback`` (default: ``"ok"``). ``counts`` tallies ``schema`` and ``other`` replies."""

    def __init__(
        self, fallback: Callable[[RecordedRequest], Reply | str | dict] | None = None, *, seed: int = 0
    ) -> None:
        self.fallback = fallback or default_responder
        self.counts: collections.Counter[str] = collections.Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply | str | dict:
        schema = request_schema(request.body)
        with self._lock:
            self.counts["schema" if schema is not None else "other"] += 1
            if schema is not None:
                return completion(json.dumps(schema_instance(schema, self._rng)))
        return self.fallback(request)
