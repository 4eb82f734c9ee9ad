"""The medication vocabulary (kb/medications.yaml) as the FHIR intake reads it, through the one normaliser
(engine/intake/medication.py): product texts as EHRs write them and RxNorm codes to the ingredient; and
the load checks of medications.yaml and fhir.yaml, each problem file:line."""

from __future__ import annotations

import pytest

from clonus.engine.errors import KbError
from clonus.engine.intake.medication import medication, written
from clonus.engine.knowledge.load import load_kb

# text as EHRs and Synthea write it (RxNorm display names, strengths apart from their unit) -> ingredient
NORMALISED = {
    "Baclofen 10 MG Oral Tablet": "baclofen",
    "baclofen, 20 mg/5 mL oral solution": "baclofen",
    "Gablofen intrathecal": "baclofen",
    "baclophen": "baclofen",
    "tizanidine hydrochloride 4 mg capsule": "tizanidine",
    "Ciprofloxacin 500 MG Oral Tablet": "ciprofloxacin",
    "dantrolene sodium 25 mg": "dantrolene",
    "Neurontin 300mg caps": "gabapentin",
    "ethinyl estradiol 0.03 MG / levonorgestrel 0.15 MG Oral Tablet": "ethinyl_estradiol",
    "MS Contin 30 mg ER tab": "morphine",
    "acetaminophen 325 MG Oral Tablet": None,
    "naproxen sodium": None,
}


@pytest.mark.parametrize("text", list(NORMALISED))
def test_product_text_finds_the_ingredient(shipped_kb, text):
    assert medication(shipped_kb, text) == NORMALISED[text]


@pytest.mark.parametrize(("text", "kept"), [
    ("Acetaminophen 325 MG Oral Tablet", "acetaminophen"),
    ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "metformin"),
    ("naproxen sodium 220 mg/5 mL", "naproxen"),
])
def test_regression_a_strength_written_apart_from_its_unit_is_dropped(shipped_kb, text, kept):
    """Regression: '325 MG' left 'mg' behind, so an unknown medication read as 'acetaminophen_mg'."""
    assert medication(shipped_kb, text) is None and written(shipped_kb, text) == kept


@pytest.mark.parametrize("code,drug", [("1292", "baclofen"), ("197446", "baclofen"), ("198009", "baclofen"),
                                       ("57258", "tizanidine"), ("313379", "tizanidine"),
                                       ("2551", "ciprofloxacin"), ("42355", "fluvoxamine"), ("0", None)])
def test_an_rxnorm_code_leads_to_its_ingredient(shipped_kb, code, drug):
    assert shipped_kb.medication_names.get(code) == drug
    assert medication(shipped_kb, f" {code} ") == drug


def test_every_drug_fhir_yaml_may_choose_is_in_the_vocabulary(shipped_kb):
    assert set(shipped_kb.fhir.medication_drugs) <= set(shipped_kb.medications)


def test_a_kb_without_fhir_yaml_loads_and_cannot_read_fhir(kb_copy):
    (kb_copy / "fhir.yaml").unlink()
    kb = load_kb(kb_copy)
    assert kb.fhir is None and medication(kb, "Lioresal") == "baclofen"


def test_medications_yaml_is_in_the_digest(kb_copy, shipped_kb):
    text = (kb_copy / "medications.yaml").read_text(encoding="utf-8")
    (kb_copy / "medications.yaml").write_text(text + "\n# a comment\n", encoding="utf-8")
    assert load_kb(kb_copy).digest != shipped_kb.digest


def _problems(kb_copy, file, old, new):
    path = kb_copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KbError) as caught:
        load_kb(kb_copy)
    return [str(p) for p in caught.value.problems]


# file, text replaced, its replacement, what the one problem says
BROKEN = {
    "a name of two drugs": ("medications.yaml", "names: [zanaflex, sirdalud]", "names: [zanaflex, lioresal]",
                            "tizanidine: 'lioresal' is also a name of 'baclofen'"),
    "a code of two drugs": ("medications.yaml", 'rxnorm: "57258"', 'rxnorm: "1292"',
                            "tizanidine: RxNorm code '1292' is also a code of 'baclofen'"),
    "a numeric RxCUI": ("medications.yaml", 'rxnorm: "57258"', "rxnorm: 57258",
                         "tizanidine.rxnorm: is an RxCUI written as a quoted number"),
    "an unknown key": ("medications.yaml", "    misspellings: [baclophen", "    mispelings: [baclophen",
                       "baclofen.mispelings: unknown field (did you mean 'misspellings'?)"),
    "an unknown fact": ("fhir.yaml", "  - fact: epilepsy", "  - fact: epilepsi",
                        "conditions[9].fact: 'epilepsi' is not an input fact with a case field "
                        "(did you mean 'epilepsy'?)"),
    "a value the fact lacks": ("fhir.yaml", "value: untreated", "value: untreeted",
                               "'untreeted' is not a value of sleep_apnea (did you mean 'untreated'?)"),
    "an undeclared code system": ("fhir.yaml", "      icd10cm: [G40]", "      icd10: [G40]",
                                  "unknown code system (did you mean 'icd10cm'?)"),
    "a dose unit that is no mass unit": ("fhir.yaml", "  ug: mcg", "  ug: ml", "'ml' is not a mass unit"),
    "a route that is no route": ("fhir.yaml", "  intrathecal:\n    snomed", "  intravenous:\n    snomed",
                                 "routes.intravenous: not a value of the route fact"),
    "a drug the vocabulary lacks": ("fhir.yaml", "medication_drugs: [baclofen,", "medication_drugs: [baclofenn,",
                                    "'baclofenn' is not a drug of medications.yaml (did you mean 'baclofen'?)"),
    "timing codes that are no counts": ("fhir.yaml", "  TID: 3", "  TID: three", "timing_codes.TID: expected doses"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_file_is_one_located_problem(kb_copy, name):
    file, old, new, message = BROKEN[name]
    problems = _problems(kb_copy, file, old, new)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{kb_copy.name}/{file}:") or problems[0].split(":")[0].endswith(file)
    assert message in problems[0], problems[0]


def test_a_kb_loaded_without_its_fhir_mapping_has_the_same_digest(shipped_kb):
    kb = load_kb(fhir=False)
    assert kb.fhir is None and kb.medications == shipped_kb.medications and kb.digest == shipped_kb.digest


def test_fhir_yaml_in_the_digest_even_when_unread(kb_copy, shipped_kb):
    text = (kb_copy / "fhir.yaml").read_text(encoding="utf-8")
    (kb_copy / "fhir.yaml").write_text(text + "\n# a comment\n", encoding="utf-8")
    assert load_kb(kb_copy, fhir=False).digest != shipped_kb.digest


def test_a_problem_is_located_at_its_drug(kb_copy):
    problems = _problems(kb_copy, "medications.yaml", "names: [zanaflex, sirdalud]", "names: [zanaflex, lioresal]")
    lines = (kb_copy / "medications.yaml").read_text(encoding="utf-8").splitlines()
    assert problems[0].split(":")[1] == str(lines.index("  tizanidine:") + 1)
