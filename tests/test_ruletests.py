"""engine/ruletests.py: outcomes of rule test cases (pass, fail with a diff, todo, error) and coverage."""

from __future__ import annotations

import pytest

from clonus.engine.explain.rule_tests import describe
from clonus.engine.knowledge.conditions import parse_atom
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.ruletests import case_id, run_tests, suite_name, truth

from lintkbs import build_kb

EXTRA = """tests:
  - name: wrongly expects maintain
    case:
      patient: {age: 45}
      medication: {drug: baclofen, dose: 15 mg, frequency: q8h}
      response: {relief: inadequate}
    expect: [maintain_current_dose]
    forbid: [increase_baclofen]
  - name: a known gap still failing
    case:
      patient: {age: 45}
      medication: {drug: baclofen, dose: 15 mg, frequency: q8h}
      response: {relief: inadequate}
    expect: [hold_escalation_side_effects]
    todo: true
  - name: a known gap now fixed
    case:
      patient: {age: 45}
      medication: {drug: baclofen, dose: 15 mg, frequency: q8h}
      response: {relief: inadequate}
    expect: [increase_baclofen]
    todo: true
  - name: a dose without a unit
    case:
      patient: {age: 45}
      medication: {drug: baclofen, dose: 15, frequency: q8h}
      response: {relief: inadequate}
    expect: [increase_baclofen]
"""


@pytest.fixture
def mixed_kb(tmp_path):
    root = build_kb(tmp_path)
    (root / "rules" / "extra.tests.yaml").write_text(EXTRA, encoding="utf-8")
    return load_kb(root)


def _by_name(run):
    return {o.test.name: o for o in run.outcomes}


def test_mini_kb_passes_with_full_coverage(tmp_path):
    run = run_tests(load_kb(build_kb(tmp_path)))
    assert run.count("passed") == len(run.outcomes) == 11
    assert not run.failed
    assert run.coverage.rule_percent == 100.0
    assert run.coverage.condition_percent == 100.0


def test_a_failing_case_shows_missing_unexpected_and_trace(mixed_kb):
    outcome = _by_name(run_tests(mixed_kb))["wrongly expects maintain"]
    assert outcome.status == "failed" and outcome.fails
    assert outcome.missing == ("maintain_current_dose",)
    assert outcome.unexpected == ("increase_baclofen",)
    text = describe(outcome)
    assert "missing:    maintain_current_dose" in text
    assert "unexpected: increase_baclofen" in text
    assert "dose.escalate [adult_on_baclofen=true" in text  # the trace, with what each rule matched


def test_todo_cases_run_but_never_fail(mixed_kb):
    outcomes = _by_name(run_tests(mixed_kb))
    still, fixed = outcomes["a known gap still failing"], outcomes["a known gap now fixed"]
    assert (still.status, still.fails, still.missing) == ("todo", False, ("hold_escalation_side_effects",))
    assert (fixed.status, fixed.fails) == ("fixed", False)


def test_an_unusable_case_is_an_error(mixed_kb):
    outcome = _by_name(run_tests(mixed_kb))["a dose without a unit"]
    assert outcome.status == "error" and outcome.fails
    assert "medication.dose" in outcome.error and "no unit" in outcome.error


def test_the_run_fails_when_one_case_fails(mixed_kb):
    run = run_tests(mixed_kb)
    assert run.failed
    assert (run.count("failed"), run.count("error"), run.count("todo"), run.count("fixed")) == (1, 1, 1, 1)


def test_coverage_names_rules_never_fired_and_conditions_seen_one_way(tmp_path):
    kb = load_kb(build_kb(tmp_path))
    run = run_tests(kb, [t for t in kb.tests if t.name != "intolerable side effects hold escalation"])
    cov = {rc.rule.id: rc for rc in run.coverage.rules}
    assert cov["dose.blocked"].fired == 0
    assert cov["dose.escalate"].fired == 1
    [intolerable] = [c for c in cov["dose.blocked"].conditions if c.condition == "side_effects_intolerable"]
    assert (intolerable.true, intolerable.covered) == (0, False)
    assert run.coverage.rule_percent == pytest.approx(100 * 7 / 8)
    assert run.coverage.condition_percent < 100


def test_ids_name_the_tests_file_and_the_case(shipped_kb):
    test = shipped_kb.tests[0]
    assert suite_name(test) == test.file.rsplit("/", 1)[-1].removesuffix(".tests.yaml")
    assert case_id(test) == f"{suite_name(test)}::{test.name}"


@pytest.mark.parametrize("condition, facts, derived, expected", [
    ("age >= 18", {"age": 45}, {}, True),
    ("age >= 18", {}, {}, None),                      # an input fact the case lacks: unknown
    ("missing age", {}, {}, True),
    ("escalating", {}, {}, False),                    # a derived fact no rule asserted is false
    ("not escalation_blocked", {}, {}, True),
    ("dose_band == below_max", {}, {}, False),
    ("dose_band == below_max", {}, {"dose_band": "below_max"}, True),
])
def test_truth_of_a_condition(shipped_kb, condition, facts, derived, expected):
    assert truth(shipped_kb, parse_atom(condition), facts, derived) is expected
