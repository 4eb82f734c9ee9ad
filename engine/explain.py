"""Explanations: plain-language text for conditions and the chain of firings behind a recommendation."""

from __future__ import annotations

from typing import Any

from .conditions import Atom, format_value, listed
from .model import FactDef, Kb


def number_text(value: Any) -> str:
    """45.0 -> '45', 12.5 -> '12.5'; anything else as str()."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


_OP_TEXT = {"<": "is below", "<=": "is at most", ">": "is above", ">=": "is at least", "!=": "is not"}


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
    if atom.op == "has":
        return f"{label} include {atom.value}"
    if atom.op == "lacks":
        return f"{label} do not include {atom.value}"
    shown = _with_unit(fact, value)
    if atom.op == "==":
        return f"{label} is {shown}"
    if atom.op in ("in", "not in"):
        verb = "is one of" if atom.op == "in" else "is none of"
        return f"{label} is {shown} ({verb} {', '.join(format_value(v) for v in listed(atom))})"
    return f"{label} {shown} {_OP_TEXT[atom.op]} {_with_unit(fact, atom.value)}"
