"""Age from Patient.birthDate as of a date, partial dates included ('1970', '1970-06'): the youngest and
oldest ages the date allows; when no rule's condition on age tells them apart, the younger is used."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.boundaries import atoms_by_fact
from clonus.engine.knowledge.conditions import holds
from clonus.engine.knowledge.model import Kb


@dataclass(frozen=True)
class Age:
    """An age read from a birth date: the value (None when the date cannot decide it) and why."""

    years: int | None
    note: str | None = None


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def birth_range(text: str) -> tuple[date, date]:
    """The earliest and latest birth days a FHIR date allows (validated before: YYYY[-MM[-DD]])."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 1:
        return date(parts[0], 1, 1), date(parts[0], 12, 31)
    if len(parts) == 2:
        last = calendar.monthrange(parts[0], parts[1])[1]
        return date(parts[0], parts[1], 1), date(parts[0], parts[1], last)
    return date(parts[0], parts[1], parts[2]), date(parts[0], parts[1], parts[2])


def age_as_of(kb: Kb, birth_date: str, as_of: date, path: str) -> Age:
    """The age on `as_of` of someone born on `birth_date`; CaseError for a birth after that day."""
    earliest, latest = birth_range(birth_date)
    if earliest > as_of:
        raise CaseError(path, birth_date, f"a birth date on or before the as-of date {as_of.isoformat()}")
    oldest, youngest = years_between(earliest, as_of), max(years_between(latest, as_of), 0)
    if oldest == youngest:
        return Age(oldest)
    told_apart = [a for a in atoms_by_fact(kb.rules).get("age", [])
                  if holds(a, youngest, True) != holds(a, oldest, True)]
    span = f"the birth date {birth_date} is partial: age {youngest} or {oldest} on {as_of.isoformat()}"
    if told_apart:
        return Age(None, f"{span}, and the rules' condition '{told_apart[0]}' tells them apart; give --age")
    return Age(youngest, f"{span}; read as {youngest} (no rule's condition on age tells them apart)")
