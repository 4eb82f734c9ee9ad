"""engine/advice.py: a case in, a Result out; the safety invariants that every Result must keep."""

from __future__ import annotations

import dataclasses

import pytest

from clonus.engine.decide.advisor import check_invariants
from clonus.engine.decide.result import Recommendation
from clonus.engine.errors import CaseError, SafetyError

from conftest import reference_case

ESCALATION = ["increase_baclofen", "titration_step_5_15_mg_per_day", "titration_interval_24_72h",
              "cap_at_80_mg_per_day", "divide_3_4_doses", "use_lowest_effective_dose"]


@pytest.fixture(scope="module")
def reference(advisor):
    return advisor.advise(reference_case())


def _case(**changes) -> dict:
    data = reference_case()
    for path, value in changes.items():
        section, field = path.split("__")
        if value is None:
            data[section].pop(field, None)
        else:
            data[section][field] = value
    return data


# ---- the reference case end to end -----------------------------------------------------------------

def test_reference_case_codes(reference, shipped_kb):
    codes = reference.codes()
    assert set(ESCALATION) <= set(codes)
    assert "warn_no_abrupt_discontinuation" in codes
    assert "reassess_within_24h" in codes and "monitor_adverse_effects" in codes
    assert not {"request_missing_data", "out_of_scope_pediatric", "maintain_current_dose",
                "no_escalation_at_max_dose", "redistribute_to_3_4_daily_doses"} & set(codes)
    assert codes[0] == "increase_baclofen"  # the decisive action first
    rank = shipped_kb.display_rank  # then the KB's sections and code order, not firing order
    assert list(codes) == sorted(codes, key=rank.__getitem__)
    assert len(codes) == len(set(codes))


def test_reference_case_dose_plan(reference):
    plan = reference.dose_plan
    assert (plan.current_daily_mg, plan.doses_per_day) == (45, 3)
    assert (plan.next_min_mg, plan.next_max_mg, plan.ceiling_daily_mg) == (50, 60, 80)
    assert plan.regimen == "20 mg every 8 hours (60 mg/day)"
    assert plan.limited_by == ()
    assert reference.missing == ()


def test_reference_case_text_slots_are_filled(reference):
    assert reference.get("increase_baclofen").text == (
        "Increase oral baclofen from 45 mg/day to 50-60 mg/day, e.g. 20 mg every 8 hours (60 mg/day).")
    assert reference.get("cap_at_80_mg_per_day").text.startswith("Never exceed 80 mg/day")
    assert not any("{" in r.text for r in reference.recommendations)


def test_reference_case_because_and_sources(reference, shipped_kb):
    increase = reference.get("increase_baclofen")
    assert increase.rule == "baclofen.escalate.below-max"
    assert increase.sources == shipped_kb.rule("baclofen.escalate.below-max").sources
    for reason in ("relief is inadequate", "total daily dose 45 mg/day is below 80 mg/day",
                   "age 45 years is at least 18 years", "drug is baclofen", "route is oral"):
        assert reason in increase.because
    # a derived fact is explained by what produced it, not as "adult on oral baclofen"
    assert "adult on oral baclofen" not in increase.because
    for rec in reference.recommendations:
        assert rec.because and rec.sources, rec.code
        assert all(s in shipped_kb.sources for s in rec.sources), rec.code
        assert rec.category == shipped_kb.codes[rec.code].category


def test_reference_case_trace(reference, shipped_kb):
    fired = [entry.rule for entry in reference.trace]
    assert {"scope.adult-oral-baclofen", "baclofen.dose.below-max", "baclofen.escalate.below-max",
            "safety.no-abrupt-stop"} <= set(fired)
    assert len(fired) == len(set(fired))
    position = {rule: i for i, rule in enumerate(fired)}
    # a rule that reads a derived fact fires after the rule that asserted it
    assert position["scope.adult-oral-baclofen"] < position["baclofen.escalate.below-max"]
    assert position["baclofen.dose.below-max"] < position["baclofen.escalate.below-max"]
    escalate = next(e for e in reference.trace if e.rule == "baclofen.escalate.below-max")
    assert dict(escalate.matched)["relief"] == "inadequate"
    assert dict(escalate.matched)["escalation_blocked"] is False
    assert escalate.asserted == (("escalating", True),)
    assert escalate.recommended == tuple(ESCALATION)
    recommended_by_trace = {code for e in reference.trace for code in e.recommended}
    assert recommended_by_trace == set(reference.codes())


def test_same_case_same_result(advisor, reference):
    for _ in range(3):
        again = advisor.advise(reference_case())
        assert again.trace == reference.trace
        assert again.to_json() == reference.to_json()


def test_result_json_identifies_the_kb(reference, shipped_kb):
    out = reference.to_json()
    assert out["kb"]["digest"] == shipped_kb.digest and out["kb"]["version"] == shipped_kb.version
    assert out["facts"]["daily_dose_mg"] == 45 and out["facts"]["escalating"] is True


# ---- other situations ------------------------------------------------------------------------------

def test_missing_frequency_asks_for_it_and_gives_no_dose(advisor):
    result = advisor.advise(_case(medication__frequency=None))
    assert "request_missing_data" in result.codes()
    assert result.missing == ("frequency",)
    assert result.dose_plan is None
    assert not {r.code for r in result.recommendations if r.category == "escalation"}


@pytest.mark.parametrize("field, name", [("patient__age", "age"), ("medication__dose", "dose"),
                                         ("response__relief", "relief")])
def test_each_missing_decision_fact_is_named(advisor, field, name):
    result = advisor.advise(_case(**{field: None}))
    assert "request_missing_data" in result.codes()
    assert name in result.missing and result.dose_plan is None


def test_under_18_is_out_of_scope_without_dosing(advisor):
    result = advisor.advise(_case(patient__age=17))
    assert "out_of_scope_pediatric" in result.codes()
    assert result.dose_plan is None
    assert not {r.category for r in result.recommendations} & {"escalation", "non_escalation"}


def test_step_limit_rules_shape_the_plan(advisor):
    """Respiratory compromise and an older adult: the tightest of their limits (5 mg/day steps, every 72 h,
    at most 40 mg/day) shape the plan; each limiting rule is named."""
    result = advisor.advise(_case(patient__age=70, patient__respiratory_compromise=True, patient__egfr=80,
                                  medication__dose="5 mg"))
    plan = result.dose_plan
    assert (plan.next_min_mg, plan.next_max_mg, plan.step_max_mg) == (20, 20, 5)
    assert (plan.ceiling_daily_mg, plan.interval_min_h, plan.interval_max_h) == (40, 72, 72)
    assert plan.limited_by == ("caution.respiratory", "caution.older-adult")  # firing order
    assert {"caution_respiratory", "cautious_titration_older_adult"} <= set(result.codes())


def test_twice_daily_is_redistributed(advisor):
    result = advisor.advise(_case(medication__dose="20 mg", medication__frequency="BID"))
    assert "redistribute_to_3_4_daily_doses" in result.codes()
    assert len(result.dose_plan.regimen_doses_mg) in (3, 4)


def test_at_the_maximum_there_is_no_increase(advisor):
    result = advisor.advise(_case(medication__dose="20 mg", medication__frequency="QID"))
    assert "no_escalation_at_max_dose" in result.codes()
    assert "increase_baclofen" not in result.codes() and result.dose_plan is None


def test_advise_refuses_an_unusable_case(advisor):
    with pytest.raises(CaseError):
        advisor.advise(_case(patient__age=250))


# ---- check_invariants on doctored results ----------------------------------------------------------

def _with(result, *, add=(), remove=(), **fields):
    recs = [r for r in result.recommendations if r.code not in remove] + list(add)
    return dataclasses.replace(result, recommendations=tuple(recs), **fields)


def _rec(shipped_kb, code: str) -> Recommendation:
    definition = shipped_kb.codes[code]
    return Recommendation(code, definition.category, definition.severity, definition.title, definition.text,
                          "doctored.rule", ("doctored.rule",), ("S01",), ("doctored",))


def test_untouched_reference_result_passes(shipped_kb, reference):
    check_invariants(shipped_kb, reference)


@pytest.mark.parametrize("pair", [("increase_baclofen", "maintain_current_dose"),
                                  ("increase_baclofen", "no_escalation_at_max_dose"),
                                  ("consider_tizanidine", "avoid_tizanidine_cyp1a2_inhibitor")])
def test_exclusive_pair_is_a_safety_error(shipped_kb, reference, pair):
    assert tuple(pair) in shipped_kb.invariants.exclusions
    missing = [c for c in pair if c not in reference.codes()]
    doctored = _with(reference, add=[_rec(shipped_kb, c) for c in missing])
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == (f"the answer would contain both {pair[0]} and {pair[1]}, "
                               "which the KB declares exclusive")


@pytest.mark.parametrize("changes", [
    {"ceiling_daily_mg": 100, "next_max_mg": 90, "regimen_daily_mg": 90},
    {"ceiling_daily_mg": 80.5, "next_max_mg": 80.5, "regimen_daily_mg": 80.5},
    {"next_max_mg": 85, "regimen_daily_mg": 85},
    {"regimen_daily_mg": 65},
], ids=["ceiling-100", "ceiling-80.5", "max-above-ceiling", "regimen-above-max"])
def test_dose_plan_above_the_limit_is_a_safety_error(shipped_kb, reference, changes):
    doctored = _with(reference, dose_plan=dataclasses.replace(reference.dose_plan, **changes))
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value).startswith("dose plan above the ceiling")
    assert "limit 80" in str(info.value)


def test_dose_plan_that_does_not_increase_is_a_safety_error(shipped_kb, reference):
    doctored = _with(reference, dose_plan=dataclasses.replace(reference.dose_plan, next_min_mg=45))
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == "dose plan does not increase the dose"


def test_dose_plan_for_another_drug_than_the_cases_is_a_safety_error(shipped_kb, reference):
    doctored = _with(reference, dose_plan=dataclasses.replace(reference.dose_plan, drug="tizanidine"))
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == "a dose plan for tizanidine in a case on baclofen"


def _section(kb, **changes):
    return dataclasses.replace(kb, invariants=dataclasses.replace(kb.invariants, **changes))


def test_dose_plan_for_a_drug_without_a_declared_maximum_is_a_safety_error(shipped_kb, reference):
    with pytest.raises(SafetyError) as info:
        check_invariants(_section(shipped_kb, max_daily_mg={}), reference)
    assert str(info.value) == "the safety section declares no maximum for baclofen; refusing to propose a dose"


def test_safety_limit_is_the_safety_sections_not_the_rules(shipped_kb, reference):
    """The limit is read from kb/invariants.yaml: lower it and the (unchanged) 60 mg/day plan is refused."""
    with pytest.raises(SafetyError) as info:
        check_invariants(_section(shipped_kb, max_daily_mg={"baclofen": 50}), reference)
    assert str(info.value) == "dose plan above the ceiling (60 mg/day, limit 50)"


def test_dosing_advice_under_the_adult_age_is_a_safety_error(shipped_kb, reference):
    """Even if every rule were wrong, an escalation for a 17-year-old is refused by the section's adult age."""
    doctored = _with(reference, facts={**reference.facts, "age": 17})
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == "dosing advice for age 17, under the adult age 18"


def test_a_plan_that_breaks_a_precautions_limit_is_a_safety_error(shipped_kb, advisor):
    limited = advisor.advise(_case(patient__age=70, patient__respiratory_compromise=True, patient__egfr=80,
                                   medication__dose="5 mg"))
    faster = _with(limited, dose_plan=dataclasses.replace(limited.dose_plan, interval_min_h=24))
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, faster)
    assert str(info.value) == "the dose plan breaks caution.respiratory's limit min_interval_h 72"


def test_a_required_warning_left_out_is_a_safety_error(shipped_kb, reference):
    """The section requires the no-abrupt-stop warning for every case on baclofen."""
    doctored = _with(reference, remove=["warn_no_abrupt_discontinuation"])
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value).startswith("the answer lacks warn_no_abrupt_discontinuation, which the safety "
                                      "section requires when ")


@pytest.mark.parametrize("scope_code", ["request_missing_data", "out_of_scope_pediatric", "out_of_scope_drug_route"])
def test_dose_plan_with_a_scope_code_is_a_safety_error(shipped_kb, reference, scope_code):
    """Scope codes exclude dosing advice: a dose plan (even with no escalation code left) is refused."""
    doctored = _with(reference, add=[_rec(shipped_kb, scope_code)],
                     remove=[r.code for r in reference.recommendations if r.category == "escalation"])
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == f"dosing advice given together with ['{scope_code}']"


def test_escalation_code_with_a_scope_code_is_a_safety_error(shipped_kb, reference):
    doctored = _with(reference, add=[_rec(shipped_kb, "out_of_scope_pediatric")],
                     remove=["increase_baclofen"], dose_plan=None)
    with pytest.raises(SafetyError) as info:
        check_invariants(shipped_kb, doctored)
    assert str(info.value) == "dosing advice given together with ['out_of_scope_pediatric']"
