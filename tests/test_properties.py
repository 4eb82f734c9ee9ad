"""Safety invariants over generated valid cases (hypothesis), through a session Advisor on each rule engine
installed (the `engine_advisor` fixture of conftest.py).

Every case generated here is valid input, so `advise` must answer it: a CaseError or a SafetyError is a
failure of the property as much as a broken invariant. Values come from anywhere in range, and from the
KB's own thresholds (tests/boundary_cases.py): at each, and a step of 1 down to 1e-12 either side.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clonus.engine.decide.advisor import Advisor
from clonus.engine.knowledge.load import default_kb_dir, load_kb

from boundary_cases import BoundaryCases, Generated, Judge, Tally
from conftest import engine_params

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


BOUNDARIES = BoundaryCases(load_kb(default_kb_dir()))
PROFILES = BOUNDARIES.kb.profiles
BOUNDARIES_OF = {name: BOUNDARIES if name == BOUNDARIES.kb.profile.name else BoundaryCases(load_kb(None, name))
                 for name in PROFILES}


def near_thresholds(fact: str):
    """The fact's values at, just below and just above each of the KB's thresholds (as case files write them)."""
    dim = next(i for i, d in enumerate(BOUNDARIES.dims) if d.facts == (fact,))
    return st.sampled_from([p[fact] for p in BOUNDARIES.options[dim] if p[fact] is not None])


ages = st.one_of(st.integers(0, 110), st.decimals(0, 110, places=1).map(float), near_thresholds("age"))


@st.composite
def cases(draw, age=None, drug=None, route=None, missing: tuple[str, ...] = ()) -> dict:
    """A valid case; every field may be absent unless pinned by the arguments."""
    patient = {
        "age": draw(often(ages)) if age is None else draw(age),
        "spasticity": draw(maybe(st.sampled_from(["focal", "generalized"]))),
        "respiratory_compromise": draw(maybe(st.booleans())),
        "sleep_apnea": draw(maybe(st.sampled_from(["none_known", "suspected", "untreated", "treated"]))),
        "stroke": draw(maybe(st.booleans())),
        "egfr": draw(maybe(st.one_of(st.integers(0, 200), st.decimals(0, 200, places=1).map(float),
                                     near_thresholds("egfr")))),
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


ADULT_AGE = 18  # README: no dosing advice under 18


@PROPERTY_SETTINGS
@given(case=cases(age=st.one_of(st.integers(0, 17), st.decimals(0, "17.9", places=1).map(float),
                                near_thresholds("age").filter(lambda a: a < ADULT_AGE))))
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


# -- at and around every threshold of the KB (tests/boundary_cases.py) ---------------------------------------

@pytest.fixture(scope="module", params=[pytest.param((engine.values[0], profile), id=f"{engine.id}-{profile}",
                                                     marks=engine.marks)
                                        for engine in engine_params() for profile in PROFILES])
def profile_judge(request):
    """A Judge (tests/boundary_cases.py) on an Advisor for each installed engine and each profile of the KB."""
    engine, profile = request.param
    with Advisor(BOUNDARIES_OF[profile].kb, engine=engine) as advisor:
        yield Judge(advisor)


@st.composite
def boundary_cases(draw) -> tuple[int, list[int], list[tuple[int, int]] | None]:
    """The draw of a boundary case, in any profile's boundaries: every dimension at one of its points
    (indices, each taken modulo that dimension's options), or a rule test's case with one to three moved."""
    seed = draw(st.integers(0, 2**32))
    if draw(st.booleans()):
        return seed, [draw(st.integers(0, 10**6)) for _ in BOUNDARIES.dims], None
    moves = draw(st.lists(st.integers(0, len(BOUNDARIES.dims) - 1), min_size=1, max_size=3, unique=True))
    return seed, [draw(st.integers(0, 10**6))], [(i, draw(st.integers(0, 10**6))) for i in moves]


def _case(cases: BoundaryCases, drawn) -> Generated:
    seed, picks, moves = drawn
    rng = random.Random(seed)
    if moves is None:
        return cases.case([options[k % len(options)] for options, k in zip(cases.options, picks, strict=True)], rng)
    return cases.moved(picks[0] % len(cases.bases), [(i, k % len(cases.options[i])) for i, k in moves], rng)


@settings(PROPERTY_SETTINGS, max_examples=300)
@given(drawn=boundary_cases())
def test_answers_at_and_around_every_threshold_keep_every_invariant_and_the_exact_rules(profile_judge, drawn):
    assert [len(BOUNDARIES_OF[p].dims) for p in PROFILES] == [len(BOUNDARIES.dims)] * len(PROFILES)
    profile_judge.tally = Tally()
    profile_judge.judge(_case(BOUNDARIES_OF[profile_judge.kb.profile.name], drawn))
    assert profile_judge.tally.violations == {}, profile_judge.tally.examples


BOUNDED_RUN = 2_000  # benchmarks/boundary_run.py runs 100,000 and prints the counts


def test_bounded_run_at_and_around_every_threshold_has_no_violation(profile_judge):
    profile_judge.tally = Tally()
    cases = BOUNDARIES_OF[profile_judge.kb.profile.name]
    rng = random.Random(8)
    for _ in range(BOUNDED_RUN):
        profile_judge.judge(cases.draw(rng))
    tally = profile_judge.tally
    assert tally.cases == BOUNDED_RUN and tally.violations == {}, tally.examples
    assert tally.dose_plans > BOUNDED_RUN // 20 and tally.under_age > BOUNDED_RUN // 20


def test_boundary_values_reach_every_threshold_from_both_sides():
    """The generated values are the KB's thresholds and their neighbours down to 1e-12: 17.9999 and
    17.999999999999 for `age >= 18`, 29.9996 for `egfr < 30`, a daily dose a hair under 80 mg/day."""
    values = {d.name: [p for p in options] for d, options in zip(BOUNDARIES.dims, BOUNDARIES.options, strict=True)}
    ages = {p["age"] for p in values["age"] if p["age"] is not None}
    assert {Decimal("17.9999"), Decimal("17.999999999999"), Decimal(18), Decimal("18.000000000001")} <= ages
    egfrs = {p["egfr"] for p in values["egfr"] if p["egfr"] is not None}
    assert {Decimal("29.9999"), Decimal("29.999999999999"), Decimal(30)} <= egfrs
    daily = {p["daily_dose_mg"] for p in values["daily_dose_mg"] if p["daily_dose_mg"] is not None}
    assert any(Decimal("79.999") < d < 80 for d in daily) and any(80 < d < Decimal("80.001") for d in daily)


def test_the_judge_catches_numbers_rounded_at_the_door(advisor, monkeypatch):
    """The bounded run can fail: with intake rounding numbers to 0.001 again (the bug of issue 8: 17.9999
    became 18 and got adult dosing), the same cases show dosing advice under 18 and rules the exact
    values do not fire."""
    from clonus.engine.intake import values
    from clonus.engine.knowledge.numbers import to_number

    monkeypatch.setattr(values, "to_number", lambda number: to_number(number, "0.001"))
    judge = Judge(advisor)
    rng = random.Random(8)
    wanted = ("rules fired differ from the exact reference", "dosing advice under 18 or with a decision fact missing")
    for _ in range(BOUNDED_RUN):
        judge.judge(BOUNDARIES.draw(rng))
        if all(judge.tally.violations[kind] for kind in wanted):
            break
    assert all(judge.tally.violations[kind] > 0 for kind in wanted), judge.tally.violations
