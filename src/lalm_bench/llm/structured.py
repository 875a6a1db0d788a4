"""Structured output: strict JSON schemas from pydantic models, and tolerant reply parsing."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)


class ReplyParseError(ValueError):
    """A reply that holds no JSON valid for the schema; the message says why (for the repair prompt)."""


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema made acceptable to OpenAI-style strict mode.

    Every object gets ``additionalProperties: false`` and lists all its properties as required;
    ``default`` keywords (not allowed in strict mode) are dropped."""
    schema = copy.deepcopy(model.model_json_schema())

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            if node.get("type") == "object" or "properties" in node:
                props = node.get("properties", {})
                node["additionalProperties"] = False
                node["required"] = list(props)
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(schema)
    return schema


def schema_name(model: type[BaseModel]) -> str:
    """A ``json_schema.name`` for ``model`` (``[A-Za-z0-9_-]``, at most 64 characters)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", model.__name__)[:64] or "reply"


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, a fenced block, or the first balanced object/array.

    Raises :class:`ReplyParseError` when there is none."""
    cleaned = _THINK.sub("", text).strip()
    candidates = [cleaned, *(m.group(1).strip() for m in _FENCE.finditer(cleaned))]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(cleaned):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(cleaned, i)
            except ValueError:
                continue
            return value
    raise ReplyParseError("the reply contains no JSON object")


def parse_reply(text: str, schema: type[BaseModel]) -> BaseModel:
    """Validate the JSON in ``text`` against ``schema``; :class:`ReplyParseError` says what is wrong."""
    value = extract_json(text)
    try:
        return schema.model_validate(value)
    except ValidationError as exc:
        # A model asked for an object sometimes wraps it in a one-element list.
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            try:
                return schema.model_validate(value[0])
            except ValidationError:
                pass
        errors = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:10])
        raise ReplyParseError(f"the JSON does not match the schema: {errors}") from None
