"""What every section loader shares: the problem collector and shape checks on YAML nodes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from clonus.engine.errors import Problem, shown
from clonus.engine.suggest import did_you_mean

from .yamlsource import LineDict, LineList


class Collector:
    """Accumulates problems for one KB load so every one is reported."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int, rule: str | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(file, line, rule, field, message))


def display(path: Path) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def mapping(doc: Any, file: str, out: Collector, key: str | None = None) -> LineDict:
    node = doc.get(key) if key and isinstance(doc, dict) else doc
    if not isinstance(node, LineDict):
        line = doc.line if isinstance(doc, (LineDict, LineList)) else 1
        out.add(file, line, None, key, "expected a mapping")
        empty = LineDict()
        empty.key_lines = {}
        return empty
    return node


def unknown_keys(node: LineDict, allowed, file: str, rule: str | None, out: Collector, where: str = "") -> None:
    for key in node:
        if key not in allowed:
            out.add(file, node.line_of(key), rule, f"{where}{key}",
                    f"unknown field{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}")


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plain(value: Any) -> Any:
    """LineDict/LineList back to plain containers (cases are handed to intake as ordinary data)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def bind(value: Any, params: Mapping[str, Any], file: str, line: int, rule: str | None, field: str,
         out: Collector) -> Any:
    """A value as written, with `$name` (alone, or as an item of a list) replaced by that parameter's value."""
    if isinstance(value, list):
        return [bind(v, params, file, line, rule, field, out) for v in value]
    if isinstance(value, str) and value.startswith("$"):
        name = value[1:]
        if name not in params:
            out.add(file, line, rule, field, f"unknown parameter {shown(value)}"
                    f"{did_you_mean(name, params).replace(chr(39), chr(39) + '$', 1)}")
            return None
        return params[name]
    return value
