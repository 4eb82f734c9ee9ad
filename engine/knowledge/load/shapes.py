"""The shapes of rule and rule-test files, from their JSON Schemas (kb/schema/), checked before any
other check reads a value: `sources: [[S00]]` or `recommend: [{code: [a, b]}]` is a located problem,
never a TypeError deep in the loader.

Only the structure is checked here (`type`, `properties`, `additionalProperties` given as a schema,
`items`, `$ref`, and `oneOf`/`anyOf` by the branch whose type fits); the loader itself checks the rest
(required fields, enums, patterns, unknown keys) with messages that name what to write instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from .yamlsource import LineDict, LineList

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "kb" / "schema"  # kb/ beside engine/, clone or installed
_KINDS = {"string": "a text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
          "array": "a list", "object": "a mapping", "null": "empty"}


@cache
def schema(name: str) -> dict:
    """One of the shipped JSON Schemas (rules.schema.json, rule-tests.schema.json)."""
    loaded: dict = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return loaded


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (str, date)):  # YAML reads 2026-11-25 as a date; JSON (and the schema) as text
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _fits(value: Any, wanted: str | list[str]) -> bool:
    kinds = [wanted] if isinstance(wanted, str) else wanted
    actual = _type_of(value)
    return actual in kinds or actual == "integer" and "number" in kinds


def shape_problems(value: Any, node: dict, root: dict, path: str, line: int) -> Iterator[tuple[str, int, str]]:
    """(field path, line, message) for every place where `value` does not have the shape `node` asks."""
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        yield from shape_problems(value, target, root, path, line)
        return
    branches = node.get("oneOf") or node.get("anyOf")
    if branches and all("type" in b for b in branches):
        fitting = next((b for b in branches if _fits(value, b["type"])), None)
        if fitting is None:
            expected = " or ".join(dict.fromkeys(_KINDS.get(b["type"], b["type"]) for b in branches))
            yield path, line, f"is {_KINDS.get(_type_of(value), _type_of(value))}; expected {expected}"
            return
        yield from shape_problems(value, fitting, root, path, line)
        return
    if "type" in node and not _fits(value, node["type"]):
        wanted = [node["type"]] if isinstance(node["type"], str) else node["type"]
        expected = " or ".join(_KINDS.get(w, w) for w in wanted)
        hint = f" ({node['description']})" if "description" in node else ""
        yield path, line, f"is {_KINDS.get(_type_of(value), _type_of(value))}; expected {expected}{hint}"
        return
    if isinstance(value, dict):
        yield from _mapping_problems(value, node, root, path, line)
    elif isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            at = value.line_of(index) if isinstance(value, LineList) else line
            yield from shape_problems(item, node["items"], root, f"{path}[{index}]", at)


def _mapping_problems(value: dict, node: dict, root: dict, path: str, line: int) -> Iterator[tuple[str, int, str]]:
    properties = node.get("properties", {})
    extra = node.get("additionalProperties")
    for key, item in value.items():
        inner = properties.get(key, extra if isinstance(extra, dict) else None)
        if inner is None:
            continue  # an unknown key: the loader names it, with a did-you-mean
        at = value.line_of(key) if isinstance(value, LineDict) else line
        yield from shape_problems(item, inner, root, f"{path}.{key}" if path else str(key), at)
