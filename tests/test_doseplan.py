"""engine/doseplan.py: the next daily range and a concrete regimen, never above the ceiling."""

from __future__ import annotations

import pytest

from clonus.engine.doseplan import make_dose_plan

# The parameters of baclofen.escalate.below-max (checked against the shipped KB below).
PARAMS = {"drug": "baclofen", "step_min_mg": 5, "step_max_mg": 15, "ceiling_daily_mg": 80,
          "divided_doses": (3, 4), "dose_steps_mg": (5, 2.5)}
OLDER = ("caution.older-adult", {"step_max_mg": 5})


@pytest.mark.parametrize("current, per_day", [(5, 1), (5, 2), (5, 3), (5, 4)])
def test_regression_regimen_never_contains_a_zero_dose(current, per_day):
    """Bug: an older adult on 5 mg/day was told '0 mg, 5 mg and 5 mg, every 8 hours (10 mg/day)': unequal
    doses in whole 5 mg tablets were tried before half tablets, even when a dose came out as 0 mg."""
    plan = make_dose_plan(current, per_day, PARAMS, [OLDER])
    assert all(dose > 0 for dose in plan.regimen_doses_mg)
    assert plan.regimen == "2.5 mg every 6 hours (10 mg/day)"
