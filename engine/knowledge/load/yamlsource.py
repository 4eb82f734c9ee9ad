"""The one YAML reader of clonus (KB files and case files alike): safe, bounded, and line-aware.

Safe: plain data only (never an object, never code). Bounded: aliases may add at most ALIAS_BUDGET
values to a document (a "billion laughs" of 600 bytes is refused instead of filling memory), and
collections nest at most MAX_DEPTH deep. Line-aware: every mapping and list remembers where it came
from, for file:line messages. A key given twice, a key that is not a scalar, a tag whose value cannot be
read (`!!int abc`) or a tag clonus has no use for (`!!set`, `!!python/...`) is a located error.

Numbers are decimals as people write them (45, 17.9999, -3, .5): YAML 1.1's other number forms
(sexagesimal `1:05` = 65, leading-zero octal `055` = 45, `0x2d`, `4_5`) are read as text, which every
number check then refuses, instead of a different number than the one written. Case files ask for
exact numbers (Decimal), so that 17.99999999999999999 is not already 18.0 before intake sees it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from clonus.engine.errors import KbError, Problem, shown

from .files import read_text


class LineDict(dict):
    """A dict from YAML that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: object) -> int:
        return self.key_lines.get(str(key), self.line)  # keys are stored as text (a YAML key may be 1 or true)


class LineList(list):
    """A list from YAML that knows the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


ALIAS_BUDGET = 10_000  # values that aliases may add to one document (none of clonus' own files uses one)
MAX_DEPTH = 64         # nesting of mappings and lists (a case nests 2 deep, a rule's condition a few more)

# libyaml's parser (CSafeLoader) is about 8x faster than the pure-Python one and its nodes carry the
# same marks; construction stays SafeConstructor's (plain data only, never objects or code).
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_STR_TAG = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
_NUMBER_TAG = "tag:clonus,2025:decimal"  # a plain scalar written as a decimal number
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# the scalar tags a file may name explicitly (`!!str 45`); collections take only the default tags
_SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp"))
_RESOLVED_MAX = 50_000
DECIMAL_RE = re.compile(r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)")  # the one way to write a number
_NON_FINITE_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")      # read as floats, then refused


class _LineLoader(_SafeBase):  # type: ignore[misc,valid-type]  # base chosen at import (libyaml or not)
    """A safe loader (no object construction, no code) that records node positions."""

    # The tag of a plain scalar depends on its text only (no path resolvers here): remember it, since
    # the regex-based resolution of every scalar is the largest cost left once libyaml parses.
    _resolved: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._resolved.get(value)
            if tag is None:
                tag = _number_form(value, super().resolve(kind, value, implicit))
                if len(self._resolved) < _RESOLVED_MAX:
                    self._resolved[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


def _number_form(text: str, tag: str) -> str:
    """YAML 1.1 number forms other than a plain decimal (1:05, 055, 0x2d, 4_5, 1.5e+3) are text."""
    if tag not in _NUMBER_TAGS or _NON_FINITE_RE.fullmatch(text):
        return tag
    return _NUMBER_TAG if DECIMAL_RE.fullmatch(text) else _STR_TAG


class _Builder:
    """Node tree to LineDict/LineList/scalars, within the alias budget and the nesting limit."""

    def __init__(self, loader: _LineLoader, number: Callable[[str], Any]):
        self.loader = loader
        self.number = number
        self.done: dict[int, Any] = {}      # id(node) -> the collection built for it
        self.size: dict[int, int] = {}      # id(node) -> values in it, aliases expanded
        self.building: set[int] = set()     # collections being built: an alias to one is recursive
        self.added = 0                      # values that aliases added so far

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        if type(node) is yaml.ScalarNode:
            return self._scalar(node)
        key = id(node)
        if key in self.building:
            raise _error("an alias refers to the collection that contains it", node)
        if key in self.done:  # an alias of a collection already built: it adds its values again
            self.added += self.size[key]
            if self.added > ALIAS_BUDGET:
                raise _error(f"aliases expand this document by more than {ALIAS_BUDGET:,} values; "
                             "write the values out instead of repeating an alias", node)
            return self.done[key]
        if depth >= MAX_DEPTH:
            raise _error(f"collections nest more than {MAX_DEPTH} levels deep", node)
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            return self._tagged_collection(node)
        self.building.add(key)
        try:
            result = self._mapping(node, depth) if isinstance(node, yaml.MappingNode) else \
                self._sequence(node, depth) if isinstance(node, yaml.SequenceNode) else None
        finally:
            self.building.discard(key)
        self.done[key] = result
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG:
            return node.value
        if node.tag == _NUMBER_TAG:
            return self._convert(node, self.number)
        if node.tag not in _SCALAR_TAGS:
            if node.tag in (_MAP_TAG, _SEQ_TAG):
                raise _error(f"{_short_tag(node.tag)} {shown(node.value)} is a scalar, not a collection", node)
            return self._convert(node, lambda _: self.loader.construct_object(node, deep=True))
        return self._convert(node, lambda _: self.loader.construct_object(node, deep=True))

    def _convert(self, node: yaml.ScalarNode, convert: Callable[[str], Any]) -> Any:
        """A scalar's value; a text its tag cannot read (`!!int abc`, `!!timestamp soon`) is located."""
        try:
            return convert(node.value)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            raise _error(f"{_short_tag(node.tag)} {shown(node.value)} cannot be read as that type", node) from exc

    def _tagged_collection(self, node: yaml.Node) -> Any:
        if node.tag in ("tag:yaml.org,2002:set", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
            raise _error(f"{_short_tag(node.tag)} is not used in clonus files; write a plain mapping or list", node)
        return self.loader.construct_object(node, deep=True)  # refuses any other tag (no constructor)

    def _mapping(self, node: yaml.MappingNode, depth: int) -> LineDict:
        self.loader.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        size = 1
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if not isinstance(key, (str, int, float, bool, Decimal)) or key is None:
                raise _error("mapping keys must be plain scalars", key_node)
            if key in result:
                raise _error(f"duplicate key {shown(key)}", key_node)
            result[key] = value = self.build(value_node, depth + 1)
            result.key_lines[str(key)] = key_node.start_mark.line + 1
            size += 1 + self._size_of(value_node, value)
        self.size[id(node)] = size
        return result

    def _sequence(self, node: yaml.SequenceNode, depth: int) -> LineList:
        result = LineList()
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        size = 1
        for child in node.value:
            value = self.build(child, depth + 1)
            result.append(value)
            size += self._size_of(child, value)
        self.size[id(node)] = size
        return result

    def _size_of(self, node: yaml.Node, value: Any) -> int:
        return self.size.get(id(node), 1) if isinstance(value, (LineDict, LineList)) else 1


def _short_tag(tag: str) -> str:
    return "!!" + tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else shown(tag)


def _error(problem: str, node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _kb_number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def load_yaml(text: str, exact: bool = False) -> Any:
    """Parse YAML text into LineDict/LineList/scalars (None for an empty document). Numbers are int or
    float, or Decimal when `exact`. Raises yaml.YAMLError, located (problem_mark) wherever possible."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _Builder(loader, Decimal if exact else _kb_number).build(node)
    except RecursionError as exc:  # the pure-Python parser, without libyaml's own nesting limit
        raise yaml.YAMLError(f"collections nest too deep (more than {MAX_DEPTH} levels)") from exc
    finally:
        loader.dispose()


def problem_place(exc: yaml.YAMLError, text: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of a YAML error; at the end of the last line when libyaml places it past
    the end of a text without a final newline."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return None
    lines = text.split("\n")
    if mark.line >= len(lines):
        return len(lines), len(lines[-1]) + 1
    return mark.line + 1, mark.column + 1


def parse_yaml(text: str, name: str) -> Any:
    """Parse KB YAML text safely, keeping line numbers; any problem becomes a located KbError."""
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        place = problem_place(exc, text)
        line = place[0] if place else 0
        raise KbError([Problem(name, line, None, None, f"invalid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise KbError([Problem(name, 0, None, None, f"invalid YAML: {exc}")]) from exc


def read_yaml(path: Path, display: str) -> Any:
    """Read one KB file; unreadable files are located problems too."""
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise KbError([Problem(display, 0, None, None, f"cannot read file: {read_problem(exc)}")]) from exc
    return parse_yaml(text, display)


def read_problem(exc: OSError | UnicodeDecodeError) -> str:
    """Why a file could not be read, in a few words."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    return exc.strerror or str(exc)
