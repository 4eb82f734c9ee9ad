"""cli/diff.py: `clonus diff OLD_KB NEW_KB [CASES...]`: what a reviewer reads before approving a change."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from clonus.cli.main import app

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
    assert "CASES: 1 of 11 change their recommendations" in out
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
