"""cli/explain.py: `clonus explain CASE --why/--why-not CODE`, text and JSON, and its exit codes."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import EXAMPLES, reference_case
from lintkbs import build_kb

runner = CliRunner()
REFERENCE = str(EXAMPLES / "01-reference.yaml")
AT_MAX = str(EXAMPLES / "03-at-max-generalized.yaml")


def explain(*args: str, input: str | None = None):
    return runner.invoke(app, ["explain", *args], input=input)


def test_why_shows_the_chain_of_firings_facts_and_sources():
    result = explain(REFERENCE, "--why", "increase_baclofen")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "increase_baclofen (Increase oral baclofen): recommended" in out
    assert "baclofen.escalate.below-max fired: Increase oral baclofen" in out
    assert "scope.adult-oral-baclofen fired" in out
    assert "yes  daily_dose_mg < 80  [daily_dose_mg: 45 mg/day]  line" in out
    assert "sources:\n    S00 [C]" in out


def test_why_not_shows_the_first_failing_condition_and_follows_it_back():
    result = explain(AT_MAX, "--why-not", "increase_baclofen")
    assert result.exit_code == 0
    out = result.stdout
    assert "increase_baclofen (Increase oral baclofen): not recommended" in out
    assert "baclofen.escalate.below-max did not fire" in out
    assert "no  dose_band == below_max  [dose_band: at_max]" in out
    assert "baclofen.dose.below-max did not fire" in out
    assert "no  daily_dose_mg < 80  [daily_dose_mg: 80 mg/day]" in out


def test_a_false_premise_exits_1_with_the_other_explanation():
    result = explain(AT_MAX, "--why", "increase_baclofen")
    assert result.exit_code == 1
    assert "not recommended (you asked why; here is why not)" in result.stdout
    result = explain(REFERENCE, "--why-not", "increase_baclofen")
    assert result.exit_code == 1
    assert "recommended (you asked why not; here is why)" in result.stdout


def test_without_a_code_every_recommendation_is_explained():
    result = explain(REFERENCE)
    assert result.exit_code == 0
    assert "warn_no_abrupt_discontinuation (Never stop abruptly): recommended" in result.stdout
    assert "increase_baclofen (Increase oral baclofen): recommended" in result.stdout


def test_json_output_and_standard_input():
    result = explain("-", "--why-not", "consider_intrathecal_baclofen", "--format", "json",
                     input=yaml.safe_dump(reference_case()))
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["case"] == "-" and doc["refused"] is None
    [section] = doc["explanations"]
    assert (section["code"], section["asked"], section["recommended"]) == (
        "consider_intrathecal_baclofen", "why-not", False)
    assert section["chains"][0]["rule"] == "next.intrathecal.generalized"
    assert section["chains"][0]["conditions"][0]["condition"] == "oral_baclofen_failed"


def test_a_refused_answer_is_explained_and_flagged(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump({"patient": {"age": 45}, "medication": {"drug": "baclofen", "dose": "10 mg",
                                    "frequency": "tid"}, "response": {"relief": "inadequate"}}), encoding="utf-8")
    result = explain(str(case), "--kb", str(build_kb(tmp_path, "conflict")), "--why", "maintain_current_dose")
    assert result.exit_code == 0
    assert "!! the runtime refuses this answer: the answer would contain both" in result.stdout
    assert "broken.maintain-anyway fired" in result.stdout


def test_an_unknown_code_is_a_usage_error():
    result = explain(REFERENCE, "--why", "increase_baclofn")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "clonus: error: unknown code 'increase_baclofn' (did you mean 'increase_baclofen'?); " \
                            "see kb/codes.yaml\n"


def test_an_unusable_case_is_a_usage_error(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text("patient: {age: 250}\n", encoding="utf-8")
    result = explain(str(case), "--why", "increase_baclofen")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("clonus: error: patient.age: 250 is not accepted")


def test_profile_option_binds_the_explained_kb():
    """`clonus explain --profile uk` reads the UK-bound KB: the ceiling in the text is the UK one."""
    from clonus.engine.knowledge.load import load_kb

    uk = load_kb(None, "uk")
    case = str(EXAMPLES / "01-reference.yaml")
    doc = json.loads(runner.invoke(app, ["explain", case, "--profile", "uk", "-f", "json"]).stdout)
    assert doc["kb"]["profile"] == "uk"
    text = runner.invoke(app, ["explain", case, "--profile", "uk", "--why", "increase_baclofen"]).stdout
    assert text.splitlines()[0].endswith(", profile uk)")
    assert f"daily_dose_mg < {uk.profile.parameters['max_daily_mg']}" in text
