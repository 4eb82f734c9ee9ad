"""A Dosage to the case's dose, frequency and route, as a case file would write them ('15 mg', 'q8h',
'oral'). A dose needs a UCUM mass unit (a dose without one is refused, never guessed); the frequency
comes from timing.repeat (frequency per period) or timing.code (GTS: BID, TID, Q8H...)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from clonus.engine.errors import CaseError
from clonus.engine.intake.frequency import parse_frequency
from clonus.engine.intake.units import parse_mass
from clonus.engine.knowledge.model import Kb

from .coding import codings, concept_text
from .validate import short

UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class Read:
    """One case field read from FHIR: its value as a case file writes it (None: not there), the JSON
    path it came from, and the refusal to raise if the field is still needed (no flag replaced it)."""

    value: Any
    path: str
    error: CaseError | None = None


def read_dosage(kb: Kb, dosage: Mapping[str, Any], path: str) -> dict[str, Read]:
    """medication.dose, .frequency and .route from one Dosage (those it holds)."""
    found = {}
    for field, reader in (("medication.dose", _dose), ("medication.frequency", _frequency),
                          ("medication.route", _route)):
        try:
            read = reader(kb, dosage, path)
        except CaseError as exc:
            read = Read(None, exc.field, exc)
        if read is not None:
            found[field] = read
    return found


def _dose(kb: Kb, dosage: Mapping[str, Any], path: str) -> Read | None:
    assert kb.fhir is not None
    for i, rate in enumerate(dosage.get("doseAndRate") or ()):
        quantity = rate.get("doseQuantity")
        at = f"{path}.doseAndRate[{i}]"
        if quantity is None:
            if rate.get("doseRange") is not None:
                raise CaseError(f"{at}.doseRange", short(rate["doseRange"]), "a doseQuantity: a range is not one dose")
            continue
        at += ".doseQuantity"
        units = ", ".join(kb.fhir.dose_units)
        accepted = f"a dose with a UCUM mass unit ({units}), e.g. {{\"value\": 15, \"unit\": \"mg\", " \
                   f"\"system\": \"{UCUM}\", \"code\": \"mg\"}}; or give --dose"
        if quantity.get("value") is None:
            raise CaseError(f"{at}.value", None, accepted)
        unit = _mass_unit(kb, quantity)
        if unit is None:
            given = quantity.get("code") or quantity.get("unit")
            reason = "a dose without a unit is not guessed" if given is None else f"{given!r} is not a mass unit"
            raise CaseError(at, short(dict(quantity)), f"{accepted} ({reason})")
        text = f"{quantity['value']} {unit}"
        parse_mass(kb, at, text)
        return Read(text, at)
    return None


def _mass_unit(kb: Kb, quantity: Mapping[str, Any]) -> str | None:
    """The notations.yaml unit of a Quantity: its UCUM code, else (no system) its unit text."""
    assert kb.fhir is not None
    code, system, unit = quantity.get("code"), quantity.get("system"), quantity.get("unit")
    if code is not None and system in (None, UCUM):
        return kb.fhir.dose_units.get(str(code))
    if code is None and isinstance(unit, str) and unit.strip().lower() in kb.mass_units:
        return unit.strip().lower()
    return None


def _frequency(kb: Kb, dosage: Mapping[str, Any], path: str) -> Read | None:
    timing = dosage.get("timing")
    if not isinstance(timing, Mapping):
        return None
    repeat = timing.get("repeat")
    if isinstance(repeat, Mapping) and repeat.get("period") is not None:
        return _from_repeat(kb, repeat, f"{path}.timing.repeat")
    code = timing.get("code")
    if code is not None:
        return _from_code(kb, code, f"{path}.timing.code")
    return None


def _from_repeat(kb: Kb, repeat: Mapping[str, Any], at: str) -> Read:
    """frequency (or frequencyMax, the higher) times per period periodUnit -> 'q<h>h'."""
    assert kb.fhir is not None
    unit = repeat.get("periodUnit")
    hours = kb.fhir.period_units.get(str(unit))
    if hours is None:
        raise CaseError(f"{at}.periodUnit", unit, f"one of {', '.join(kb.fhir.period_units)}")
    times = repeat.get("frequencyMax") or repeat.get("frequency") or 1
    per_day = Fraction(str(times)) * 24 / (Fraction(str(repeat["period"])) * hours)
    interval = Fraction(24) / per_day if per_day else None
    if interval is None or per_day.denominator != 1 or interval.denominator != 1:
        raise CaseError(at, short(dict(repeat)), "a whole number of doses a day at equal intervals "
                        "(1, 2, 3, 4, 6, 8, 12 or 24 a day)")
    text = f"q{interval.numerator}h"
    parse_frequency(kb, at, text)
    return Read(text, at)


def _from_code(kb: Kb, code: Any, at: str) -> Read:
    """A GTS abbreviation (BID, TID, Q8H...), else the code's text read as a frequency notation."""
    assert kb.fhir is not None
    gts = kb.fhir.system_uri("gts") if "gts" in kb.fhir.systems else None
    for system, value in codings(code):
        per_day = kb.fhir.timing_codes.get(value.upper())
        if per_day is not None and system in ("", gts):
            return Read(f"q{24 // per_day}h" if 24 % per_day == 0 else value, at)
    text = concept_text(code)
    accepted = f"a GTS timing code ({', '.join(kb.fhir.timing_codes)}) or a frequency such as q8h"
    if text is None:
        raise CaseError(at, short(dict(code)), accepted)
    parse_frequency(kb, at, text)
    return Read(text, at)


def _route(kb: Kb, dosage: Mapping[str, Any], path: str) -> Read | None:
    assert kb.fhir is not None
    route = dosage.get("route")
    if route is None:
        return None
    at = f"{path}.route"
    for pair in codings(route):
        if pair in kb.fhir.routes:
            return Read(kb.fhir.routes[pair], at)
    if codings(route):
        known = ", ".join(f"{code} ({value})" for (_, code), value in kb.fhir.routes.items())
        raise CaseError(at, short(dict(route)), f"a route code the KB knows: {known}")
    return Read(concept_text(route), at)
