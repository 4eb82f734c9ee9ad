"""Dose-plan arithmetic: the next daily dose range and a concrete regimen, from a rule's parameters and the
limits every precaution that fired sets on it (the tightest ceiling, step, single dose and interval).

Every number (steps, ceiling, divided doses, dose units) comes from the KB; this module only does
arithmetic, in Decimal so that 0.015 g x 1000 is exactly 15 mg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from clonus.engine.errors import SafetyError
from clonus.engine.knowledge.model import DOSE_LIMIT_KEYS
from clonus.engine.knowledge.numbers import to_number


@dataclass(frozen=True)
class DosePlan:
    drug: str
    current_daily_mg: int | float
    doses_per_day: int | float
    next_min_mg: int | float
    next_max_mg: int | float
    ceiling_daily_mg: int | float
    regimen: str
    regimen_daily_mg: int | float
    regimen_doses_mg: tuple[int | float, ...]
    step_max_mg: int | float
    limited_by: tuple[str, ...]
    rule: str = ""  # the rule whose parameters made this plan
    step_min_mg: int | float = 0
    max_single_dose_mg: int | float = 0
    interval_min_h: int | float = 0
    interval_max_h: int | float = 0

    @property
    def next_range(self) -> str:
        """'50-60' or, when the range is one value, '50'."""
        return _range(self.next_min_mg, self.next_max_mg)

    @property
    def step_range(self) -> str:
        """The titration step as limited: '5-15', or '5' when a precaution allows only the smallest."""
        return _range(self.step_min_mg, self.step_max_mg)

    @property
    def interval_range(self) -> str:
        """The shortest interval between steps, in hours: '24-72', or '72' when a precaution slows it."""
        return _range(self.interval_min_h, self.interval_max_h)

    @property
    def doses_change(self) -> str:
        """'' when the regimen keeps the number of doses a day, else what changes (said in the text)."""
        n, before = len(self.regimen_doses_mg), self.doses_per_day
        return "" if n == before else f"; {n} doses a day instead of {_text(before)}"

    def slots(self) -> dict[str, Any]:
        """What the plan fills in code texts."""
        return {"current_daily_mg": self.current_daily_mg, "next_min_mg": self.next_min_mg,
                "next_max_mg": self.next_max_mg, "next_range_mg": self.next_range,
                "ceiling_daily_mg": self.ceiling_daily_mg, "regimen": self.regimen, "step_range_mg": self.step_range,
                "interval_range_h": self.interval_range, "single_dose_max_mg": self.max_single_dose_mg,
                "doses_change": self.doses_change}

    def to_json(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "current_daily_mg": self.current_daily_mg,
            "doses_per_day": self.doses_per_day,
            "next_daily_mg": {"min": self.next_min_mg, "max": self.next_max_mg},
            "ceiling_daily_mg": self.ceiling_daily_mg,
            "regimen": self.regimen,
            "regimen_daily_mg": self.regimen_daily_mg,
            "regimen_doses_mg": list(self.regimen_doses_mg),
            "step_max_mg": self.step_max_mg,
            "limited_by": list(self.limited_by),
            "step_daily_mg": {"min": self.step_min_mg, "max": self.step_max_mg},
            "max_single_dose_mg": self.max_single_dose_mg,
            "interval_h": {"min": self.interval_min_h, "max": self.interval_max_h},
        }


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _range(low: Any, high: Any) -> str:
    return _text(high) if low == high else f"{_text(low)}-{_text(high)}"


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _interval(doses: int) -> str:
    hours = Decimal(24) / doses
    return f"every {to_number(hours)} hours" if hours == hours.to_integral_value() else f"{doses} times a day"


def _floor(value: Decimal, unit: Decimal) -> Decimal:
    return (value / unit).to_integral_value(rounding=ROUND_FLOOR) * unit


def _equal_regimen(lo: Decimal, hi: Decimal, doses: int, unit: Decimal, cap: Decimal) -> list[Decimal] | None:
    """The largest equal doses (multiples of unit, at most cap each) whose daily total lies in [lo, hi]."""
    per_dose = min(_floor(hi / doses, unit), _floor(cap, unit))
    return [per_dose] * doses if per_dose > 0 and per_dose * doses >= lo else None


def _unequal_regimen(lo: Decimal, hi: Decimal, doses: int, unit: Decimal, cap: Decimal) -> list[Decimal] | None:
    total = min(_floor(hi, unit), _floor(cap, unit) * doses)
    if total < lo or total <= 0:
        return None
    units, extra = divmod(int(total / unit), doses)
    if units == 0:
        return None  # some dose would be 0 mg: try a finer unit instead
    # a fixed order (larger doses last) keeps the regimen text deterministic
    return [unit * (units + (1 if i >= doses - extra else 0)) for i in range(doses)]


def _choose_regimen(lo: Decimal, hi: Decimal, order: list[int], units: list[Decimal],
                    cap: Decimal) -> list[Decimal] | None:
    """Prefer the coarsest dose unit (whole tablets), and the current number of doses a day: equal doses,
    then unequal ones, at each allowed frequency in turn; only then a finer unit."""
    for unit in units:
        for n in order:
            regimen = _equal_regimen(lo, hi, n, unit, cap) or _unequal_regimen(lo, hi, n, unit, cap)
            if regimen:
                return regimen
    return None


def tightest(params: Mapping[str, Any], limits: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[dict, list[str]]:
    """The plan's own values overridden by the tightest limit of each kind (DOSE_LIMIT_KEYS), and every rule
    whose limit is the one applied and tighter than the plan's own value."""
    own = {"ceiling_daily_mg": params["ceiling_daily_mg"], "step_max_mg": params["step_max_mg"],
           "max_single_dose_mg": params["max_single_dose_mg"], "min_interval_h": params["interval_min_h"]}
    applied = {key: _d(value) for key, value in own.items()}
    for _, limit in limits:
        for key, value in limit.items():
            pick = min if DOSE_LIMIT_KEYS[key] == "min" else max
            applied[key] = pick(applied[key], _d(value))
    binding = [rule_id for rule_id, limit in limits
               if any(_d(v) == applied[k] and applied[k] != _d(own[k]) for k, v in limit.items())]
    return applied, list(dict.fromkeys(binding))


def make_dose_plan(current_daily: Any, doses_per_day: Any, params: Mapping[str, Any],
                   limits: Sequence[tuple[str, Mapping[str, Any]]], rule: str = "") -> DosePlan:
    """Next daily range = current + step_min .. current + step_max, never above the ceiling, with every
    precaution's limits applied (the tightest of each kind)."""
    applied, limited_by = tightest(params, limits)
    current, ceiling, step_max = _d(current_daily), applied["ceiling_daily_mg"], applied["step_max_mg"]
    step_min = min(_d(params["step_min_mg"]), step_max)
    hi = min(current + step_max, ceiling)
    lo = min(current + step_min, hi)
    if hi <= current:
        raise SafetyError(f"no increase fits under the {to_number(ceiling)} mg/day ceiling "
                          f"from {to_number(current)} mg/day")
    allowed = [int(n) for n in params["divided_doses"]]
    doses_now = int(_d(doses_per_day)) if _d(doses_per_day) == _d(doses_per_day).to_integral_value() else None
    order = ([doses_now] if doses_now in allowed else []) + [n for n in allowed if n != doses_now]
    units = [_d(u) for u in params["dose_steps_mg"]]
    cap = applied["max_single_dose_mg"]
    doses_list = _choose_regimen(lo, hi, order, units, cap)
    if doses_list is None:
        # an off-grid current dose (e.g. 6 mg three times daily with a 5 mg/day step): the finest unit
        # that still raises the dose, even if the step is then a little under step_min
        doses_list = _choose_regimen(current + units[-1] / 1000, hi, order, units[-1:], cap)
        if doses_list is not None:
            lo = min(lo, sum(doses_list, Decimal(0)))
    if doses_list is None:
        raise SafetyError(f"no regimen in steps of {to_number(units[-1])} mg fits "
                          f"{to_number(lo)}-{to_number(hi)} mg/day")
    daily = sum(doses_list, Decimal(0))
    n = len(doses_list)
    if len(set(doses_list)) == 1:
        regimen = f"{to_number(doses_list[0])} mg {_interval(n)} ({to_number(daily)} mg/day)"
    else:
        parts = [f"{to_number(d)} mg" for d in doses_list]
        regimen = f"{', '.join(parts[:-1])} and {parts[-1]}, {_interval(n)} ({to_number(daily)} mg/day)"
    return DosePlan(
        drug=str(params["drug"]), current_daily_mg=to_number(current), doses_per_day=to_number(_d(doses_per_day)),
        next_min_mg=to_number(lo), next_max_mg=to_number(hi), ceiling_daily_mg=to_number(ceiling), regimen=regimen,
        regimen_daily_mg=to_number(daily), regimen_doses_mg=tuple(to_number(d) for d in doses_list),
        step_max_mg=to_number(step_max), limited_by=tuple(limited_by), rule=rule, step_min_mg=to_number(step_min),
        max_single_dose_mg=to_number(cap), interval_min_h=to_number(applied["min_interval_h"]),
        interval_max_h=to_number(max(applied["min_interval_h"], _d(params["interval_max_h"]))),
    )
