"""cli/advise.py: `clonus advise` from a file, standard input or flags; exit codes and stderr per contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import reference_case

runner = CliRunner()


def advise(*args: str, input: str | None = None):
    return runner.invoke(app, ["advise", *args], input=input)


# ---- helpers ---------------------------------------------------------------------------------------

REFERENCE_FLAGS = ["--age", "45", "--drug", "baclofen", "--dose", "15 mg", "--frequency", "q8h",
                   "--relief", "inadequate", "--spasticity", "generalized"]
CONTRACT_KEYS = {"recommendations", "dose_plan", "missing", "facts", "trace", "kb"}


@pytest.fixture
def case_file(tmp_path):
    def write(data, name: str = "case.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
        return path
    return write


def ok_json(result) -> dict:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def assert_reference_answer(out: dict) -> None:
    assert CONTRACT_KEYS <= set(out)
    codes = [r["code"] for r in out["recommendations"]]
    assert "increase_baclofen" in codes and "request_missing_data" not in codes
    plan = out["dose_plan"]
    assert plan["current_daily_mg"] == 45 and plan["doses_per_day"] == 3
    assert plan["next_daily_mg"] == {"min": 50, "max": 60} and plan["ceiling_daily_mg"] == 80
    assert plan["regimen"] == "20 mg every 8 hours (60 mg/day)"
    assert out["missing"] == []
    assert out["facts"]["daily_dose_mg"] == 45 and out["facts"]["doses_per_day"] == 3


def one_line_error(result) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("clonus: error: ")
    return lines[0][len("clonus: error: "):]


# ---- the reference case: file, stdin, flags --------------------------------------------------------

def test_reference_case_file(case_file):
    assert_reference_answer(ok_json(advise(str(case_file(reference_case())), "--format", "json")))


def test_reference_case_json_file(case_file):
    path = case_file(json.dumps(reference_case()), "case.json")
    assert_reference_answer(ok_json(advise(str(path), "--format", "json")))


def test_reference_case_from_stdin():
    assert_reference_answer(ok_json(advise("-", "--format", "json", input=yaml.safe_dump(reference_case()))))


def test_reference_case_json_from_stdin():
    assert_reference_answer(ok_json(advise("-", "--format", "json", input=json.dumps(reference_case()))))


def test_reference_case_from_flags_only():
    assert_reference_answer(ok_json(advise(*REFERENCE_FLAGS, "--format", "json")))


def test_file_stdin_and_flags_give_the_same_bytes(case_file):
    by_file = advise(str(case_file(reference_case())), "--format", "json").stdout
    by_stdin = advise("-", "--format", "json", input=yaml.safe_dump(reference_case())).stdout
    by_flags = advise(*REFERENCE_FLAGS, "--format", "json").stdout
    assert by_file == by_stdin == by_flags


def test_flags_override_file_fields(case_file):
    path = case_file(reference_case())
    out = ok_json(advise(str(path), "--dose", "10 mg", "--frequency", "BID", "--age", "70", "--egfr", "80",
                         "--format", "json"))
    assert out["facts"]["dose_mg"] == 10 and out["facts"]["doses_per_day"] == 2 and out["facts"]["age"] == 70
    assert out["facts"]["daily_dose_mg"] == 20
    assert out["dose_plan"]["current_daily_mg"] == 20
    assert "cautious_titration_older_adult" in [r["code"] for r in out["recommendations"]]


def test_flags_add_fields_the_file_lacks(case_file):
    data = reference_case()
    del data["medication"]["frequency"]
    out = ok_json(advise(str(case_file(data)), "--frequency", "every 8 hours", "--other-medications",
                         "ciprofloxacin, omeprazole", "--respiratory-compromise", "--format", "json"))
    assert out["facts"]["doses_per_day"] == 3
    assert out["facts"]["other_medications"] == ["ciprofloxacin", "omeprazole"]
    assert out["facts"]["respiratory_compromise"] is True
    assert out["dose_plan"]["step_max_mg"] == 5


def test_negative_boolean_flag_overrides_the_file(case_file):
    data = reference_case()
    data["patient"]["respiratory_compromise"] = True
    out = ok_json(advise(str(case_file(data)), "--no-respiratory-compromise", "--format", "json"))
    assert out["facts"]["respiratory_compromise"] is False


# ---- formats ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_human_formats_show_the_dose_plan_and_the_disclaimer(shipped_kb, fmt):
    result = advise(*REFERENCE_FLAGS, "--format", fmt)
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert "20 mg every 8 hours (60 mg/day)" in out
    assert "50-60 mg/day" in out or "50–60 mg/day" in out
    assert "ceiling 80 mg/day" in out
    disclaimer = " ".join(shipped_kb.disclaimer.split())
    assert " ".join(out.split()).strip("*").endswith(disclaimer)  # the last words, however wrapped
    assert "increase_baclofen" in out


def test_text_is_the_default_format():
    assert advise(*REFERENCE_FLAGS).stdout == advise(*REFERENCE_FLAGS, "--format", "text").stdout


def test_explain_lists_the_rules_that_fired_in_order():
    trace = [e["rule"] for e in ok_json(advise(*REFERENCE_FLAGS, "--format", "json"))["trace"]]
    result = advise(*REFERENCE_FLAGS, "--explain")
    assert result.exit_code == 0
    text = result.stdout
    assert "RULES THAT FIRED (in order)" in text
    listed = text.split("RULES THAT FIRED (in order)", 1)[1]
    positions = [listed.index(f" {rule} ") for rule in trace]
    assert positions == sorted(positions) and len(trace) >= 5
    assert "because relief is inadequate" in text


def test_explain_in_markdown_gives_the_reasons():
    result = advise(*REFERENCE_FLAGS, "--format", "markdown", "--explain")
    assert result.exit_code == 0
    assert "  - because relief is inadequate" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "text", "markdown"])
def test_same_input_same_bytes(case_file, fmt):
    path = str(case_file(reference_case()))
    first, again = advise(path, "--format", fmt), advise(path, "--format", fmt)
    assert first.exit_code == again.exit_code == 0
    assert first.stdout == again.stdout


# ---- answers that are not errors -------------------------------------------------------------------

def test_missing_frequency_asks_for_it():
    flags = [f for f in REFERENCE_FLAGS if f not in ("--frequency", "q8h")]
    out = ok_json(advise(*flags, "--format", "json"))
    codes = [r["code"] for r in out["recommendations"]]
    assert "request_missing_data" in codes
    assert out["missing"] == ["frequency"]
    assert out["dose_plan"] is None
    assert not [r for r in out["recommendations"] if r["category"] == "escalation"]


def test_under_18_is_out_of_scope_without_dosing():
    flags = list(REFERENCE_FLAGS)
    flags[flags.index("45")] = "12"
    out = ok_json(advise(*flags, "--format", "json"))
    categories = {r["code"]: r["category"] for r in out["recommendations"]}
    assert "out_of_scope_pediatric" in categories
    assert out["dose_plan"] is None
    assert not {"escalation", "non_escalation"} & set(categories.values())
    assert "increase_baclofen" not in categories


# ---- unusable input: exit 2, one line --------------------------------------------------------------

def test_unreadable_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    message = one_line_error(advise(str(missing)))
    assert message.startswith(f"case file: {str(missing)!r} cannot be read (")


def test_directory_is_not_a_case_file(tmp_path):
    message = one_line_error(advise(str(tmp_path)))
    assert message.startswith(f"case file: {str(tmp_path)!r} cannot be read (")


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "case.yaml"
    path.write_bytes(b"\xff\xfepatient: {}")
    assert one_line_error(advise(str(path))).startswith(f"case file: {str(path)!r} cannot be read (")


@pytest.mark.parametrize("text, name", [
    ("patient: {age: 45\nmedication: [\n", "case.yaml"),
    ("patient:\n  age: 45\n   dose: 15 mg\n", "case.yaml"),
    ('{"patient": {"age": 45}, "medication": {"dose": "15 mg"}', "case.json"),
    ('{"patient": {"age": 45}}}', "case.json"),
], ids=["yaml-unclosed", "yaml-indentation", "json-unclosed", "json-extra-brace"])
def test_malformed_yaml_or_json(case_file, text, name):
    path = str(case_file(text, name))
    message = one_line_error(advise(path))
    assert message.startswith(f"{path}:")  # file:line:column of the problem
    if name.endswith(".json"):  # .json files are strict JSON
        assert "malformed JSON (" in message and message.endswith("expected valid JSON")
    else:
        assert "malformed YAML/JSON (" in message and message.endswith("expected valid YAML or JSON")


def json_problem(text: str) -> str:
    """What this Python's json says of malformed text (3.13 says "Illegal trailing comma before end of
    object" where 3.11 says "Expecting property name enclosed in double quotes")."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.msg
    raise AssertionError(f"{text!r} is valid JSON")


@pytest.mark.parametrize("text, problem", [
    ('{"patient": {"age": 45,}}', json_problem('{"patient": {"age": 45,}}')),
    ('{"patient": {"age": 45, "age": 12}}', "duplicate key 'age'"),
], ids=["trailing-comma", "duplicate-key"])
def test_json_files_are_strict_json(case_file, text, problem):
    message = one_line_error(advise(str(case_file(text, "case.json"))))
    assert f"malformed JSON ({problem})" in message


def test_malformed_stdin():
    message = one_line_error(advise("-", input='{"patient": '))
    assert message.startswith("<stdin>:1:") and "malformed YAML/JSON" in message


def test_empty_stdin():
    assert one_line_error(advise("-", input="")) == (
        "<stdin>: 'empty' is not accepted; expected a YAML or JSON mapping with patient, medication and response")


BAD_INPUT = [
    # (id, how the case is changed (section, field, value) or flags, the message that must start stderr)
    ("unknown-field", ("patient", "weight", 70),
     "patient.weight: 70 is not accepted; expected a known field of patient: age, breastfeeding, condition,"),
    ("unknown-section", ("patients", None, {"age": 45}),
     "patients: {'age': 45} is not accepted; expected one of the sections medication, patient, response "
     "(did you mean 'patient'?)"),
    ("wrong-type-boolean", ("patient", "dialysis", "sometimes"),
     "patient.dialysis: 'sometimes' is not accepted; expected true or false"),
    ("wrong-type-age", ("patient", "age", [45]),
     "patient.age: [45] is not accepted; expected a number from 0 to 130 years"),
    ("age-250", ("patient", "age", 250), "patient.age: 250 is not accepted; expected a number from 0 to 130 years"),
    ("egfr-minus-3", ("patient", "egfr", -3),
     "patient.egfr: -3 is not accepted; expected a number from 0 to 200 mL/min/1.73 m2"),
    ("dose-0-mg", ("medication", "dose", "0 mg"), "medication.dose: '0 mg' is not accepted; expected a number above 0"),
    ("dose-no-unit", ("medication", "dose", "15"),
     "medication.dose: '15' is not accepted; expected a number and a mass unit, e.g. '15 mg'"),
    ("dose-ml", ("medication", "dose", "15 ml"),
     "medication.dose: '15 ml' is not accepted; expected a number and a mass unit, e.g. '15 mg'"),
    ("frequency-unknown", ("medication", "frequency", "now and then"),
     "medication.frequency: 'now and then' is not accepted; expected a frequency such as q8h, every 8 hours, TID"),
    ("relief-unknown", ("response", "relief", "some"),
     "response.relief: 'some' is not accepted; expected one of adequate, inadequate"),
]


@pytest.mark.parametrize("change, message", [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT])
def test_unusable_case_file(case_file, change, message):
    section, field, value = change
    data = reference_case()
    if field is None:
        data[section] = value
    else:
        data.setdefault(section, {})[field] = value
    assert one_line_error(advise(str(case_file(data)), "--format", "json")).startswith(message)


@pytest.mark.parametrize("flag, value, message", [
    ("--age", "250", "patient.age: '250' is not accepted; expected a number from 0 to 130 years"),
    ("--egfr", "-3", "patient.egfr: '-3' is not accepted; expected a number from 0 to 200 mL/min/1.73 m2"),
    ("--dose", "0 mg", "medication.dose: '0 mg' is not accepted; expected a number above 0"),
    ("--dose", "15", "medication.dose: '15' is not accepted; expected a number and a mass unit"),
    ("--dose", "15 ml", "medication.dose: '15 ml' is not accepted; expected a number and a mass unit"),
    ("--frequency", "q5h", "medication.frequency: 'q5h' is not accepted; expected a frequency such as q8h"),
    ("--age", "forty", "patient.age: 'forty' is not accepted; expected a number from 0 to 130 years"),
    ("--spasticity", "diffuse", "patient.spasticity: 'diffuse' is not accepted; expected one of focal, generalized"),
], ids=["age-250", "egfr-minus-3", "dose-0-mg", "dose-no-unit", "dose-ml", "frequency-q5h", "age-in-words",
        "spasticity-unknown"])
def test_unusable_flag(flag, value, message):
    flags = list(REFERENCE_FLAGS)
    if flag in flags:
        flags[flags.index(flag) + 1] = value
    else:
        flags += [flag, value]
    assert one_line_error(advise(*flags, "--format", "json")).startswith(message)


def test_no_case_at_all():
    assert "give a case file" in one_line_error(advise())


def test_broken_kb_folder_lists_located_problems(kb_copy, monkeypatch):
    monkeypatch.chdir(kb_copy.parent)
    rules = kb_copy / "rules" / "dosing.yaml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace("      - relief == inadequate", "      - releif == inadequate", 1), encoding="utf-8")
    line = text[:text.index("      - relief == inadequate")].count("\n") + 1
    result = advise(*REFERENCE_FLAGS, "--kb", str(kb_copy), "--format", "json")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"kb/rules/dosing.yaml:{line}: baclofen.escalate.below-max: when: unknown fact 'releif'")
    assert lines[-1] == "clonus: error: the knowledge base cannot be loaded (1 problem(s))"
    assert len(lines) == 2


def test_kb_folder_that_is_not_a_kb(tmp_path):
    result = advise(*REFERENCE_FLAGS, "--kb", str(tmp_path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"clonus: error: --kb: {str(tmp_path)!r} is not a clonus KB folder: it has no kb.yaml\n"


@pytest.mark.parametrize("where", ["missing", "file"])
def test_regression_kb_option_on_a_missing_folder_is_one_line(tmp_path, where):
    """Bug: --kb on a folder that does not exist printed a load problem and a summary: two lines."""
    target = tmp_path / "nowhere"
    if where == "file":
        target.write_text("not a folder", encoding="utf-8")
    result = advise(*REFERENCE_FLAGS, "--kb", str(target))
    assert result.exit_code == 2 and result.stdout == ""
    what = "does not exist" if where == "missing" else "is not a folder"
    assert result.stderr == (f"clonus: error: --kb: {str(target)!r} {what}; give a KB folder (one with a kb.yaml)\n")


def test_a_copy_of_the_shipped_kb_answers_the_same(kb_copy):
    shipped = ok_json(advise(*REFERENCE_FLAGS, "--format", "json"))
    copied = ok_json(advise(*REFERENCE_FLAGS, "--kb", str(kb_copy), "--format", "json"))
    assert copied == shipped


# ---- the real console script -----------------------------------------------------------------------

def _console_script() -> str:
    script = Path(sys.executable).parent / ("clonus.exe" if os.name == "nt" else "clonus")
    assert script.exists(), f"the clonus console script is not installed beside {sys.executable} (pip install -e .)"
    return str(script)


def test_console_script_answers_the_reference_case(case_file, tmp_path):
    path = case_file(reference_case())
    run = subprocess.run([_console_script(), "advise", str(path), "--format", "json"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert_reference_answer(json.loads(run.stdout))
    assert run.stdout == advise(str(path), "--format", "json").stdout


def test_console_script_refuses_bad_input_in_one_line(tmp_path):
    run = subprocess.run([_console_script(), "advise", "-", "--format", "json"], input="patient: {age: 250}\n",
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == ("clonus: error: patient.age: 250 is not accepted; "
                          "expected a number from 0 to 130 years\n")


def test_console_script_from_stdin_with_infinity_is_exit_2(tmp_path):
    """Through the real process: no traceback for a YAML .inf (once a decimal.InvalidOperation crash)."""
    run = subprocess.run([_console_script(), "advise", "-"], input="patient: {age: .inf}\n",
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.startswith("clonus: error: patient.age: inf is not accepted")


# ---- regressions ---------------------------------------------------------------------------------

def test_regression_flag_fills_empty_section_of_case_file(tmp_path):
    """Bug: a case file with an empty `patient:` section (YAML null) made every flag be dropped, so
    `--age 45` was ignored and the answer asked for the age."""
    case = tmp_path / "case.yaml"
    case.write_text("patient:\nmedication: {drug: baclofen, dose: 15 mg, frequency: q8h}\n"
                    "response: {relief: inadequate}\n", encoding="utf-8")
    result = advise(str(case), "--age", "45", "--spasticity", "generalized", "--format", "json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["facts"]["age"] == 45
    assert out["missing"] == []
    assert "increase_baclofen" in [r["code"] for r in out["recommendations"]]
