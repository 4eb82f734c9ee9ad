"""Clinical safety properties (issue 9 section 8) over generated valid cases, on every rule engine installed
and under every profile of the shipped KB.

Cases come from the KB's own generator (engine/workbench/generate.py: every field present or absent,
numbers at and around every threshold, any spelling intake accepts), from a seed hypothesis draws, so that a
failure repeats; half of them are pinned to an adult on the drug a dose plan is
made for, by its default route, so that the dosing branches are explored densely.

Every threshold and code a property reads comes from the loaded KB, never from a literal here: the
ceilings from the profile's and the shared parameters, the codes by their place in the KB (what urgent
codes suppress, what the safety section requires, which rules say a drug is contraindicated), the drugs
from the medication vocabulary. Each KB-derived set is checked to be non-empty, so that a property can
never hold because it reads nothing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clonus.engine.decide.advisor import Advisor
from clonus.engine.knowledge.load import load_kb
from clonus.engine.knowledge.model import Kb
from clonus.engine.workbench.generate import case_maker

from conftest import engine_params

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILES = load_kb().profiles
PLANS_SEEN: dict[str, int] = {}  # dose plans the ceiling property checked, per profile (to see it is not idle)


def _params() -> list:
    """One pytest param per (engine, profile): an engine that cannot run here is skipped, with why."""
    return [pytest.param((engine.values[0], profile), id=f"{engine.values[0]}-{profile}", marks=engine.marks)
            for engine in engine_params() for profile in PROFILES]


@pytest.fixture(scope="module", params=_params())
def bound(request):
    """An Advisor on one engine, its KB bound to one profile."""
    engine, profile = request.param
    with Advisor(load_kb(None, profile), engine=engine) as advisor:
        yield advisor


# -- what the KB says, read once per profile -----------------------------------------------------------

_MAKERS: dict[int, Any] = {}


def maker(kb: Kb):
    """The KB's case generator, built once per loaded KB."""
    if id(kb) not in _MAKERS:
        _MAKERS[id(kb)] = (kb, case_maker(kb))  # the KB is kept, so that its id is never reused
    return _MAKERS[id(kb)][1]


def _field(kb: Kb, fact: str) -> tuple[str, str]:
    section, name = str(kb.facts[fact].case_field).split(".", 1)
    return section, name


def routine_codes(kb: Kb) -> frozenset[str]:
    """The routine regimen codes ("continue the current dose"): what the KB's urgent codes suppress."""
    codes = frozenset(c for victims in kb.precedence.suppresses.values() for c in victims)
    assert codes, "the KB's precedence suppresses nothing: the properties below would read nothing"
    return codes


def standing_codes(kb: Kb) -> frozenset[str]:
    """The standing counselling every answer on the drug carries: the safety section's required codes."""
    codes = frozenset(c for required in kb.invariants.required for c in required.codes)
    assert codes
    return codes


def names_of(kb: Kb, drug: str) -> re.Pattern:
    """A drug as recommendations write it: its ingredient or a brand name, as a word."""
    med = kb.medications[drug]
    words = [drug.replace("_", " "), *med.names]
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def contraindicated_drugs(kb: Kb) -> dict[str, tuple[str, frozenset[str]]]:
    """drug -> (the derived fact that says it is contraindicated for the case, the rules that can say so):
    the rules that read the fact as true, or that read every condition of a rule asserting it. A
    recommendation such a rule made, whose text names the drug, states the contraindication."""
    out = {}
    for drug in kb.medications:
        fact = f"{drug}_contraindicated"
        if fact not in kb.facts:
            continue
        grounds = [set(alt) for r in kb.rules if (fact, True) in r.asserts for alt in r.alternatives]
        rules = set()
        for rule in kb.rules:
            for alt in rule.alternatives:
                atoms = set(alt)
                if rule.recommends and (any(a.fact == fact and a.op == "==" and a.value is True for a in atoms)
                                        or any(g <= atoms for g in grounds)):
                    rules.add(rule.id)
        assert rules, f"no rule says {drug} is contraindicated"
        out[drug] = (fact, frozenset(rules))
    assert out, "the KB derives no <drug>_contraindicated fact"
    return out


def contraindicating(kb: Kb, drug: str) -> list[dict[str, Any]]:
    """Ways to make a case contraindicate `drug`, from the conditions of the rules that say it is: a
    condition on a medication class becomes a medication of that class in the list the class is read
    from; a yes-or-no finding becomes true."""
    fact = contraindicated_drugs(kb)[drug][0]
    ways = []
    for rule in kb.rules:
        if (fact, True) not in rule.asserts:
            continue
        for alt in rule.alternatives:
            pinned: dict[str, Any] = {}
            for atom in alt:
                source = kb.facts[atom.fact].classes_of
                if atom.op == "has" and source:
                    pinned[source] = sorted(m for m, med in kb.medications.items() if atom.value in med.classes)[:1]
                elif atom.op == "==" and atom.value is True and kb.facts[atom.fact].origin == "input":
                    pinned[atom.fact] = True
                else:
                    break
            else:
                ways.append(pinned)
    assert ways, f"no input facts make {drug} contraindicated"
    return ways


def other_routes(kb: Kb) -> re.Pattern:
    """The routes other than the default one (oral), as words in a recommendation."""
    route = kb.facts["route"]
    others = [str(v) for v in route.values if v != route.default]
    assert others
    return re.compile(r"\b(" + "|".join(re.escape(v) for v in others) + r")\b", re.IGNORECASE)


def ceiling_for(kb: Kb, drug: str, facts: Mapping[str, Any]) -> float:
    """The highest daily dose any plan may reach for this case: the profile's label maximum, lowered by
    the renal and older-adult limits (the KB's parameters)."""
    p = kb.profile.parameters
    ceiling = kb.invariants.max_daily_mg[drug]
    egfr = facts.get("egfr")
    if egfr is not None and egfr < p["renal_moderate_egfr"]:
        ceiling = min(ceiling, p["renal_moderate_max_daily_mg"])
    if facts.get("age") is not None and facts["age"] >= p["older_adult_age"]:
        ceiling = min(ceiling, p["older_adult_max_daily_mg"])
    return ceiling


def severe_renal(kb: Kb, facts: Mapping[str, Any]) -> bool:
    egfr = facts.get("egfr")
    return bool(facts.get("dialysis")) or (egfr is not None and egfr < kb.profile.parameters["renal_severe_egfr"])


# -- cases -----------------------------------------------------------------------------------------

@st.composite
def cases(draw, kb: Kb, **pinned: Any) -> dict:
    """A generated valid case; half the time an adult on the planned drug by its default route (every
    value from the KB), with any fields given in `pinned` (fact -> value) set."""
    case = maker(kb)(random.Random(draw(st.integers(0, 2**32 - 1))))
    fixed = dict(pinned)
    if draw(st.booleans()):
        [drug] = list(kb.invariants.max_daily_mg)[:1]
        adult = kb.invariants.adult_age
        fixed.setdefault(kb.invariants.drug_fact, drug)
        fixed.setdefault("route", kb.facts["route"].default)
        fixed.setdefault(kb.invariants.adult_fact, draw(st.integers(int(adult), int(kb.facts["age"].maximum))))
    for fact, value in fixed.items():
        section, name = _field(kb, fact)
        if value is None:  # the case leaves the field out
            case.get(section, {}).pop(name, None)
        else:
            case.setdefault(section, {})[name] = value
    return case


def planned_value(kb: Kb, fact: str) -> Any:
    """The value of `fact` that the rules making a dose plan read (relief: inadequate)."""
    [value] = {a.value for r in kb.rules if r.dose_plan for alt in r.alternatives for a in alt
               if a.fact == fact and a.op == "=="}
    return value


def escalation_case(kb: Kb, draw) -> dict[str, Any]:
    """Pinned facts for a case the KB would escalate but for its precautions: relief as the planning rules
    read it, no finding that stops escalation on its own, eGFR and age around the renal and older-adult
    thresholds (or eGFR absent)."""
    p = kb.profile.parameters
    severe, moderate = p["renal_severe_egfr"], p["renal_moderate_egfr"]
    egfr = st.one_of(st.none(), st.integers(int(severe), int(moderate) + 20),
                     st.sampled_from([moderate - 0.01, moderate]))
    return {"relief": planned_value(kb, "relief"), "withdrawal_signs": False, "side_effects_intolerable": False,
            "side_effects": None, "stop_planned": False, "egfr": draw(egfr),
            "age": draw(st.integers(int(kb.invariants.adult_age), int(p["older_adult_age"]) + 20))}


def _facts(result) -> dict[str, Any]:
    return {**result.facts, **result.derived}


def _draw(data, advisor, **pinned):
    case = data.draw(cases(advisor.kb, **pinned))
    return case, advisor.advise(case)


# -- the properties --------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_no_dose_plan_above_the_ceiling_that_applies(bound, data):
    """Never a plan above the profile's label maximum, the renal ceiling (eGFR below the moderate
    threshold) or the older-adult ceiling; no plan at all in severe renal impairment or dialysis, nor for
    an older adult whose renal function is unknown."""
    kb = bound.kb
    pinned = escalation_case(kb, data.draw) if data.draw(st.integers(0, 3)) else {}
    _, result = _draw(data, bound, **pinned)
    plan, facts = result.dose_plan, _facts(result)
    if plan is None:
        return
    PLANS_SEEN[kb.profile.name] = PLANS_SEEN.get(kb.profile.name, 0) + 1
    ceiling = ceiling_for(kb, plan.drug, facts)
    assert plan.next_max_mg <= ceiling and plan.regimen_daily_mg <= ceiling and plan.ceiling_daily_mg <= ceiling
    assert not severe_renal(kb, facts)
    if facts.get("age", 0) >= kb.profile.parameters["older_adult_age"]:
        assert facts.get("egfr") is not None


@SETTINGS
@given(data=st.data(), withdrawal=st.booleans(), dialysis=st.booleans())
def test_severe_renal_impairment_never_continues_with_withdrawal_or_above_the_renal_dose(bound, data,
                                                                                       withdrawal, dialysis):
    kb = bound.kb
    severe = kb.profile.parameters["renal_severe_egfr"]
    egfr = data.draw(st.one_of(st.integers(0, int(severe) - 1), st.just(float(severe) - 0.01)))
    _, result = _draw(data, bound, egfr=egfr, withdrawal_signs=withdrawal, dialysis=dialysis)
    facts = _facts(result)
    assert severe_renal(kb, facts)
    daily = facts.get("daily_dose_mg")
    above = daily is not None and daily > kb.profile.parameters["renal_severe_daily_mg"]
    if withdrawal or above:
        assert not routine_codes(kb) & set(result.codes()), (daily, withdrawal, result.codes())
    assert result.dose_plan is None


@SETTINGS
@given(data=st.data())
def test_withdrawal_signs_never_continue_the_current_dose(bound, data):
    _, result = _draw(data, bound, withdrawal_signs=True)
    assert not routine_codes(bound.kb) & set(result.codes()), result.codes()


@SETTINGS
@given(data=st.data())
def test_never_intrathecal_baclofen_with_adequate_relief(bound, data):
    """With adequate relief on the default route, no recommendation names another route."""
    kb = bound.kb
    relief = kb.facts["relief"]
    adequate = next(v for v in relief.values if f"relief == {v}" in
                    {str(a) for r in kb.rules for alt in r.alternatives for a in alt
                     if any(rec.code in routine_codes(kb) for rec in r.recommends)})
    _, result = _draw(data, bound, relief=adequate, route=kb.facts["route"].default)
    pattern = other_routes(kb)
    assert not [r.code for r in result.recommendations if pattern.search(r.text)], result.codes()


@SETTINGS
@given(data=st.data())
def test_a_contraindicated_drug_is_never_named_without_its_contraindication(bound, data):
    kb = bound.kb
    pinned = {}
    if data.draw(st.integers(0, 3)):  # mostly a case that contraindicates one or more drugs
        pinned = escalation_case(kb, data.draw) if data.draw(st.booleans()) else {}
        for drug in data.draw(st.lists(st.sampled_from(sorted(contraindicated_drugs(kb))), min_size=1, unique=True)):
            pinned.update(data.draw(st.sampled_from(contraindicating(kb, drug))))
    _, result = _draw(data, bound, **pinned)
    facts = _facts(result)
    for drug, (fact, says) in contraindicated_drugs(kb).items():
        if facts.get(fact) is not True:
            continue
        pattern = names_of(kb, drug)
        naming = [r for r in result.recommendations if pattern.search(r.text)]
        if naming:
            assert any(says & set(r.rules) for r in naming), (drug, [r.code for r in naming])


@SETTINGS
@given(data=st.data())
def test_the_first_recommendation_is_the_most_urgent(bound, data):
    """Critical before the rest (a code outranking a critical one counts as critical), nothing the KB's
    precedence puts before it, and the standing counselling first only when it is critical."""
    kb = bound.kb
    _, result = _draw(data, bound)
    recs = result.recommendations
    if not recs:
        return
    codes = [r.code for r in recs]
    after = kb.precedence.outranked
    critical = {r.code for r in recs if r.severity == "critical"}
    first = recs[0]
    assert not [c for c in codes if first.code in after.get(c, ())], codes
    urgent = {c for c in codes if c in critical or after.get(c, frozenset()) & critical}
    if urgent:
        assert first.code in urgent, codes
    if first.code in standing_codes(kb):
        assert first.severity == "critical", codes
    roots = [c for c in codes if not any(c in after.get(o, ()) for o in codes)]
    rank = kb.display_rank
    plain = [c for c in roots if not (after.get(c, frozenset()) & set(codes))]
    if first.code in plain and not urgent:
        assert rank[first.code][1:] == min(rank[c][1:] for c in plain), codes


def test_the_properties_read_something_from_every_profile():
    """Each KB-derived set the properties read is there under every profile (else they would hold
    vacuously)."""
    for profile in PROFILES:
        kb = load_kb(None, profile)
        assert routine_codes(kb) and standing_codes(kb) and contraindicated_drugs(kb)
        assert other_routes(kb).pattern
        params = kb.profile.parameters
        for maximum in kb.invariants.max_daily_mg.values():  # the lower ceilings do lower it
            assert params["renal_moderate_max_daily_mg"] < maximum and params["older_adult_max_daily_mg"] < maximum
        rng = random.Random(0)
        assert maker(kb)(rng)
