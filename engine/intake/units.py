"""Doses as written ('15 mg', '0.015 g', '15000 mcg') to milligrams; a bare number or a volume is refused."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.numbers import to_number
from clonus.engine.suggest import did_you_mean

_MASS_RE = re.compile(r"^\s*(?P<number>[-+]?\d+(?:\.\d+)?|[-+]?\.\d+)\s*(?P<unit>[^\d\s].*?)?\s*$")


def parse_mass(kb: Kb, path: str, raw: Any) -> int | float:
    """'15 mg', '15mg', '0.015 g', '15000 mcg' -> mg. A bare number or a non-mass unit is refused."""
    units = ", ".join(sorted(kb.mass_units))
    accepted = f"a number and a mass unit, e.g. '15 mg' (units: {units})"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise CaseError(path, raw, accepted)
    match = _MASS_RE.match(str(raw))
    if not match:
        raise CaseError(path, raw, accepted)
    if not match["unit"]:
        raise CaseError(path, raw, f"{accepted}; a bare number has no unit")
    unit = match["unit"].strip().lower()
    if unit not in kb.mass_units:
        raise CaseError(path, raw, f"{accepted}; {unit!r} is not a mass unit{did_you_mean(unit, kb.mass_units)}")
    try:
        mg = Decimal(match["number"]) * Decimal(str(kb.mass_units[unit]))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimal numbers
        raise CaseError(path, raw, accepted) from exc
    return to_number(mg)
