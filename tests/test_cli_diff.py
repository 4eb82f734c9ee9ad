"""cli/diff.py: `clonus diff OLD_KB NEW_KB [CASES...]`: what a reviewer reads before approving a change."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from clonus.cli.main import app

from conftest import EXAMPLES
from lintkbs import build_kb, plant

runner = CliRunner()


def _pair(tmp_path):
    old, new = build_kb(tmp_path / "old"), build_kb(tmp_path / "new")
    plant(new / "rules" / "dosing.yaml", "      - daily_dose_mg < 80\n", "      - daily_dose_mg <= 80\n")
    return old, new


def test_rule_changes_and_the_cases_they_change(tmp_path):
    old, new = _pair(tmp_path)
    result = runner.invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "RULES: 1 changed, 0 added, 0 removed" in out
    assert f"  ~ dose.escalate  ({new / 'rules' / 'dosing.yaml'}:17)" in out
    assert "!! conditions or conclusions changed but the version was not raised" in out
    assert "        - daily_dose_mg < 80\n        + daily_dose_mg <= 80\n" in out
    assert "CASES: 1 of 11 change their answer: 1 their recommendations, 0 their dose plan" in out
    assert "  dosing::at 80 mg/day there is no escalation" in out
    assert "      gained: increase_baclofen" in out
    assert "      after:  refused: no increase fits under the 80 mg/day ceiling" in out


def test_exit_code_option_reports_whether_anything_changed(tmp_path):
    old, new = _pair(tmp_path)
    assert runner.invoke(app, ["diff", str(old), str(new), "--exit-code"]).exit_code == 1
    assert runner.invoke(app, ["diff", str(old), str(old), "--exit-code"]).exit_code == 0


def test_given_case_files_replace_the_default_cases(tmp_path):
    old, new = _pair(tmp_path)
    cases = tmp_path / "cases"
    cases.mkdir()
    for name, dose in (("at-max.yaml", "20 mg"), ("below.yaml", "10 mg")):
        (cases / name).write_text(yaml.safe_dump({"patient": {"age": 50}, "medication": {
            "drug": "baclofen", "dose": dose, "frequency": "qid"}, "response": {"relief": "inadequate"}}),
            encoding="utf-8")
    result = runner.invoke(app, ["diff", str(old), str(new), str(cases), "--format", "json"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["cases_run"] == 2
    assert [(c["case"], c["gained"]) for c in doc["cases_changed"]] == [("at-max.yaml", ["increase_baclofen"])]
    assert doc["rules"][0]["conditions"] == ["- daily_dose_mg < 80", "+ daily_dose_mg <= 80"]
    assert doc["old"]["digest"] != doc["new"]["digest"]


def test_an_unusable_kb_or_case_file_exits_2(tmp_path):
    old, new = _pair(tmp_path)
    broken = runner.invoke(app, ["diff", str(old), str(build_kb(tmp_path, "load-error"))])
    assert broken.exit_code == 2 and broken.stdout == "" and "unknown fact 'relif'" in broken.stderr
    missing = runner.invoke(app, ["diff", str(old), str(new), str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and missing.stdout == ""
    assert missing.stderr.startswith(f"clonus: error: {tmp_path / 'nope.yaml'}: cannot be read")


def _lower_ceiling(kb_copy, to: int):
    """The shipped KB with the US ceiling lowered (the US profile's max_daily_mg)."""
    profile = kb_copy / "profiles" / "us.yaml"
    text = profile.read_text(encoding="utf-8")
    was = yaml.safe_load(text)["parameters"]["max_daily_mg"]
    plant(profile, f"  max_daily_mg: {was} ", f"  max_daily_mg: {to} ")
    return was


def test_regression_lowering_the_ceiling_reports_the_dose_plans_it_changes(kb_copy):
    """Bug (issue 9): lowering the ceiling from 80 to 60 mg/day reported "0 of 16 change", though every
    escalating dose plan changed; now the dose plans and the wording are compared as well as codes."""
    from clonus.engine.knowledge.load import default_kb_dir

    was = _lower_ceiling(kb_copy, 60)
    examples = EXAMPLES  # the clone's (an installed KB has no examples beside it)
    result = runner.invoke(app, ["diff", str(default_kb_dir()), str(kb_copy), str(examples), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["parameters"] == [f"max_daily_mg: {was} -> 60"]
    plans = [c for c in doc["cases_changed"] if c["dose_plan"]]
    assert plans and doc["counts"]["dose_plans"] == len(plans)
    reference = next(c for c in plans if c["case"] == "01-reference.yaml")
    assert f"ceiling_daily_mg: {was} -> 60" in reference["dose_plan"]
    assert any(w["code"] == "cap_at_80_mg_per_day" and f"{was} mg/day" in w["old"] and "60 mg/day" in w["new"]
               for w in reference["wording"])
    assert not any(r["version_not_bumped"] for r in doc["rules"])  # the parameter explains the change
    text = runner.invoke(app, ["diff", str(default_kb_dir()), str(kb_copy), str(examples)]).stdout
    assert f"DOSE PLANS: {len(plans)} of {doc['cases_run']} cases change their dose plan, for example:\n" \
           f"  01-reference.yaml: ceiling_daily_mg: {was} -> 60\n" in text
    assert f"      dose plan:\n        ceiling_daily_mg: {was} -> 60\n" in text


def test_profile_given_twice_compares_two_profiles_of_one_kb():
    from clonus.engine.knowledge.load import default_kb_dir, load_kb

    kb = str(default_kb_dir())
    us, uk = load_kb(kb, "us"), load_kb(kb, "uk")
    result = runner.invoke(app, ["diff", kb, kb, "--profile", "us", "--profile", "uk", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["old"]["profile"], doc["new"]["profile"]) == ("us", "uk")
    ceiling = f"max_daily_mg: {us.profile.parameters['max_daily_mg']} -> {uk.profile.parameters['max_daily_mg']}"
    assert ceiling in doc["parameters"]
    assert doc["counts"]["dose_plans"] > 0
    assert not any(r["version_not_bumped"] for r in doc["rules"])
    same = runner.invoke(app, ["diff", kb, kb, "--profile", "uk", "--exit-code"])
    assert same.exit_code == 0 and "profile uk) -> " in same.stdout and same.stdout.rstrip().endswith(
        "0 the wording of a recommendation they keep")


def test_profile_errors_exit_2():
    from clonus.engine.knowledge.load import default_kb_dir

    kb = str(default_kb_dir())
    unknown = runner.invoke(app, ["diff", kb, kb, "--profile", "ux"])
    assert unknown.exit_code == 2 and "--profile: 'ux' is not a profile" in unknown.stderr
    thrice = runner.invoke(app, ["diff", kb, kb, "--profile", "us", "--profile", "uk", "--profile", "us"])
    assert thrice.exit_code == 2 and "--profile: given 3 times" in thrice.stderr
