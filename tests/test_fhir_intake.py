"""FHIR intake, one hand-written bundle per mapping rule (docs/fhir.md) and per refusal: the facts a
bundle gives, where each came from, and the element a refusal names."""

from __future__ import annotations

from datetime import date

import pytest

from clonus.engine.errors import CaseError, UsageError
from clonus.engine.intake.fhir.mapping import parse, read_bundle

from fhirkit import (
    GTS,
    ICD,
    PATTERN,
    RXNORM,
    SCT,
    bundle,
    condition,
    dosage,
    egfr,
    med_request,
    patient,
    reference,
)

AS_OF = date(2025, 6, 1)


def facts_of(kb, data, as_of=AS_OF, given=()):
    fhir_case = read_bundle(kb, data, as_of)
    return parse(kb, fhir_case.data, fhir_case, given).facts, fhir_case


# name: (bundle, {fact: value} expected; None: the fact is absent)
MAPPED = {
    "age from a full birth date": (reference(), {"age": 45}),
    "age the day before a birthday": (bundle(patient("1980-06-02")), {"age": 44}),
    "age from a year when no rule tells the two ages apart": (bundle(patient("1980")), {"age": 44}),
    "age from a year and month": (bundle(patient("1980-05")), {"age": 45}),
    "no age when a rule's threshold lies between the two": (bundle(patient("2007")), {"age": None}),
    "no age without a birth date": (bundle(patient(None)), {"age": None}),
    "no age without a patient": (bundle(med_request()), {"age": None}),
    "drug from the RxNorm ingredient code": (reference(), {"drug": "baclofen"}),
    "drug from an RxNorm product code": (bundle(patient(), med_request("197446", None)), {"drug": "baclofen"}),
    "drug from a brand name in text": (bundle(patient(), med_request(None, "Lioresal 10 mg tablet")),
                                       {"drug": "baclofen"}),
    "dose in mg": (reference(), {"dose_mg": 15, "doses_per_day": 3, "daily_dose_mg": 45}),
    "dose in g": (reference(dose=0.015, unit="g"), {"dose_mg": 15}),
    "dose in ug": (reference(dose=15000, unit="ug"), {"dose_mg": 15}),
    "frequency once every 8 hours": (reference(frequency=1, period=8, period_unit="h"), {"doses_per_day": 3}),
    "frequency twice a day": (reference(frequency=2), {"doses_per_day": 2}),
    "frequency from GTS TID": (reference(code="TID"), {"doses_per_day": 3}),
    "frequency from GTS Q6H": (reference(code="Q6H"), {"doses_per_day": 4}),
    "route oral from SNOMED": (reference(), {"route": "oral"}),
    "route intrathecal from SNOMED": (reference(route="72607000"), {"route": "intrathecal"}),
    "route oral by default": (reference(route=None), {"route": "oral"}),
    "spasticity pattern from the KB's code system": (reference(), {"spasticity": "generalized"}),
    "multiple sclerosis from SNOMED": (reference(condition(SCT, "24700007", "c2")),
                                       {"condition": "multiple_sclerosis"}),
    "multiple sclerosis from ICD-10-CM": (reference(condition(ICD, "G35", "c2")),
                                          {"condition": "multiple_sclerosis"}),
    "stroke from an ICD-10-CM subcode": (reference(condition(ICD, "I63.9", "c2")), {"stroke": True,
                                                                                  "condition": "stroke"}),
    "sleep apnoea diagnosed": (reference(condition(ICD, "G47.33", "c2")), {"sleep_apnea": "untreated"}),
    "sleep apnoea provisional": (reference(condition(ICD, "G47.33", "c2", verification="provisional")),
                                 {"sleep_apnea": "suspected"}),
    "epilepsy": (reference(condition(ICD, "G40.909", "c2")), {"epilepsy": True}),
    "COPD is respiratory compromise": (reference(condition(SCT, "13645005", "c2")), {"respiratory_compromise": True}),
    "dialysis": (reference(condition(ICD, "Z99.2", "c2")), {"dialysis": True}),
    "liver disease": (reference(condition(ICD, "K74.60", "c2")), {"hepatic_disease": True}),
    "pregnancy": (reference(condition(ICD, "Z33.1", "c2")), {"pregnant": True}),
    "a resolved condition does not count": (reference(condition(ICD, "G40.909", "c2", status="resolved")),
                                            {"epilepsy": False}),
    "a refuted condition does not count": (reference(condition(ICD, "G40.909", "c2", verification="refuted")),
                                           {"epilepsy": False}),
    "a condition without clinical status does not count": (reference(condition(ICD, "G40.909", "c2", status=None)),
                                                           {"epilepsy": False}),
    "eGFR from the latest final observation": (
        reference(egfr(40, when="2025-01-01", oid="o1"), egfr(55, when="2025-05-01", oid="o2"),
                  egfr(80, when="2025-04-01", oid="o3")), {"egfr": 55}),
    "eGFR amended counts, preliminary does not": (
        reference(egfr(40, when="2025-05-01", oid="o1", status="amended"),
                  egfr(90, when="2025-05-20", oid="o2", status="preliminary")), {"egfr": 40}),
    "eGFR after the as-of date is not read": (
        reference(egfr(40, when="2025-05-01", oid="o1"), egfr(20, when="2025-07-01", oid="o2")), {"egfr": 40}),
    "eGFR from an MDRD code": (reference(egfr(33, code="33914-3")), {"egfr": 33}),
    "eGFR reported as >60": (reference(egfr(60, comparator=">")), {"egfr": 60}),
    "other medications by code, brand and text": (
        reference(med_request("2551", "cipro", "m2"), med_request(None, "Zanaflex 4mg tab", "m3"),
                  med_request(None, "Acetaminophen 325 MG Oral Tablet", "m4"),
                  med_request("42355", None, "m5", status="stopped")),
        {"other_medications": ("ciprofloxacin", "tizanidine", "acetaminophen")}),
    "a medication statement counts as another medication": (
        reference(med_request("42355", None, "m2", kind="MedicationStatement")),
        {"other_medications": ("fluvoxamine",)}),
    "baclofen is the case's drug before tizanidine": (
        bundle(patient(), med_request("57258", None, "m0"), med_request()),
        {"drug": "baclofen", "other_medications": ("tizanidine",)}),
    "two baclofen orders: no regimen is chosen": (
        reference(med_request(mid="m2", dosages=[dosage(10)])),
        {"drug": "baclofen", "dose_mg": None, "doses_per_day": None}),
    "a request is read before a statement of the same drug": (
        reference(med_request(mid="m2", kind="MedicationStatement", dosages=[dosage(10)])), {"dose_mg": 15}),
    "a searchset bundle": (bundle(patient(), med_request(), kind="searchset"), {"drug": "baclofen"}),
    "a transaction bundle": (bundle(patient(), med_request(), kind="transaction"), {"drug": "baclofen"}),
}


@pytest.mark.parametrize("name", list(MAPPED))
def test_mapping(shipped_kb, name):
    data, expected = MAPPED[name]
    facts, _ = facts_of(shipped_kb, data)
    for fact, value in expected.items():
        assert facts.get(fact) == value, f"{fact}: {facts.get(fact)!r}"


NOTED = {
    "a partial birth date": (bundle(patient("1980")), "partial: age 44 or 45"),
    "a threshold between the two ages": (bundle(patient("2007")), "age >= 18"),
    "two baclofen orders": (reference(med_request(mid="m2", dosages=[dosage(10)])), "2 active baclofen orders"),
    "CKD without an eGFR": (reference(condition(ICD, "N18.4", "c2")), "no eGFR was found; give --egfr"),
    "a comparator": (reference(egfr(60, comparator=">")), "reported as >60"),
    "an observation after the as-of date": (reference(egfr(20, when="2025-07-01")), "after the as-of date"),
    "a condition without clinical status": (reference(condition(ICD, "G40", "c2", status=None)),
                                            "no clinicalStatus"),
}


@pytest.mark.parametrize("name", list(NOTED))
def test_what_the_reading_notices_is_noted(shipped_kb, name):
    data, text = NOTED[name]
    _, fhir_case = facts_of(shipped_kb, data)
    assert any(text in note for note in fhir_case.notes), fhir_case.notes


def test_ckd_with_an_egfr_is_not_noted(shipped_kb):
    _, fhir_case = facts_of(shipped_kb, reference(condition(ICD, "N18.4", "c2"), egfr(22)))
    assert fhir_case.notes == ()


def test_every_field_names_its_resource(shipped_kb):
    data = reference(condition(SCT, "24700007", "c2"), egfr(55, oid="o9"), med_request("2551", None, "m2"))
    _, fhir_case = facts_of(shipped_kb, data)
    assert fhir_case.sources == {
        "patient.age": "Patient/p1", "patient.spasticity": "Condition/c0", "patient.condition": "Condition/c2",
        "patient.egfr": "Observation/o9", "medication.drug": "MedicationRequest/m1",
        "medication.dose": "MedicationRequest/m1", "medication.frequency": "MedicationRequest/m1",
        "medication.route": "MedicationRequest/m1", "patient.other_medications": "MedicationRequest/m2"}


def _doseandrate_object():
    data = reference()
    data["entry"][2]["resource"]["dosageInstruction"][0]["doseAndRate"] = {"doseQuantity": {"value": 15}}
    return data


def _other_patient():
    data = reference()
    data["entry"][2]["resource"]["subject"] = {"reference": "Patient/someone-else"}
    return data


# name: (bundle, the field the CaseError names, a phrase of what it accepts)
REFUSED = {
    "doseAndRate as an object (published CDS Hooks examples)": (
        _doseandrate_object(), "entry[2].resource.dosageInstruction[0].doseAndRate", "JSON array"),
    "a dose without a unit (Synthea)": (
        reference(unit=None), "entry[2].resource.dosageInstruction[0].doseAndRate[0].doseQuantity", "not guessed"),
    "a dose in tablets": (reference(unit="{tbl}"), "doseAndRate[0].doseQuantity", "not a mass unit"),
    "a dose in mL": (reference(dose=5, unit="mL"), "doseAndRate[0].doseQuantity", "not a mass unit"),
    "a dose of 0 mg": (reference(dose=0), "doseAndRate[0].doseQuantity", "above 0"),
    "five doses a day": (reference(frequency=5), "dosageInstruction[0].timing.repeat", "equal intervals"),
    "a monthly period": (reference(period_unit="mo"), "timing.repeat.periodUnit", "one of h, d, wk"),
    "an unknown GTS code": (reference(code="QOD"), "timing.code", "GTS timing code"),
    "an intravenous route": (reference(route="47625008"), "dosageInstruction[0].route", "route code"),
    "a birth date that is no date": (bundle(patient("1980-13")), "entry[0].resource.birthDate", "FHIR date"),
    "a birth after the as-of date": (bundle(patient("2030")), "entry[0].resource.birthDate", "on or before"),
    "an eGFR out of range": (reference(egfr(-3)), "entry[3].resource.valueQuantity.value", "a number from 0"),
    "an eGFR in another unit": (reference(egfr(40, unit="mL/s")), "valueQuantity.code", "mL/min/{1.73_m2}"),
    "a resource of another patient": (_other_patient(), "entry[2].resource.subject.reference", "Patient/p1"),
    "two patients": (bundle(patient(), patient(pid="p2")), "entry[1].resource", "one patient"),
    "a document bundle": (bundle(patient(), kind="document"), "type", "collection, searchset, transaction"),
    "not a bundle": (patient(), "resourceType", "Bundle"),
    "an entry without a resource": ({"resourceType": "Bundle", "type": "collection", "entry": [{}]}, "entry[0]",
                                    "an entry with a resource"),
    "an element FHIR does not define": (bundle({**patient(), "age": 45}), "entry[0].resource.age",
                                        "an element that FHIR R4 defines"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refusal(shipped_kb, name):
    data, field, accepted = REFUSED[name]
    with pytest.raises(CaseError) as caught:
        facts_of(shipped_kb, data)
    assert caught.value.field.endswith(field), caught.value.field
    assert accepted in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_refused_dose_is_not_refused_when_a_flag_gives_it(shipped_kb):
    fhir_case = read_bundle(shipped_kb, reference(unit=None), AS_OF)
    data = {**fhir_case.data, "medication": {**fhir_case.data["medication"], "dose": "15 mg"}}
    assert parse(shipped_kb, data, fhir_case, {"medication.dose"}).facts["dose_mg"] == 15


def test_a_kb_without_fhir_mapping_says_so(tmp_path, kb_copy):
    from clonus.engine.knowledge.load import load_kb

    (kb_copy / "fhir.yaml").unlink()
    with pytest.raises(UsageError, match="cannot read FHIR"):
        read_bundle(load_kb(kb_copy), reference(), AS_OF)


def test_system_uris_in_the_helpers_are_the_kbs(shipped_kb):
    """The helpers write the code systems that fhir.yaml declares (a test of the tests' own data)."""
    uris = {s.uri for s in shipped_kb.fhir.systems.values()}
    assert {SCT, ICD, RXNORM, GTS, PATTERN} <= uris
