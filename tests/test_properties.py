"""Safety invariants over generated valid cases (hypothesis), through a session Advisor on each rule engine
installed (the `engine_advisor` fixture of conftest.py).

Every case generated here is valid input, so `advise` must answer it: a CaseError or a SafetyError is a
failure of the property as much as a broken invariant.
"""

from __future__ import annotations

import json
from decimal import Decimal

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clonus.engine.knowledge.load import default_kb_dir

NOTATIONS = yaml.safe_load((default_kb_dir() / "notations.yaml").read_text(encoding="utf-8"))
FREQUENCIES = sorted(NOTATIONS["frequencies"])
DECISION_FIELDS = ("age", "drug", "dose", "frequency", "relief")
MEDICATIONS = ("ciprofloxacin", "fluvoxamine", "omeprazole", "gabapentin", "oral contraceptive")
SIDE_EFFECTS = ("drowsiness", "sedation", "weakness", "dizziness", "confusion", "fever", "rigidity")
LABEL_MAX_MG = 80

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow])


def _text(number: Decimal) -> str:
    return format(number.normalize(), "f")


@st.composite
def doses(draw) -> str:
    """One administration of 0.5-60 mg in 0.5 mg steps, written in mg, g or mcg, with or without a space."""
    mg = Decimal(draw(st.integers(1, 120))) / 2
    unit = draw(st.sampled_from(["mg", "g", "mcg", "milligrams"]))
    amount = {"mg": mg, "milligrams": mg, "g": mg / 1000, "mcg": mg * 1000}[unit]
    return _text(amount) + draw(st.sampled_from([" ", ""])) + unit


def maybe(strategy):
    """A value, or None for a field the case leaves out."""
    return st.one_of(st.none(), strategy)


def often(strategy):
    """Like maybe, but present three times in four: decision facts, so that complete cases are common."""
    return st.one_of(strategy, strategy, strategy, st.none())


ages = st.one_of(st.integers(0, 110), st.decimals(0, 110, places=1).map(float))


@st.composite
def cases(draw, age=None, drug=None, route=None, missing: tuple[str, ...] = ()) -> dict:
    """A valid case; every field may be absent unless pinned by the arguments."""
    patient = {
        "age": draw(often(ages)) if age is None else draw(age),
        "spasticity": draw(maybe(st.sampled_from(["focal", "generalized"]))),
        "respiratory_compromise": draw(maybe(st.booleans())),
        "sleep_apnea": draw(maybe(st.sampled_from(["none_known", "suspected", "untreated", "treated"]))),
        "stroke": draw(maybe(st.booleans())),
        "egfr": draw(maybe(st.one_of(st.integers(0, 200), st.decimals(0, 200, places=1).map(float)))),
        "dialysis": draw(maybe(st.booleans())),
        "hepatic_disease": draw(maybe(st.booleans())),
        "epilepsy": draw(maybe(st.booleans())),
        "pregnant": draw(maybe(st.booleans())),
        "other_medications": draw(maybe(st.lists(st.sampled_from(MEDICATIONS), max_size=3, unique=True))),
    }
    medication = {
        "drug": draw(often(st.sampled_from(["baclofen", "baclofen", "Baclofen", "tizanidine"])))
        if drug is None else draw(drug),
        "route": draw(maybe(st.sampled_from(["oral", "intrathecal"]))) if route is None else draw(route),
        "dose": draw(often(doses())),
        "frequency": draw(often(st.sampled_from(FREQUENCIES))),
    }
    response = {
        "relief": draw(often(st.sampled_from(["adequate", "inadequate"]))),
        "side_effects": draw(maybe(st.lists(st.sampled_from(SIDE_EFFECTS), max_size=3, unique=True))),
        "side_effects_intolerable": draw(maybe(st.booleans())),
        "withdrawal_signs": draw(maybe(st.booleans())),
    }
    case = {"patient": patient, "medication": medication, "response": response}
    for section in case.values():
        for key in list(section):
            if section[key] is None or key in missing:
                del section[key]
    return case


def decision_fields_missing(case: dict) -> set[str]:
    present = {**case["patient"], **case["medication"], **case["response"]}
    return {name for name in DECISION_FIELDS if name not in present}


def escalation_codes(advisor, result) -> set[str]:
    return {code for code in result.codes() if advisor.kb.codes[code].category == "escalation"}


def is_adult(case: dict) -> bool:
    return "age" in case["patient"] and case["patient"]["age"] >= 18


@settings(PROPERTY_SETTINGS, max_examples=800)
@given(case=cases())
def test_safety_invariants_hold_for_any_valid_case(engine_advisor, case):
    result = engine_advisor.advise(case)
    codes = set(result.codes())

    plan = result.dose_plan
    if plan is not None:
        assert "increase_baclofen" in codes
        assert plan.next_max_mg <= plan.ceiling_daily_mg <= LABEL_MAX_MG
        assert plan.regimen_daily_mg <= plan.next_max_mg
        assert plan.next_min_mg > plan.current_daily_mg
    else:
        assert "increase_baclofen" not in codes

    for first, second in engine_advisor.kb.exclusions:
        assert not {first, second} <= codes, (first, second)
    assert not {"increase_baclofen", "maintain_current_dose"} <= codes
    assert not {"increase_baclofen", "no_escalation_at_max_dose"} <= codes

    if not is_adult(case) or decision_fields_missing(case):
        assert plan is None and not escalation_codes(engine_advisor, result)

    if case["medication"].get("drug", "").lower() == "baclofen":
        assert "warn_no_abrupt_discontinuation" in codes

    again = engine_advisor.advise(case)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(result.to_json(), sort_keys=True)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_missing_decision_fact_gives_no_dosing_advice_and_is_named(engine_advisor, data):
    gone = tuple(data.draw(st.lists(st.sampled_from(DECISION_FIELDS), min_size=1, max_size=3, unique=True)))
    case = data.draw(cases(age=st.integers(18, 110), drug=st.just("baclofen"), route=st.just("oral"),
                           missing=gone))
    result = engine_advisor.advise(case)
    assert result.dose_plan is None
    assert not escalation_codes(engine_advisor, result)
    assert "request_missing_data" in result.codes()
    if "age" in gone:
        assert "age" in result.missing
    elif "drug" in gone:
        assert "drug" in result.missing
    else:
        assert set(gone) <= set(result.missing)


@PROPERTY_SETTINGS
@given(case=cases(age=st.one_of(st.integers(0, 17), st.decimals(0, "17.9", places=1).map(float))))
def test_under_18_gives_no_dosing_advice(engine_advisor, case):
    result = engine_advisor.advise(case)
    assert result.dose_plan is None
    assert not escalation_codes(engine_advisor, result)
    assert "out_of_scope_pediatric" in result.codes()


@PROPERTY_SETTINGS
@given(case=cases(age=st.integers(18, 110), drug=st.just("baclofen")))
def test_adult_on_baclofen_is_always_warned_against_abrupt_stop(engine_advisor, case):
    assert "warn_no_abrupt_discontinuation" in engine_advisor.advise(case).codes()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(case=cases(age=st.integers(18, 110), drug=st.just("baclofen"), route=st.just("oral")),
       relief=st.just("inadequate"))
def test_dose_plan_of_an_escalation_stays_under_the_ceiling(engine_advisor, case, relief):
    """Complete adult cases with inadequate relief: the branch that proposes doses, explored densely."""
    case["response"]["relief"] = relief
    case["medication"].setdefault("dose", "10 mg")
    case["medication"].setdefault("frequency", "tid")
    result = engine_advisor.advise(case)
    plan = result.dose_plan
    assert (plan is not None) == ("increase_baclofen" in result.codes())
    if plan is not None:
        assert plan.current_daily_mg < plan.next_min_mg <= plan.regimen_daily_mg <= plan.next_max_mg
        assert plan.next_max_mg <= plan.ceiling_daily_mg <= LABEL_MAX_MG
        assert sum(plan.regimen_doses_mg) == plan.regimen_daily_mg


def test_regression_odd_dose_with_a_5_mg_step_limit_gets_advice(engine_advisor):
    """Bug: a 5 mg/day step limit on a daily dose off the 2.5 mg grid (6 mg TID) found no regimen, and
    advise raised SafetyError instead of answering; now the nearest half-tablet increase is proposed."""
    case = {"patient": {"age": 50, "respiratory_compromise": True},
            "medication": {"drug": "baclofen", "dose": "6 mg", "frequency": "tid"},
            "response": {"relief": "inadequate"}}
    plan = engine_advisor.advise(case).dose_plan
    assert (plan.next_min_mg, plan.next_max_mg, plan.regimen_daily_mg) == (22.5, 23, 22.5)


def test_regression_tiny_dose_with_a_5_mg_step_limit_gets_advice(engine_advisor):
    """Bug: 0.5 mg TID with a 5 mg/day step limit fitted no regimen and advise raised SafetyError. Below
    5 mg/day the KB now asks to verify the dose (baclofen.dose.implausibly-low) and gives no plan."""
    case = {"patient": {"age": 50, "respiratory_compromise": True},
            "medication": {"drug": "baclofen", "dose": "0.5 mg", "frequency": "tid"},
            "response": {"relief": "inadequate"}}
    result = engine_advisor.advise(case)
    assert result.dose_plan is None
    assert "verify_dose_implausible" in result.codes() and "increase_baclofen" not in result.codes()
