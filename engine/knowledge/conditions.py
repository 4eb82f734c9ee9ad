"""The condition language of `when`: parsed from text into a small tree, never evaluated as Python.

One condition is one line of text about one fact:

    relief == inadequate          daily_dose_mg < 80         age >= 18
    spasticity in [focal, generalized]                       sleep_apnea not in [none_known, treated]
    other_medications has ciprofloxacin                      side_effects lacks fever
    respiratory_compromise        (the boolean is true)      not dialysis   (the boolean is false)
    missing age                   known egfr
    daily_dose_mg < $max_daily_mg (a named parameter of the KB or of its profile, bound at load)

Conditions combine with `all:`, `any:` and `not:` blocks. A comparison on a fact the case lacks is
neither true nor false: the rule simply does not fire (use `missing` to react to absence).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clonus.engine.errors import shown

# Each operator and the one that negates it (for pushing `not` down to single conditions).
NEGATION = {
    "==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">",
    "in": "not in", "not in": "in", "has": "lacks", "lacks": "has",
    "missing": "known", "known": "missing",
}
COMPARISONS = ("<", "<=", ">", ">=")
MAX_DISJUNCTS = 32
MAX_NUMBER_TEXT = 40  # a threshold is short; int() refuses past 4,300 digits anyway

Scalar = int | float | bool | str
Value = Scalar | tuple | None

_WORD = r"[A-Za-z_][A-Za-z0-9_.\-]*"
_PARAM = r"\$(?P<name>[a-z_][a-z0-9_]*)"
_NUMBER = r"-?\d+(?:\.\d+)?"
# matched on the stripped text, the value running to its end: linear in the length of the line (a lazy
# value before trailing white space made a long run of spaces quadratic)
_ATOM_RE = re.compile(
    rf"(?P<fact>{_WORD})\s*(?P<op>==|!=|<=|>=|<|>|not\s+in\b|in\b|has\b|lacks\b)\s*(?P<value>.+)", re.DOTALL
)
_UNARY_RE = re.compile(rf"^\s*(?P<op>missing|known|not)\s+(?P<fact>{_WORD})\s*$")
_BARE_RE = re.compile(rf"^\s*(?P<fact>{_WORD})\s*$")


class ConditionSyntaxError(ValueError):
    """A condition's text does not follow the grammar; the loader turns it into a Problem."""


@dataclass(frozen=True)
class Atom:
    """One test of one fact: `fact op value`. `value` is None for missing/known."""

    fact: str
    op: str
    value: Value = None

    def negated(self) -> Atom:
        if self.op == "==" and isinstance(self.value, bool):
            return Atom(self.fact, "==", not self.value)
        return Atom(self.fact, NEGATION[self.op], self.value)

    def __str__(self) -> str:
        if self.op in ("missing", "known"):
            return f"{self.op} {self.fact}"
        if self.op == "==" and self.value is True:
            return self.fact
        if self.op == "==" and self.value is False:
            return f"not {self.fact}"
        return f"{self.fact} {self.op} {format_value(self.value)}"


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Atom | All | Any_ | Not


def format_value(value: Value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_scalar(text: str, params: Mapping[str, Scalar]) -> Scalar:
    text = text.strip()
    if (param := re.fullmatch(_PARAM, text)) is not None:
        if param["name"] not in params:
            from clonus.engine.suggest import did_you_mean

            raise ConditionSyntaxError(f"unknown parameter {shown(text)}"
                                       f"{did_you_mean(param['name'], params).replace(chr(39), chr(39) + '$', 1)}")
        return params[param["name"]]
    if re.fullmatch(_NUMBER, text):
        if len(text) > MAX_NUMBER_TEXT:
            raise ConditionSyntaxError(f"cannot read value {shown(text)}: a number of at most {MAX_NUMBER_TEXT} "
                                       "characters")
        return float(text) if "." in text else int(text)
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(_WORD, text):
        return text
    raise ConditionSyntaxError(f"cannot read value {shown(text)}: use a number, true/false or a word")


def listed(atom: Atom) -> tuple[Value, ...]:
    """The values of an `in` / `not in` atom, which the parser always gives as a tuple."""
    if not isinstance(atom.value, tuple):
        raise TypeError(f"'{atom}': '{atom.op}' needs a list of values")
    return atom.value


def _parse_value(op: str, text: str, params: Mapping[str, Scalar]) -> Value:
    if op in ("in", "not in"):
        if not (text.startswith("[") and text.endswith("]")):
            raise ConditionSyntaxError(f"'{op}' needs a list like [a, b], got {shown(text)}")
        inner = text[1:-1].strip()
        if not inner:
            raise ConditionSyntaxError(f"'{op}' needs at least one value")
        return tuple(_parse_scalar(part, params) for part in inner.split(","))
    return _parse_scalar(text, params)


def parse_atom(text: object, params: Mapping[str, Scalar] | None = None) -> Atom:
    """Parse one condition line into an Atom; `$name` values are the KB's parameters, bound now."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ConditionSyntaxError(f"a condition is a line of text like 'age >= 18', got {shown(text)}")
    match = _UNARY_RE.match(text)
    if match:
        op, fact = match["op"], match["fact"]
        return Atom(fact, "==", False) if op == "not" else Atom(fact, op)
    match = _BARE_RE.match(text)
    if match:
        return Atom(match["fact"], "==", True)
    match = _ATOM_RE.fullmatch(text.strip())
    if not match:
        raise ConditionSyntaxError(
            f"cannot read condition {shown(text)}: expected 'fact OP value' with OP one of "
            "==, !=, <, <=, >, >=, in, not in, has, lacks; or 'missing fact', 'known fact', 'fact', 'not fact'"
        )
    op = re.sub(r"\s+", " ", match["op"])
    return Atom(match["fact"], op, _parse_value(op, match["value"], params or {}))


def negate(node: Node) -> Node:
    """Push a negation down to single conditions (De Morgan), so that no engine negation is needed."""
    if isinstance(node, Atom):
        return node.negated()
    if isinstance(node, All):
        return Any_(tuple(negate(i) for i in node.items))
    if isinstance(node, Any_):
        return All(tuple(negate(i) for i in node.items))
    return node.item


def to_dnf(node: Node) -> list[tuple[Atom, ...]]:
    """Rewrite a condition tree as alternatives, each a conjunction of atoms (negation pushed down)."""
    if isinstance(node, Atom):
        return [(node,)]
    if isinstance(node, Not):
        return to_dnf(negate(node.item))
    if isinstance(node, Any_):
        out: list[tuple[Atom, ...]] = []
        for item in node.items:
            out.extend(to_dnf(item))
        return _dedupe(out)
    alternatives: list[tuple[Atom, ...]] = [()]
    for item in node.items:
        alternatives = [a + b for a in alternatives for b in to_dnf(item)]
        if len(alternatives) > MAX_DISJUNCTS:
            raise ConditionSyntaxError(
                f"condition expands to more than {MAX_DISJUNCTS} alternatives; split the rule"
            )
    return _dedupe(alternatives)


def _dedupe(alternatives: list[tuple[Atom, ...]]) -> list[tuple[Atom, ...]]:
    seen: dict[tuple[Atom, ...], None] = {}
    for alt in alternatives:
        unique = tuple(dict.fromkeys(alt))
        seen.setdefault(unique, None)
    if len(seen) > MAX_DISJUNCTS:
        raise ConditionSyntaxError(f"condition expands to more than {MAX_DISJUNCTS} alternatives; split the rule")
    return list(seen)


def atoms(node: Node) -> list[Atom]:
    """Every atom in a tree, in order of appearance."""
    if isinstance(node, Atom):
        return [node]
    if isinstance(node, Not):
        return atoms(node.item)
    out: list[Atom] = []
    for item in node.items:
        out.extend(atoms(item))
    return out


def holds(atom: Atom, value: Value, known: bool) -> bool | None:
    """Three-valued truth of one atom for a fact value: None when the fact is unknown."""
    if atom.op == "missing":
        return not known
    if atom.op == "known":
        return known
    if not known:
        return None
    op, target = atom.op, atom.value
    if op == "==":
        return value == target and type(value) is type(target) or (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            and isinstance(target, (int, float)) and not isinstance(target, bool) and value == target
        )
    if op == "!=":
        return not holds(Atom(atom.fact, "==", target), value, known)
    # The loader has checked that the operator suits the fact's type (numbers are ordered, lists hold
    # values); the operands are dynamic past that check, so Any here rather than the Value union.
    left: Any = value
    right: Any = target
    if op in COMPARISONS:
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    if op == "in":
        return left in right
    if op == "not in":
        return left not in right
    if op == "has":
        return right in left
    return right not in left  # lacks
