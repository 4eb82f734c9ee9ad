"""engine/decide/doseplan.py: the next daily range and a concrete regimen, never above the ceiling, with every
precaution's limits applied (the tightest ceiling, step, single dose and interval)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clonus.engine.decide.doseplan import make_dose_plan
from clonus.engine.errors import SafetyError

# The dose plan of baclofen.escalate.below-max under the US profile (checked against the shipped KB below).
PARAMS = {"drug": "baclofen", "daily_dose_fact": "daily_dose_mg", "doses_per_day_fact": "doses_per_day",
          "step_min_mg": 5, "step_max_mg": 15, "ceiling_daily_mg": 80, "max_single_dose_mg": 20,
          "divided_doses": (3, 4), "dose_steps_mg": (5, 2.5), "interval_min_h": 24, "interval_max_h": 72}
OLDER_LIMITS = {"ceiling_daily_mg": 40, "step_max_mg": 5, "min_interval_h": 72}
RESPIRATORY = ("caution.respiratory", {"step_max_mg": 5, "min_interval_h": 72})
STEP = ("caution.step", {"step_max_mg": 5})  # a step limit alone, for the arithmetic below


def test_params_are_the_shipped_rules(shipped_kb):
    assert dict(shipped_kb.rule("baclofen.escalate.below-max").dose_plan) == PARAMS
    assert dict(shipped_kb.rule("caution.older-adult").dose_limits) == OLDER_LIMITS
    assert dict(shipped_kb.rule("caution.respiratory").dose_limits) == RESPIRATORY[1]


PLANS = [
    # (id, current mg/day, doses/day, limits, next min, next max, regimen)
    ("reference-45-q8h", 45, 3, [], 50, 60, "20 mg every 8 hours (60 mg/day)"),
    ("near-ceiling-75-tid", 75, 3, [], 80, 80, "20 mg every 6 hours (80 mg/day)"),
    ("near-ceiling-75-qid", 75, 4, [], 80, 80, "20 mg every 6 hours (80 mg/day)"),
    ("near-ceiling-77.5", 77.5, 3, [], 80, 80, "20 mg every 6 hours (80 mg/day)"),
    ("near-ceiling-70-bid", 70, 2, [], 75, 80, "20 mg every 6 hours (80 mg/day)"),  # no single dose above 20 mg
    ("older-adult-step-5", 45, 3, [STEP], 50, 50, "15 mg, 15 mg and 20 mg, every 8 hours (50 mg/day)"),
    ("two-step-limits", 45, 3, [STEP, RESPIRATORY], 50, 50, "15 mg, 15 mg and 20 mg, every 8 hours (50 mg/day)"),
    ("older-adult-5-tid-keeps-tid", 15, 3, [STEP], 20, 20, "5 mg, 5 mg and 10 mg, every 8 hours (20 mg/day)"),
    ("bid-40-to-tid", 40, 2, [], 45, 55, "15 mg every 8 hours (45 mg/day)"),
    ("bid-20-to-tid", 20, 2, [], 25, 35, "10 mg every 8 hours (30 mg/day)"),
    ("once-daily-10-to-tid", 10, 1, [], 15, 25, "5 mg every 8 hours (15 mg/day)"),
    ("odd-22.5-half-tablets", 22.5, 3, [STEP], 27.5, 27.5, "7.5 mg, 10 mg and 10 mg, every 8 hours (27.5 mg/day)"),
    ("odd-7.5-half-tablets", 7.5, 3, [STEP], 12.5, 12.5, "2.5 mg, 5 mg and 5 mg, every 8 hours (12.5 mg/day)"),
    ("odd-37.5-half-tablets", 37.5, 3, [STEP], 42.5, 42.5, "12.5 mg, 15 mg and 15 mg, every 8 hours (42.5 mg/day)"),
    ("odd-30-qid-unequal", 30, 4, [STEP], 35, 35, "5 mg, 10 mg, 10 mg and 10 mg, every 6 hours (35 mg/day)"),
    # the current four doses are kept, in whole tablets, none above 20 mg
    ("qid-60-keeps-qid", 60, 4, [], 65, 75, "15 mg, 20 mg, 20 mg and 20 mg, every 6 hours (75 mg/day)"),
    ("tid-60-moves-to-qid-above-20-mg-doses", 60, 3, [], 65, 75,
     "15 mg, 20 mg, 20 mg and 20 mg, every 6 hours (75 mg/day)"),
]


@pytest.mark.parametrize("current, per_day, limits, lo, hi, regimen", [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_dose_plan(current, per_day, limits, lo, hi, regimen):
    plan = make_dose_plan(current, per_day, PARAMS, limits)
    assert (plan.next_min_mg, plan.next_max_mg, plan.regimen) == (lo, hi, regimen)
    assert plan.current_daily_mg == current and plan.doses_per_day == per_day
    assert plan.ceiling_daily_mg == 80 and plan.drug == "baclofen"
    assert sum(Decimal(str(d)) for d in plan.regimen_doses_mg) == Decimal(str(plan.regimen_daily_mg))
    assert lo <= plan.regimen_daily_mg <= hi


def test_reference_plan_in_full():
    plan = make_dose_plan(45, 3, PARAMS, [])
    assert plan.to_json() == {
        "drug": "baclofen", "current_daily_mg": 45, "doses_per_day": 3,
        "next_daily_mg": {"min": 50, "max": 60}, "ceiling_daily_mg": 80,
        "regimen": "20 mg every 8 hours (60 mg/day)", "regimen_daily_mg": 60, "regimen_doses_mg": [20, 20, 20],
        "step_max_mg": 15, "limited_by": [], "step_daily_mg": {"min": 5, "max": 15}, "max_single_dose_mg": 20,
        "interval_h": {"min": 24, "max": 72},
    }


def test_step_limits_keep_the_smallest_and_name_the_rules_that_set_it():
    plan = make_dose_plan(45, 3, PARAMS, [STEP, RESPIRATORY, ("x.loose", {"step_max_mg": 10})])
    assert plan.step_max_mg == 5 and plan.next_max_mg == 50
    assert plan.limited_by == ("caution.step", "caution.respiratory")  # x.loose did not bind
    assert (plan.step_range, plan.interval_range) == ("5", "72")


def test_a_precaution_lowers_the_ceiling_not_only_the_step():
    """Regression (issue 9): eGFR 35 on 75 mg/day was escalated to 80 mg/day, the renal rule limiting only the
    step. A limit's ceiling binds the plan, and the rules that bind are named."""
    renal = ("caution.renal", {"ceiling_daily_mg": 40, "step_max_mg": 5, "min_interval_h": 72})
    plan = make_dose_plan(30, 3, PARAMS, [renal, ("caution.older-adult", OLDER_LIMITS)])
    assert (plan.next_min_mg, plan.next_max_mg, plan.ceiling_daily_mg) == (35, 35, 40)
    assert plan.limited_by == ("caution.renal", "caution.older-adult")
    plan = make_dose_plan(37.5, 3, PARAMS, [renal])
    assert plan.next_max_mg == 40 and plan.regimen_daily_mg == 40
    with pytest.raises(SafetyError, match="no increase fits under the 40 mg/day ceiling"):
        make_dose_plan(40, 3, PARAMS, [renal])


def test_a_single_dose_limit_and_an_interval_limit_bind():
    plan = make_dose_plan(45, 3, PARAMS, [("x.single", {"max_single_dose_mg": 15}), ("x.slow", {"min_interval_h": 96})])
    assert max(plan.regimen_doses_mg) <= 15 and plan.max_single_dose_mg == 15
    assert (plan.interval_min_h, plan.interval_max_h, plan.interval_range) == (96, 96, "96")
    assert plan.limited_by == ("x.single", "x.slow")


def test_a_plan_that_changes_the_number_of_doses_says_so():
    assert make_dose_plan(30, 6, PARAMS, []).doses_change == "; 3 doses a day instead of 6"
    assert make_dose_plan(45, 3, PARAMS, []).doses_change == ""


def test_near_the_ceiling_the_plan_is_the_ceiling_only():
    plan = make_dose_plan(75, 3, PARAMS, [])
    assert plan.next_min_mg == plan.next_max_mg == plan.ceiling_daily_mg == 80
    assert plan.regimen_doses_mg == (20, 20, 20, 20)


@pytest.mark.parametrize("per_day", [1, 2])
def test_fewer_than_three_doses_are_redistributed(per_day):
    plan = make_dose_plan(10 * per_day, per_day, PARAMS, [])
    assert len(plan.regimen_doses_mg) in (3, 4)
    assert plan.doses_per_day == per_day  # the plan still states the current frequency


def test_current_frequency_is_kept_when_whole_tablets_fit():
    assert make_dose_plan(45, 4, PARAMS, []).regimen == "15 mg every 6 hours (60 mg/day)"
    assert make_dose_plan(30, 3, PARAMS, []).regimen == "15 mg every 8 hours (45 mg/day)"
    # 10 mg QID: no equal whole-tablet QID total fits 45-55, so unequal QID doses
    assert make_dose_plan(40, 4, PARAMS, []).regimen == "10 mg, 15 mg, 15 mg and 15 mg, every 6 hours (55 mg/day)"


def _grid(step: float, top: float):
    value = Decimal(str(step))
    while value < Decimal(str(top)):
        yield float(value) if value != value.to_integral_value() else int(value)
        value += Decimal(str(step))


SWEEP = [(c, n, lim) for c in _grid(2.5, 80) for n in (1, 2, 3, 4) for lim in ([], [STEP])]


def test_never_above_the_ceiling_and_always_an_increase():
    """Every current dose on the half-tablet grid below 80 mg/day, at 1-4 doses, with and without a step limit."""
    for current, per_day, limits in SWEEP:
        plan = make_dose_plan(current, per_day, PARAMS, limits)
        where = (current, per_day, limits)
        assert plan.next_max_mg <= plan.ceiling_daily_mg == 80, where
        assert current < plan.next_min_mg <= plan.regimen_daily_mg <= plan.next_max_mg, where
        assert plan.next_max_mg - current <= plan.step_max_mg, where
        assert len(plan.regimen_doses_mg) in (3, 4), where
        assert all(Decimal(str(d)) % Decimal("2.5") == 0 and d > 0 for d in plan.regimen_doses_mg), where
        assert max(plan.regimen_doses_mg) - min(plan.regimen_doses_mg) <= 5, where


TID_10 = "2.5 mg, 2.5 mg and 5 mg, every 8 hours (10 mg/day)"


@pytest.mark.parametrize("current, per_day, regimen", [
    (5, 1, TID_10), (5, 2, TID_10), (5, 3, TID_10), (5, 4, "2.5 mg every 6 hours (10 mg/day)")])
def test_regression_regimen_never_contains_a_zero_dose(current, per_day, regimen):
    """Bug: an older adult on 5 mg/day was told '0 mg, 5 mg and 5 mg, every 8 hours (10 mg/day)': unequal
    doses in whole 5 mg tablets were tried before half tablets, even when a dose came out as 0 mg."""
    plan = make_dose_plan(current, per_day, PARAMS, [STEP])
    assert all(dose > 0 for dose in plan.regimen_doses_mg)
    assert plan.regimen == regimen


@pytest.mark.parametrize("current", [11, 18, 33, 51, 79])
def test_off_grid_current_dose_without_limit_gets_a_regimen(current):
    plan = make_dose_plan(current, 3, PARAMS, [])
    assert current < plan.next_min_mg <= plan.regimen_daily_mg <= plan.next_max_mg <= 80


@pytest.mark.parametrize("current, message", [
    (80, "no increase fits under the 80 mg/day ceiling from 80 mg/day"),
    (85, "no increase fits under the 80 mg/day ceiling from 85 mg/day"),
    (100, "no increase fits under the 80 mg/day ceiling from 100 mg/day"),
])
def test_at_or_above_the_ceiling_is_a_safety_error(current, message):
    with pytest.raises(SafetyError) as info:
        make_dose_plan(current, 4, PARAMS, [])
    assert str(info.value) == message


def test_a_lower_ceiling_in_the_rule_is_respected():
    plan = make_dose_plan(45, 3, {**PARAMS, "ceiling_daily_mg": 50}, [])
    assert (plan.next_min_mg, plan.next_max_mg, plan.ceiling_daily_mg) == (50, 50, 50)
    with pytest.raises(SafetyError):
        make_dose_plan(50, 3, {**PARAMS, "ceiling_daily_mg": 50}, [])


def test_no_regimen_on_the_dose_grid_is_a_safety_error():
    """Whole 5 mg tablets only and a 28 mg/day ceiling from 27.5 mg/day: no whole-tablet increase exists."""
    with pytest.raises(SafetyError) as info:
        make_dose_plan(27.5, 3, {**PARAMS, "dose_steps_mg": (5,), "ceiling_daily_mg": 28}, [])
    assert str(info.value) == "no regimen in steps of 5 mg fits 28-28 mg/day"


def test_regression_off_grid_dose_with_a_5_mg_step_limit_still_gets_a_regimen():
    """Bug: 6 mg TID (18 mg/day, oral solution) in an older adult allowed exactly 23 mg/day, which no
    2.5 mg grid regimen gives; the answer was a SafetyError and no advice at all. Now the nearest
    half-tablet increase below the limit is proposed and the range starts there."""
    plan = make_dose_plan(18, 3, PARAMS, [STEP])
    assert (plan.next_min_mg, plan.next_max_mg) == (22.5, 23)
    assert plan.regimen == "7.5 mg every 8 hours (22.5 mg/day)"
