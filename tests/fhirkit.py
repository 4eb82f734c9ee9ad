"""Hand-written FHIR R4 resources for the intake tests: each helper returns one resource as JSON data,
with only what the test needs, and bundle() wraps them (entries in the order given)."""

from __future__ import annotations

from typing import Any

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
PATTERN = "urn:clonus:spasticity-pattern"
SUBJECT = {"reference": "Patient/p1"}


def patient(birth: str | None = "1980-03-14", pid: str = "p1") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if birth is not None:
        out["birthDate"] = birth
    return out


def condition(system: str, code: str, cid: str = "c1", status: str | None = "active",
              verification: str = "confirmed") -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Condition", "id": cid, "subject": SUBJECT,
                           "code": {"coding": [{"system": system, "code": code}]},
                           "verificationStatus": {"coding": [{"code": verification}]}}
    if status is not None:
        out["clinicalStatus"] = {"coding": [{"code": status}]}
    return out


def dosage(dose: Any = 15, unit: str | None = "mg", frequency: int = 3, period: float = 1, period_unit: str = "d",
           route: str | None = "26643006", code: str | None = None) -> dict[str, Any]:
    """One Dosage: doseQuantity (value, UCUM unit), timing.repeat (or a GTS timing code), route (SNOMED)."""
    quantity: dict[str, Any] = {"value": dose}
    if unit is not None:
        quantity.update(unit=unit, system=UCUM, code=unit)
    timing: dict[str, Any] = {"code": {"coding": [{"system": GTS, "code": code}]}} if code else \
        {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}}
    out: dict[str, Any] = {"timing": timing, "doseAndRate": [{"doseQuantity": quantity}]}
    if route is not None:
        out["route"] = {"coding": [{"system": SCT, "code": route}]}
    return out


def med_request(rxcui: str | None = "1292", text: str | None = "baclofen", mid: str = "m1",
                status: str = "active", dosages: list[dict[str, Any]] | None = None,
                kind: str = "MedicationRequest") -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if rxcui is not None:
        concept["coding"] = [{"system": RXNORM, "code": rxcui}]
    if text is not None:
        concept["text"] = text
    out: dict[str, Any] = {"resourceType": kind, "id": mid, "status": status, "subject": SUBJECT,
                           "medicationCodeableConcept": concept}
    if kind == "MedicationRequest":
        out["intent"] = "order"
        out["dosageInstruction"] = dosages if dosages is not None else [dosage()]
    else:
        out["dosage"] = dosages if dosages is not None else [dosage()]
    return out


def egfr(value: Any = 95, code: str = "98979-8", when: str = "2025-05-20", oid: str = "o1", status: str = "final",
         unit: str = "mL/min/{1.73_m2}", comparator: str | None = None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "system": UCUM, "code": unit}
    if comparator:
        quantity["comparator"] = comparator
    return {"resourceType": "Observation", "id": oid, "status": status, "subject": SUBJECT,
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": when,
            "valueQuantity": quantity}


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def reference(*extra: dict[str, Any], **dose: Any) -> dict[str, Any]:
    """The reference case as a bundle: age 45 on 2025-06-01, generalized spasticity, baclofen 15 mg q8h."""
    return bundle(patient(), condition(PATTERN, "generalized", "c0"), med_request(dosages=[dosage(**dose)]), *extra)
