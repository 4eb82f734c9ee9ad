"""The one wording of conditions and numbers, for every output: explanations (`describe`, with the case's
value), diagrams (`phrase` and `branch_text`, without one), code texts (`fill_slots`) and traces.

    describe   'total daily dose 45 mg/day is below 80 mg/day'   (why a rule fired, for this case)
    phrase     'total daily dose < 80 mg/day'                    (a condition on a diagram's edge)
    branch     '< 80 mg/day'                                     (one answer of a diagram's question)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from clonus.engine.knowledge.conditions import Atom, format_value, listed
from clonus.engine.knowledge.model import FactDef, Kb

SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_OP_TEXT = {"<": "is below", "<=": "is at most", ">": "is above", ">=": "is at least", "!=": "is not"}
_NUMBER_OPS = {"==": "="}


def number_text(value: Any) -> str:
    """45.0 -> '45', 12.5 -> '12.5'; anything else as str()."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def value_text(value: Any) -> str:
    """A fact's value in a trace or a diagram: numbers as number_text, true/false, [a, b], None as missing."""
    if value is None:
        return "missing"
    if isinstance(value, float):
        return number_text(value)
    return format_value(value)


def fill_slots(text: str, slots: Mapping[str, Any]) -> str:
    """Replace {slot} with its value; slots with no value stay (the dose plan fills them later)."""
    return SLOT_RE.sub(lambda m: number_text(slots[m[1]]) if m[1] in slots else m[0], text)


def _with_unit(fact: FactDef, value: Any) -> str:
    text = format_value(value) if not isinstance(value, str) else value
    return f"{text} {fact.unit}" if fact.unit and fact.type == "number" else text


def describe(kb: Kb, atom: Atom, value: Any) -> str:
    """'total daily dose 45 mg/day is below 80 mg/day' for `daily_dose_mg < 80` and 45."""
    fact = kb.facts[atom.fact]
    label = fact.label
    if atom.op == "missing":
        return f"{label} is missing"
    if atom.op == "known":
        return f"{label} is {_with_unit(fact, value)}"
    if fact.type == "boolean":
        if atom.value:
            return label
        return f"{label}: no" if fact.origin == "derived" else f"no {label}"
    if atom.op in ("has", "lacks"):
        return f"{label} {'include' if atom.op == 'has' else 'do not include'} {atom.value}"
    shown = _with_unit(fact, value)
    if atom.op == "==":
        return f"{label} is {shown}"
    if atom.op in ("in", "not in"):
        verb = "is one of" if atom.op == "in" else "is none of"
        return f"{label} is {shown} ({verb} {', '.join(format_value(v) for v in listed(atom))})"
    return f"{label} {shown} {_OP_TEXT[atom.op]} {_with_unit(fact, atom.value)}"


# -- without a case: diagrams -------------------------------------------------------------------------

def words(value: Any) -> str:
    """A KB value as people read it: some_value -> some value, true -> yes, [a, b] -> a or b."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        items = [words(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return format_value(value).replace("_", " ")


def values_of(atom: Atom) -> tuple:
    """The values an atom names: its list for in / not in, else its one value."""
    return atom.value if isinstance(atom.value, tuple) else (atom.value,)


def branch_text(fact: FactDef, atom: Atom) -> str:
    """One condition as the branch of a question that already names the fact: `yes`, `missing`, `< N mg`."""
    if atom.op in ("missing", "known"):
        return atom.op
    if fact.type == "boolean":
        return words(bool(atom.value))
    if fact.type == "number":
        unit = f" {fact.unit}" if fact.unit else ""
        return f"{_NUMBER_OPS.get(atom.op, atom.op)} {format_value(atom.value)}{unit}"
    if atom.op in ("==", "in"):
        return words(atom.value)
    if atom.op == "!=":
        return f"not {words(atom.value)}"
    if atom.op == "not in":
        return f"none of {', '.join(words(v) for v in values_of(atom))}"
    return f"{'include' if atom.op == 'has' else 'no'} {words(atom.value)}"


def phrase(fact: FactDef, atom: Atom) -> str:
    """One condition as a phrase that names the fact: `respiratory compromise`, `eGFR < 60 mL/min/1.73 m2`."""
    if fact.type == "boolean" and atom.op == "==":
        return fact.label if atom.value else f"no {fact.label}"
    if atom.op in ("missing", "known"):
        return f"{fact.label} {atom.op}"
    if fact.type == "number":
        return f"{fact.label} {branch_text(fact, atom)}"
    if atom.op in ("has", "lacks"):
        verb = "include" if atom.op == "has" else "do not include"
        return f"{fact.label} {verb} {words(atom.value)}"
    return f"{fact.label} is {branch_text(fact, atom)}"
