"""Which active medication is the case's (the first of fhir.yaml's medication_drugs the patient takes),
its regimen, and every other active medication. Two orders of that drug are never chosen between:
the answer then asks for the regimen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clonus.engine.intake.medication import medication, written
from clonus.engine.knowledge.model import Kb

from .coding import codings, concept_text, status_code
from .dosage import Read, read_dosage
from .resources import Located, of_type, resolve

MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement")


@dataclass(frozen=True)
class Taken:
    """One active medication record: the ingredient (None if the KB has no name for it) or its text."""

    located: Located
    drug: str | None
    text: str | None

    @property
    def dosages(self) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        key = "dosageInstruction" if self.located.type == "MedicationRequest" else "dosage"
        items = self.located.resource.get(key) or ()
        return tuple((f"{self.located.path}.{key}[{i}]", d) for i, d in enumerate(items))


def active_medications(kb: Kb, resources: Sequence[Located]) -> list[Taken]:
    """Every MedicationRequest and MedicationStatement whose status counts (fhir.yaml), with its drug."""
    assert kb.fhir is not None
    taken = []
    for located in of_type(resources, *MEDICATION_TYPES):
        if status_code(located.resource.get("status")) not in kb.fhir.statuses.get(located.type, ()):
            continue
        taken.append(_identify(kb, located, resources))
    return taken


def _identify(kb: Kb, located: Located, resources: Sequence[Located]) -> Taken:
    """The drug of a record: an RxNorm code (ingredient or product), else its name read as free text by
    the one medication normaliser (intake/medication.py); a medicationReference is followed to the
    Medication resource in the same input."""
    concept = located.resource.get("medicationCodeableConcept")
    reference = located.resource.get("medicationReference")
    if concept is None and isinstance(reference, Mapping):
        target = resolve(resources, reference.get("reference"))
        concept = target.resource.get("code") if target is not None else None
        concept = concept if concept is not None else {"text": reference.get("display")}
    assert kb.fhir is not None
    rxnorm = kb.fhir.system_uri("rxnorm") if "rxnorm" in kb.fhir.systems else None
    for system, code in codings(concept):
        drug = kb.medication_names.get(code) if system == rxnorm and code.isdigit() else None
        if drug is not None:
            return Taken(located, drug, concept_text(concept))
    text = concept_text(concept)
    return Taken(located, medication(kb, text) if text else None, text)


@dataclass(frozen=True)
class Chosen:
    """The case's medication: fields read (drug, dose, frequency, route), and a note when it asks."""

    fields: dict[str, Read]
    sources: dict[str, str]
    note: str | None
    record: Taken | None


def choose(kb: Kb, taken: Sequence[Taken], focus: Sequence[Taken] | None) -> Chosen:
    """The medication under review: among `focus` (a hook's draft orders) when given, else among all
    active records; requests before statements; more than one request (or differing statements) asks."""
    assert kb.fhir is not None
    pool = list(focus) if focus is not None else list(taken)
    for drug in kb.fhir.medication_drugs:
        records = [t for t in pool if t.drug == drug]
        if records:
            return _regimen(kb, drug, records)
    return Chosen({}, {}, None, None)


def _regimen(kb: Kb, drug: str, records: list[Taken]) -> Chosen:
    requests = [r for r in records if r.located.type == "MedicationRequest"] or records
    first = requests[0]
    fields = {"medication.drug": Read(drug, first.located.path)}
    sources = {"medication.drug": first.located.ref}
    readings = [_read_regimen(kb, r) for r in requests]
    values = {tuple(sorted((k, v.value) for k, v in reading.items())) for reading in readings}
    if len(requests) > 1 and (first.located.type == "MedicationRequest" or len(values) > 1):
        refs = ", ".join(r.located.ref for r in requests)
        return Chosen(fields, sources, f"{len(requests)} active {drug} orders ({refs}): clonus does not choose "
                      "between them; give the current dose and frequency (--dose, --frequency)", None)
    for field, read in readings[0].items():
        fields[field] = read
        sources[field] = first.located.ref
    return Chosen(fields, sources, None, first)


def _read_regimen(kb: Kb, record: Taken) -> dict[str, Read]:
    dosages = record.dosages
    if len(dosages) != 1:  # none, or a sequence (tapering): no single regimen to read
        return {}
    path, dosage = dosages[0]
    return read_dosage(kb, dosage, path)


def other_medications(kb: Kb, taken: Sequence[Taken], chosen: Chosen) -> tuple[list[str], list[tuple[str, str]]]:
    """Names of every other active medication (ingredient, else its text as the normaliser writes an unknown
    medication: 'acetaminophen'), and (ref, path) of each."""
    drug = chosen.fields.get("medication.drug")
    names: list[str] = []
    refs: list[tuple[str, str]] = []
    for record in taken:
        if drug is not None and record.drug == drug.value:
            continue
        name = record.drug or (written(kb, record.text) if record.text else None)
        if name and name not in names:
            names.append(name)
            refs.append((record.located.ref, record.located.path))
    return names, refs
