"""Doses as written ('15 mg', '0.015 g', '15000 mcg') to milligrams; a bare number or a volume is refused.

A dose is short: text past MAX_DOSE_TEXT characters is refused before any pattern runs, and the pattern
is linear (a number, then the unit: the rest of the stripped text), so no input can make it slow.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from clonus.engine.errors import CaseError, shown
from clonus.engine.knowledge.load.yamlsource import DECIMAL_RE
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.numbers import exactness_problem, to_number
from clonus.engine.suggest import did_you_mean

MAX_DOSE_TEXT = 40
_MASS_RE = re.compile(rf"(?P<number>{DECIMAL_RE.pattern})\s*(?P<unit>[^\d\s].*)?")


def parse_mass_exact(kb: Kb, path: str, raw: Any) -> Decimal:
    """'15 mg', '15mg', '0.015 g', '15000 mcg' -> exact mg. A bare number or a non-mass unit is refused."""
    units = ", ".join(sorted(kb.mass_units))
    accepted = f"a number and a mass unit, e.g. '15 mg' (units: {units})"
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, Decimal)):
        raise CaseError(path, raw, accepted)
    if not isinstance(raw, str):
        raise CaseError(path, raw, f"{accepted}; a bare number has no unit")
    text = raw.strip()
    if len(text) > MAX_DOSE_TEXT:
        raise CaseError(path, raw, f"{accepted}, in at most {MAX_DOSE_TEXT} characters")
    match = _MASS_RE.fullmatch(text)
    if not match:
        raise CaseError(path, raw, accepted)
    if not match["unit"]:
        raise CaseError(path, raw, f"{accepted}; a bare number has no unit")
    unit = match["unit"].lower()
    if unit not in kb.mass_units:
        raise CaseError(path, raw, f"{accepted}; {shown(unit)} is not a mass unit{did_you_mean(unit, kb.mass_units)}")
    factor = kb.mass_units[unit]
    return Decimal(match["number"]) * Decimal(repr(factor) if isinstance(factor, float) else factor)


def parse_mass(kb: Kb, path: str, raw: Any) -> int | float:
    """A dose in mg as int or float (see parse_mass_exact), refused when no float holds it exactly enough."""
    mg = parse_mass_exact(kb, path, raw)
    problem = exactness_problem(mg)
    if problem:
        raise CaseError(path, raw, f"a dose written with {problem}")
    return to_number(mg)
