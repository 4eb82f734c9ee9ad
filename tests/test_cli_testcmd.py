"""cli/testcmd.py: `clonus test`: failures with their diff, todo cases, coverage, --min-coverage, --junit."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from typer.testing import CliRunner

from clonus.cli.main import app

from lintkbs import build_kb
from test_ruletests import EXTRA

runner = CliRunner()


def run_tests(*args: str):
    return runner.invoke(app, ["test", *args])


def _mixed(tmp_path):
    root = build_kb(tmp_path)
    (root / "rules" / "extra.tests.yaml").write_text(EXTRA, encoding="utf-8")
    return root


def test_the_shipped_kb_passes_with_full_rule_and_condition_coverage():
    result = run_tests("--min-coverage", "100")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert re.search(r"^(\d+) cases: \1 passed, 0 failed, 0 errors", result.stdout, re.M)
    assert re.search(r"coverage: rules (\d+)/\1 fired \(100\.0%\), conditions (\d+)/\2 seen true and false "
                     r"\(100\.0%\)", result.stdout)


def test_a_failing_case_exits_1_with_its_diff_and_trace(tmp_path):
    result = run_tests("--kb", str(_mixed(tmp_path)))
    assert result.exit_code == 1
    out = result.stdout
    assert " FAIL  extra::wrongly expects maintain\n" in out
    assert "  missing:    maintain_current_dose\n" in out
    assert "  unexpected: increase_baclofen\n" in out
    assert re.search(r"trace:\n +1\. scope\.adult \[age=45, drug=baclofen\] -> adult_on_baclofen=true", out)
    assert "ERROR  extra::a dose without a unit" in out
    assert " todo  extra::a known gap still failing" in out
    assert "todo now passes  extra::a known gap now fixed" in out
    assert "remove `todo: true`" in out
    assert "15 cases: 11 passed, 1 failed, 1 errors, 1 todo, 1 todo now passing" in out


def test_coverage_lists_every_rule_and_condition(tmp_path):
    result = run_tests("--kb", str(build_kb(tmp_path)), "--coverage")
    assert result.exit_code == 0
    assert "   dose.escalate  fired in 1 case  (" in result.stdout
    assert re.search(r"daily_dose_mg < 80 +8 / +1 / +2 +line 28", result.stdout)
    assert "never fired: none" in result.stdout
    assert "conditions not seen both ways: none" in result.stdout


def test_min_coverage_fails_below_the_threshold(tmp_path):
    root = build_kb(tmp_path)
    tests = root / "rules" / "dosing.tests.yaml"
    text = tests.read_text(encoding="utf-8")
    tests.write_text(text[:text.index("  - name: intolerable side effects hold escalation")], encoding="utf-8")
    result = run_tests("--kb", str(root), "--min-coverage", "95")
    assert result.exit_code == 1
    assert "never fired: dose.blocked" in result.stdout
    assert "side_effects_intolerable (never true)" in result.stdout
    assert result.stderr == "clonus: coverage below 95% (rules 87.5%, conditions 83.3%)\n"
    assert run_tests("--kb", str(root), "--min-coverage", "80").exit_code == 0


def test_junit_xml_for_ci(tmp_path):
    report = tmp_path / "junit.xml"
    result = run_tests("--kb", str(_mixed(tmp_path)), "--junit", str(report))
    assert result.exit_code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "15"
    assert (root.get("failures"), root.get("errors")) == ("1", "1")
    extra = root.find("testsuite[@name='extra']")
    cases = {c.get("name"): c for c in extra.findall("testcase")}
    assert cases["wrongly expects maintain"].find("failure").get("message") == \
        "missing: maintain_current_dose; unexpected: increase_baclofen"
    assert cases["a dose without a unit"].find("error") is not None
    assert cases["a known gap still failing"].find("skipped") is not None
    assert len(cases["a known gap now fixed"]) == 0


def test_a_kb_that_cannot_load_exits_2(tmp_path):
    result = run_tests("--kb", str(build_kb(tmp_path, "load-error")))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown fact 'relif'" in result.stderr


def test_profile_option_runs_the_cases_that_run_under_that_profile(shipped_kb):
    """`clonus test --profile NAME`: the cases pinned to NAME, and the unpinned ones when NAME is the
    default; each still under its own profile, so every profile's cases pass on the shipped KB."""
    default = shipped_kb.profile.name
    for name in shipped_kb.profiles:
        expected = [t for t in shipped_kb.tests if (t.profile or default) == name]
        result = runner.invoke(app, ["test", "--profile", name])
        assert result.exit_code == 0, result.stdout
        assert result.stdout.startswith(f"{len(expected)} cases: {len(expected)} passed") or \
            f"\n{len(expected)} cases: {len(expected)} passed" in result.stdout
    unknown = runner.invoke(app, ["test", "--profile", "ux"])
    assert unknown.exit_code == 2 and "'ux' is not a profile of this KB" in unknown.stderr
