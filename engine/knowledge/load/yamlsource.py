"""Safe YAML reading that remembers where each mapping and key came from, for file:line messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from clonus.engine.errors import KbError, Problem


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


# libyaml's parser (CSafeLoader) is about 8x faster than the pure-Python one and its nodes carry the
# same marks; construction stays SafeConstructor's (plain data only, never objects or code).
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_STR_TAG = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
_RESOLVED_MAX = 50_000


class _LineLoader(_SafeBase):  # type: ignore[misc,valid-type]  # base chosen at import (libyaml or not)
    """A safe loader (no object construction, no code) that records node positions."""

    # The tag of a plain scalar depends on its text only (no path resolvers here): remember it, since
    # the regex-based resolution of every scalar is the largest cost left once libyaml parses.
    _resolved: dict[str, str] = {}

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._resolved.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._resolved) < _RESOLVED_MAX:
                    self._resolved[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


def _fill_mapping(node: yaml.MappingNode, result: LineDict, build) -> LineDict:
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = build(key_node)
        if not isinstance(key, (str, int, float, bool)) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = build(value_node)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _fill_sequence(node: yaml.SequenceNode, result: LineList, build) -> LineList:
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    result.extend(build(child) for child in node.value)
    return result


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    return _fill_mapping(node, LineDict(), lambda child: loader.construct_object(child, deep=True))


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    return _fill_sequence(node, LineList(), lambda child: loader.construct_object(child, deep=True))


_LineLoader.add_constructor(_MAP_TAG, _construct_mapping)
_LineLoader.add_constructor(_SEQ_TAG, _construct_sequence)


def _build(loader: _LineLoader, node: yaml.Node, memo: dict[int, Any]) -> Any:
    """Node tree to LineDict/LineList/scalars directly, skipping the constructor's generic machinery for
    the common tags; any other tag goes to SafeConstructor (which refuses what it does not know)."""
    if type(node) is yaml.ScalarNode and node.tag == _STR_TAG:
        return node.value
    done = memo.get(id(node))
    if done is not None:  # an alias of a collection already built
        return done
    build = lambda child: _build(loader, child, memo)  # noqa: E731 - a closure over memo
    if type(node) is yaml.MappingNode and node.tag == _MAP_TAG:
        loader.flatten_mapping(node)
        mapping = memo[id(node)] = LineDict()
        return _fill_mapping(node, mapping, build)
    if type(node) is yaml.SequenceNode and node.tag == _SEQ_TAG:
        sequence = memo[id(node)] = LineList()
        return _fill_sequence(node, sequence, build)
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, name: str) -> Any:
    """Parse YAML text safely, keeping line numbers; a syntax error becomes a located KbError."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _build(loader, node, {})
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise KbError([Problem(name, line, None, None, f"invalid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise KbError([Problem(name, 0, None, None, f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()


def read_yaml(path: Path, display: str) -> Any:
    """Read one KB file; unreadable files are located problems too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KbError([Problem(display, 0, None, None, f"cannot read file: {exc}")]) from exc
    return parse_yaml(text, display)
