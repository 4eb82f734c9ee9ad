"""engine/whynot.py: the chain behind a recommendation, and the first failing condition behind its absence."""

from __future__ import annotations

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.explain.whynot import why, why_not
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.load import load_kb

from conftest import reference_case
from lintkbs import build_kb, plant


def _escalation(advisor, data):
    """Why the below-maximum increase did not fire (the other escalation rule waits for a sleep study)."""
    return _chain(_explain(advisor, data, "increase_baclofen", False)[1], "baclofen.escalate.below-max")


def _explain(advisor, data, code, want_why):
    case = parse_case(advisor.kb, data)
    got = advisor.answer(case)
    chains = (why if want_why else why_not)(advisor.kb, advisor.plan, case, got, code)
    return got, chains


def _case(**changes):
    data = reference_case()
    for section, values in changes.items():
        data[section].update(values)
    return data


def _chain(chains, rule):
    """The chain of one rule among those that could make a code (both escalation rules make the increase)."""
    return next(c for c in chains if c.rule == rule)


def _condition(chain, text):
    return next(c for c in chain.conditions if c.condition == text)


def test_why_follows_derived_facts_back_to_the_firing_that_asserted_them(advisor):
    _, [chain] = _explain(advisor, reference_case(), "increase_baclofen", True)
    assert (chain.rule, chain.fired) == ("baclofen.escalate.below-max", True)
    assert all(c.holds for c in chain.conditions)
    assert "S01" in chain.sources
    adult = _condition(chain, "adult_on_oral_baclofen")
    [scope] = adult.behind
    assert scope.rule == "scope.adult-oral-baclofen" and scope.fired
    assert _condition(scope, "age >= 18").value == "45 years"
    band = _condition(chain, "dose_band == below_max")
    assert _condition(band.behind[0], "daily_dose_mg < 80").value == "45 mg/day"


def test_why_not_gives_the_first_failing_condition_and_follows_it_back(advisor):
    chain = _escalation(advisor, _case(medication={"dose": "20 mg", "frequency": "QID"}))
    assert (chain.rule, chain.fired) == ("baclofen.escalate.below-max", False)
    [failed] = chain.conditions
    assert (failed.condition, failed.holds, failed.value) == ("dose_band == below_max", False, "at_max")
    made, wanted = failed.behind
    assert (made.rule, made.fired) == ("baclofen.dose.at-max", True)
    assert (wanted.rule, wanted.fired) == ("baclofen.dose.below-max", False)
    assert [(c.condition, c.value) for c in wanted.conditions] == [("daily_dose_mg < 80", "80 mg/day")]


def test_why_not_an_unasserted_fact_reaches_the_rule_that_would_assert_it(advisor):
    _, [chain] = _explain(advisor, _case(patient={"age": 12}), "maintain_current_dose", False)
    failed = chain.conditions[0]
    assert (failed.condition, failed.value) == ("adult_on_oral_baclofen", "not asserted")
    [scope] = failed.behind
    assert scope.rule == "scope.adult-oral-baclofen"
    assert [(c.condition, c.value) for c in scope.conditions] == [("age >= 18", "12 years")]


def test_why_not_shows_what_made_a_negated_fact_true(advisor):
    chain = _escalation(advisor, _case(patient={"egfr": 20}))
    [failed] = chain.conditions
    assert failed.condition == "not escalation_blocked" and failed.value == "true"
    assert "caution.renal-severe" in [b.rule for b in failed.behind if b.fired]


def test_why_not_a_missing_input_is_unknown_not_false(advisor):
    data = reference_case()
    del data["medication"]["frequency"]
    chain = _escalation(advisor, data)
    [failed] = chain.conditions
    assert (failed.condition, failed.value) == ("dose_band == below_max", "not asserted")
    [below] = failed.behind
    [(condition, holds, value)] = [(c.condition, c.holds, c.value) for c in below.conditions]
    assert (condition.split()[0], holds, value) == ("daily_dose_mg", None, "missing")


def test_why_not_a_draft_rule_says_it_did_not_run(kb_copy):
    plant(kb_copy / "rules" / "safety.yaml",
          "  - id: safety.no-abrupt-stop\n    title: Never stop baclofen abruptly\n    status: approved",
          "  - id: safety.no-abrupt-stop\n    title: Never stop baclofen abruptly\n    status: draft")
    with Advisor(load_kb(kb_copy)) as adv:
        _, chains = _explain(adv, reference_case(), "warn_no_abrupt_discontinuation", False)
    chain = _chain(chains, "safety.no-abrupt-stop")
    assert chain.note.startswith("not run: its status is draft")


def test_a_refused_answer_is_still_explained(tmp_path):
    kb = load_kb(build_kb(tmp_path, "conflict"))
    data = {"patient": {"age": 45}, "medication": {"drug": "baclofen", "dose": "10 mg", "frequency": "tid"},
            "response": {"relief": "inadequate"}}
    with Advisor(kb) as adv:
        got, chains = _explain(adv, data, "maintain_current_dose", True)
    assert "increase_baclofen and maintain_current_dose" in got.refused
    assert {"increase_baclofen", "maintain_current_dose"} <= set(got.codes)
    assert [c.rule for c in chains] == ["broken.maintain-anyway"]


def test_every_chain_is_json(advisor):
    _, chains = _explain(advisor, _case(medication={"dose": "20 mg", "frequency": "QID"}), "increase_baclofen", False)
    doc = chains[0].to_json()
    assert set(doc) == {"rule", "title", "file", "line", "sources", "fired", "note", "conditions"}
    assert doc["conditions"][0]["behind"][0]["rule"] == "baclofen.dose.at-max"


@pytest.mark.parametrize("code", ["increase_baclofen", "warn_no_abrupt_discontinuation"])
def test_why_and_why_not_agree_with_the_answer(advisor, code):
    got, chains = _explain(advisor, reference_case(), code, True)
    assert code in got.codes and chains and all(c.fired for c in chains)
