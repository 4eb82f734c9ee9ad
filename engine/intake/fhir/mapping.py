"""FHIR resources to the case mapping, where each field came from, and what the reading noticed.

read_bundle() reads a Bundle (the command line), read_resources() the resources of a CDS Hooks call;
parse() validates the case once flags and a case file have filled or replaced fields, naming the
FHIR element of any value that is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from clonus.engine.errors import CaseError, UsageError
from clonus.engine.intake.case import Case, parse_case
from clonus.engine.knowledge.fhirmap import CodedFact
from clonus.engine.knowledge.model import Kb

from .coding import codings, matches, status_code
from .dosage import Read
from .medication import active_medications, choose, other_medications
from .patient import age_as_of
from .resources import Located, bundle_entries, check_subject, of_type, the_patient, validated

UNITS_NOTE = "{ref}: {label} reported as {comparator}{value}; read as {value}"


@dataclass(frozen=True)
class FhirCase:
    """A case read from FHIR: the case mapping, each field's reading (path, refusal) and source
    (Observation/obs-egfr), notes for people, the as-of date, and whether it concerns the KB's drug."""

    data: dict[str, dict[str, Any]]
    reads: Mapping[str, Read]
    sources: Mapping[str, str]
    notes: tuple[str, ...]
    as_of: date
    concerns_kb_drug: bool
    medication: Located | None = None  # the record the case's medication was read from


def read_bundle(kb: Kb, bundle: Any, as_of: date) -> FhirCase:
    """A Bundle (collection, searchset, transaction) to a case; CaseError names the element refused."""
    fhir = _mapping_of(kb)
    return read_resources(kb, bundle_entries(fhir, bundle), as_of)


def read_resources(kb: Kb, resources: Sequence[Located], as_of: date, patient_id: str | None = None,
                   focus: Sequence[Located] | None = None) -> FhirCase:
    """Resources (and, for order hooks, the draft orders under review) to a case."""
    _mapping_of(kb)
    kept = validated(list(resources) + [f for f in focus or () if f not in resources])
    patient = the_patient(kept, patient_id)
    for located in kept:
        if located.type not in ("Patient", "Medication"):
            check_subject(located, patient, patient_id)
    reads: dict[str, Read] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    _patient(kb, patient, as_of, reads, sources, notes)
    _conditions(kb, kept, reads, sources, notes)
    _observations(kb, kept, as_of, reads, sources, notes)
    concerns, medication = _medications(kb, kept, focus, reads, sources, notes)
    _needs(kb, kept, reads, notes)
    data: dict[str, dict[str, Any]] = {}
    for field, read in reads.items():
        if read.error is None and read.value is not None:
            section, leaf = field.split(".", 1)
            data.setdefault(section, {})[leaf] = read.value
    return FhirCase(data, reads, sources, tuple(notes), as_of, concerns, medication)


def parse(kb: Kb, data: Mapping[str, Any], fhir_case: FhirCase, given: Collection[str] = ()) -> Case:
    """Validate the merged case: a field refused in FHIR raises unless `given` (flags, a case file)
    replaced it; a value refused by the case rules is named by the FHIR element it came from."""
    for field, read in fhir_case.reads.items():
        if read.error is not None and field not in given:
            raise read.error
    try:
        return parse_case(kb, data)
    except CaseError as exc:
        origin = fhir_case.reads.get(exc.field)
        if origin is None or exc.field in given:
            raise
        raise CaseError(origin.path, exc.value, exc.accepted) from exc


def _mapping_of(kb: Kb):
    if kb.fhir is None:
        raise UsageError(f"the KB in {kb.root} cannot read FHIR: it has no fhir.yaml (or was loaded without it)")
    return kb.fhir


def _patient(kb: Kb, patient: Located | None, as_of: date, reads: dict, sources: dict, notes: list) -> None:
    if patient is None:
        notes.append("no Patient resource: the age is not known")
        return
    birth = patient.resource.get("birthDate")
    if birth is None:
        notes.append(f"{patient.ref} has no birthDate: the age is not known")
        return
    path = f"{patient.path}.birthDate"
    age = age_as_of(kb, str(birth), as_of, path)
    if age.note:
        notes.append(f"{patient.ref}: {age.note}")
    if age.years is not None:
        reads["patient.age"] = Read(age.years, path)
        sources["patient.age"] = patient.ref


def _counts(kb: Kb, condition: Located, notes: list) -> str | None:
    """'yes', 'suspected' or None: whether a Condition counts (clinical and verification status)."""
    assert kb.fhir is not None
    statuses = kb.fhir.statuses
    verification = status_code(condition.resource.get("verificationStatus"))
    if verification in statuses.get("refuted", ()):
        return None
    clinical = status_code(condition.resource.get("clinicalStatus"))
    if clinical is None:
        notes.append(f"{condition.ref} has no clinicalStatus: not counted")
        return None
    if clinical not in statuses.get("Condition", ()):
        return None
    return "suspected" if verification in statuses.get("suspected", ()) else "yes"


def _conditions(kb: Kb, resources: Sequence[Located], reads: dict, sources: dict, notes: list) -> None:
    """Each fact of fhir.yaml's conditions from the first active Condition whose code it lists."""
    assert kb.fhir is not None
    active = [(c, counted) for c in of_type(resources, "Condition") if (counted := _counts(kb, c, notes))]
    for entry in kb.fhir.conditions:
        field = kb.facts[entry.fact].case_field
        assert field is not None  # the loader admits only facts with a case field
        if field in reads:
            continue
        for condition, counted in active:
            if matches(kb.fhir, codings(condition.resource.get("code")), entry.codes):
                value = entry.suspected if counted == "suspected" and entry.suspected is not None else entry.value
                reads[field] = Read(value, f"{condition.path}.code")
                sources[field] = condition.ref
                break


def _observations(kb: Kb, resources: Sequence[Located], as_of: date, reads: dict, sources: dict,
                  notes: list) -> None:
    """Each number fact of fhir.yaml's observations from the latest counted Observation up to as-of."""
    assert kb.fhir is not None
    for entry in kb.fhir.observations:
        field = kb.facts[entry.fact].case_field
        assert field is not None
        found = []
        for index, obs in enumerate(of_type(resources, "Observation")):
            if obs.resource.get("status") not in kb.fhir.statuses.get("Observation", ()):
                continue
            if not matches(kb.fhir, codings(obs.resource.get("code")), entry.codes):
                continue
            when = _effective(obs.resource)
            if when and when[:10] > as_of.isoformat():
                notes.append(f"{obs.ref} is dated {when[:10]}, after the as-of date: not read")
                continue
            found.append((when or "", index, obs))
        if found:
            _, _, latest = max(found, key=lambda item: (item[0], item[1]))
            reads[field] = _quantity(kb, entry, latest, notes)
            sources[field] = latest.ref


def _effective(resource: Mapping[str, Any]) -> str | None:
    period = resource.get("effectivePeriod") or {}
    for value in (resource.get("effectiveDateTime"), resource.get("effectiveInstant"), period.get("end"),
                  period.get("start"), resource.get("issued")):
        if isinstance(value, str):
            return value
    return None


def _quantity(kb: Kb, entry: CodedFact, obs: Located, notes: list) -> Read:
    """An Observation's valueQuantity in one of the units fhir.yaml accepts; any other unit is refused."""
    path = f"{obs.path}.valueQuantity"
    quantity = obs.resource.get("valueQuantity")
    label = kb.facts[entry.fact].label
    if not isinstance(quantity, Mapping) or quantity.get("value") is None:
        return Read(None, path, CaseError(path, quantity, f"a valueQuantity with the {label} value"))
    unit = quantity.get("code") or quantity.get("unit")
    if unit not in entry.units:
        accepted = f"{label} in one of the units {', '.join(entry.units)}"
        return Read(None, path, CaseError(f"{path}.code", unit, accepted))
    if quantity.get("comparator"):
        notes.append(UNITS_NOTE.format(ref=obs.ref, label=label, comparator=quantity["comparator"],
                                       value=quantity["value"]))
    return Read(quantity["value"], f"{path}.value")


def _medications(kb: Kb, resources: Sequence[Located], focus: Sequence[Located] | None, reads: dict,
                 sources: dict, notes: list) -> tuple[bool, Located | None]:
    """The medication under review and the other medications; whether it is the KB's drug, its record."""
    assert kb.fhir is not None
    taken = active_medications(kb, resources)
    under_review = None
    if focus is not None:
        paths = {f.path for f in focus}
        under_review = [t for t in taken if t.located.path in paths]
    chosen = choose(kb, taken, under_review)
    reads.update(chosen.fields)
    sources.update(chosen.sources)
    if chosen.note:
        notes.append(chosen.note)
    names, refs = other_medications(kb, taken, chosen)
    if names:
        reads["patient.other_medications"] = Read(names, refs[0][1])
        sources["patient.other_medications"] = ", ".join(ref for ref, _ in refs)
    drug = chosen.fields.get("medication.drug")
    record = chosen.record.located if chosen.record is not None else None
    return drug is not None and drug.value == kb.fhir.medication_drugs[0], record


def _needs(kb: Kb, resources: Sequence[Located], reads: dict, notes: list) -> None:
    """A Condition that makes a number fact matter (CKD: the eGFR) while the input lacks it: say so."""
    assert kb.fhir is not None
    for entry in kb.fhir.needs:
        field = kb.facts[entry.fact].case_field
        if field in reads:
            continue
        for condition in of_type(resources, "Condition"):
            if _counts(kb, condition, []) and matches(kb.fhir, codings(condition.resource.get("code")), entry.codes):
                flag = str(field).rsplit(".", 1)[-1].replace("_", "-")
                notes.append(f"{condition.ref}: {entry.because} but no {kb.facts[entry.fact].label} was found; "
                             f"give --{flag}")
                break
