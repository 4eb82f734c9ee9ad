"""`clonus advise --fhir`: the shipped example bundles, the reference bundle against the reference case,
flags and a case file over the bundle, provenance and the as-of date in the answer, and refusals as one
line on standard error with exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import EXAMPLES, engine_params

FHIR = EXAMPLES / "fhir"
AS_OF = ["--as-of", "2025-06-01"]


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["advise", *args], input=stdin)


def answer(*args: str, stdin: str | None = None) -> dict:
    result = run(*args, "--format", "json", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("engine", engine_params())
def test_the_reference_bundle_gives_the_reference_advice_and_dose_plan(engine):
    from_fhir = answer("--fhir", str(FHIR / "01-reference.json"), *AS_OF, "--relief", "inadequate",
                       "--engine", engine)
    from_case = answer(str(EXAMPLES / "01-reference.yaml"), "--engine", engine)
    assert from_fhir["kb"]["engine"]["name"] == engine and from_fhir["kb"]["profile"] == from_case["kb"]["profile"]
    assert [r["code"] for r in from_fhir["recommendations"]] == [r["code"] for r in from_case["recommendations"]]
    assert [r["text"] for r in from_fhir["recommendations"]] == [r["text"] for r in from_case["recommendations"]]
    assert from_fhir["dose_plan"] == from_case["dose_plan"]


def test_the_answer_records_provenance_and_the_as_of_date_beside_the_facts():
    body = answer("--fhir", str(FHIR / "01-reference.json"), *AS_OF, "--relief", "inadequate")
    keys = list(body)
    assert keys.index("provenance") == keys.index("facts") + 1 and body["as_of"] == "2025-06-01"
    provenance = body["provenance"]
    assert provenance["egfr"] == "Observation/obs-egfr" and provenance["relief"] == "flag"
    assert provenance["age"] == "Patient/pat-ref" and provenance["dose_mg"] == "MedicationRequest/medrx-baclofen"
    assert provenance["daily_dose_mg"] == "computed" and provenance["dialysis"] == "default"
    assert set(provenance) <= set(body["facts"])


def test_a_case_file_answer_has_no_provenance_keys():
    assert "provenance" not in answer(str(EXAMPLES / "01-reference.yaml"))


def test_the_same_bundle_and_date_give_the_same_bytes():
    args = ["--fhir", str(FHIR / "04-partial-birth-year.json"), *AS_OF, "--relief", "inadequate", "--format", "json"]
    assert run(*args).stdout == run(*args).stdout


def test_another_as_of_date_can_change_the_age():
    later = answer("--fhir", str(FHIR / "01-reference.json"), "--as-of", "2045-06-01", "--relief", "inadequate")
    assert later["facts"]["age"] == 65 and later["as_of"] == "2045-06-01"


def test_standard_input():
    text = (FHIR / "01-reference.json").read_text(encoding="utf-8")
    assert answer("--fhir", "-", *AS_OF, "--relief", "inadequate", stdin=text)["facts"]["dose_mg"] == 15


def test_flags_override_the_bundle(tmp_path):
    body = answer("--fhir", str(FHIR / "01-reference.json"), *AS_OF, "--relief", "inadequate", "--dose", "20 mg")
    assert body["facts"]["dose_mg"] == 20 and body["provenance"]["dose_mg"] == "flag"


def test_a_case_file_fills_the_bundle_and_flags_win_over_it(tmp_path):
    case = tmp_path / "extra.yaml"
    case.write_text("response: {relief: inadequate}\npatient: {egfr: 50}\n", encoding="utf-8")
    body = answer(str(case), "--fhir", str(FHIR / "01-reference.json"), *AS_OF, "--egfr", "45")
    assert body["provenance"]["relief"] == "case file" and body["facts"]["relief"] == "inadequate"
    assert body["facts"]["egfr"] == 45 and body["provenance"]["egfr"] == "flag"


# bundle, extra arguments, what the answer must hold
EXAMPLE_BUNDLES = {
    "02-synthea-style": (["--dose", "10 mg"], {"dose_mg": 10, "egfr": 48.2, "condition": "multiple_sclerosis",
                                                "other_medications": ["ciprofloxacin"]}),
    "03-partial-birthdate": ([], {"missing": ["age"]}),
    "04-partial-birth-year": ([], {"age": 54}),
    "05-two-baclofen-orders": ([], {"missing": ["dose", "frequency"]}),
    # a CKD diagnosis with no eGFR: the eGFR is asked for before any escalation, whatever the age
    "06-ckd-without-egfr": ([], {"note": "no eGFR was found", "missing": ["egfr"], "first": "request_missing_data",
                                 "kidney_disease": True}),
    "06-ckd-without-egfr-given": (["--egfr", "45"], {"first": "no_escalation_dose_limit",
                                                      "code": "renal_dose_caution"}),
    "07-renal-stroke-apnoea": ([], {"first": "reduce_toward_renal_dose", "stroke": True,
                                    "other_medication_classes": ["cyp1a2_inhibitor_potent"]}),
}


@pytest.mark.parametrize("name", list(EXAMPLE_BUNDLES))
def test_example_bundle(name):
    extra, expect = EXAMPLE_BUNDLES[name]
    bundle = name.removesuffix("-given")
    body = answer("--fhir", str(FHIR / f"{bundle}.json"), *AS_OF, "--relief", "inadequate", *extra)
    for key, value in expect.items():
        if key == "missing":
            assert body["missing"] == value
        elif key == "note":
            assert any(value in note for note in body["intake_notes"])
        elif key == "code":
            assert value in [r["code"] for r in body["recommendations"]]
        elif key == "first":  # the decisive action comes first
            assert body["recommendations"][0]["code"] == value
        else:
            assert body["facts"][key] == value


REFUSALS = {
    "08-invalid-doseandrate": "entry[2].resource.dosageInstruction[0].doseAndRate: ",
    "09-dose-without-unit": "entry[2].resource.dosageInstruction[0].doseAndRate[0].doseQuantity: ",
    "02-synthea-style": "entry[4].resource.dosageInstruction[0].doseAndRate[0].doseQuantity: ",
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_refused_bundle_is_one_line_and_exit_2(name):
    result = run("--fhir", str(FHIR / f"{name}.json"), *AS_OF, "--relief", "inadequate")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"clonus: error: {REFUSALS[name]}") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args,text", [
    (["--fhir", "no-such.json"], "cannot be read"),
    (["--fhir", "-"], "malformed JSON"),
    (["--fhir", str(FHIR / "01-reference.json"), "--as-of", "2025-13-01"], "--as-of: '2025-13-01'"),
    (["--fhir", str(FHIR / "01-reference.json"), "--as-of", "June"], "YYYY-MM-DD"),
    (["--as-of", "2025-06-01", "--age", "45"], "--as-of applies to --fhir"),
    (["-", "--fhir", "-"], "cannot both read standard input"),
])
def test_unusable_fhir_options_are_one_line_and_exit_2(args, text):
    result = run(*args, stdin="{not json")
    assert result.exit_code == 2 and text in result.stderr and result.stderr.count("\n") == 1


def test_text_output_says_where_the_case_came_from():
    result = run("--fhir", str(FHIR / "06-ckd-without-egfr.json"), *AS_OF, "--relief", "inadequate", "--explain")
    assert "Read from FHIR as of 2025-06-01." in result.stdout
    assert "Note: Condition/c-ckd" in result.stdout and "eGFR: Observation" not in result.stdout
    assert "single dose: MedicationRequest/m1" in result.stdout


HEAVY = ("fhir", "fhir_core", "fastapi", "pydantic", "uvicorn", "jwt", "starlette", "clonus.service",
         "clonus.engine.intake.fhir", "clonus.engine.knowledge.load.fhir", "clonus.engine.knowledge.fhirmap")
PROBE = """
import atexit, sys
def loaded():
    heavy = [m for m in {heavy!r} if m in sys.modules]
    sys.stderr.write("LOADED " + ",".join(heavy) + "\\n")
atexit.register(loaded)
from clonus.cli.main import run
sys.argv = ["clonus", *{args!r}]
run()
"""


@pytest.mark.parametrize("args", [["--help"], ["advise", str(EXAMPLES / "01-reference.yaml")]])
def test_case_files_and_help_never_import_the_fhir_or_service_libraries(args):
    """`clonus advise CASE.yaml` and `clonus --help` must not get slower: none of FHIR's or the service's
    libraries (nor the FHIR mapping's loader) may be imported on their path."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().endswith("LOADED"), proc.stderr
