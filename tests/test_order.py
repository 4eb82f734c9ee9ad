"""The canonical trace order (engine/decide/order.py): one order whichever order an engine fired in, every
firing after the firings that asserted what it matched, and an engine's answer that does not hang together
refused."""

from __future__ import annotations

import dataclasses
import random

import pytest

from clonus.engine.decide.backend import Evaluation, Firing
from clonus.engine.decide.order import canonical
from clonus.engine.errors import EngineError
from clonus.engine.intake.case import parse_case

from conftest import reference_case

CASES = [
    reference_case(),
    {"patient": {"age": 50, "spasticity": "focal", "stroke": True},
     "medication": {"drug": "baclofen", "dose": "20 mg", "frequency": "qid"}, "response": {"relief": "inadequate"}},
    {"patient": {"age": 70, "dialysis": True}, "medication": {"drug": "baclofen", "dose": "5 mg", "frequency": "tid"},
     "response": {"relief": "inadequate", "side_effects_intolerable": True}},
    {"patient": {"age": 45}, "medication": {"drug": "baclofen"}},
]


def raw(advisor, case: dict) -> Evaluation:
    parsed = parse_case(advisor.kb, case)
    return advisor.engine.raw.evaluate(parsed.facts, parsed.absent)


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_any_firing_order_gives_the_same_canonical_order(advisor, case):
    evaluation = raw(advisor, case)
    expected = canonical(advisor.plan, evaluation)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = list(evaluation.firings)
        rng.shuffle(shuffled)
        # an engine credits a derived fact to whichever of its asserters fired first: any of them here
        shuffled = [dataclasses.replace(f, matched=tuple(reversed(f.matched)), asserted=()) for f in shuffled]
        assert canonical(advisor.plan, Evaluation(tuple(shuffled), evaluation.derived)) == expected


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_each_firing_comes_after_what_it_matched_and_strata_never_go_back(advisor, case):
    ordered = canonical(advisor.plan, raw(advisor, case)).firings
    derived = {n for n, f in advisor.kb.facts.items() if f.origin == "derived"}
    asserted_at = {fact: i for i, f in enumerate(ordered) for fact, _ in f.asserted}
    strata = [advisor.plan.rule_strata[f.rule] for f in ordered]
    assert strata == sorted(strata)
    for i, firing in enumerate(ordered):
        assert [name for name, _ in firing.matched] == sorted(name for name, _ in firing.matched)
        for fact, _ in firing.matched:
            if fact in derived and fact in asserted_at:
                assert asserted_at[fact] < i, (firing.rule, fact)


def test_within_a_wave_rules_come_in_kb_order(advisor):
    """The reference case: the rules on input facts alone come first, in KB order, then those on their facts."""
    ordered = canonical(advisor.plan, raw(advisor, reference_case())).firings
    derived = {n for n, f in advisor.kb.facts.items() if f.origin == "derived"}
    place = {r.id: i for i, r in enumerate(advisor.plan.rules)}
    on_input = [i for i, f in enumerate(ordered)
                if advisor.plan.rule_strata[f.rule] == 0 and not any(n in derived for n, _ in f.matched)]
    assert len(on_input) >= 3
    assert on_input == list(range(len(on_input)))  # wave 0 of stratum 0 leads
    wave0 = [ordered[i].rule for i in on_input]
    assert wave0 == sorted(wave0, key=place.__getitem__)
    assert len(ordered) > len(on_input)


def test_a_firing_on_a_derived_fact_no_firing_asserted_is_an_engine_error(advisor):
    evaluation = raw(advisor, reference_case())
    without = tuple(f for f in evaluation.firings if f.rule != "scope.adult-oral-baclofen")
    with pytest.raises(EngineError, match="no firing asserted"):
        canonical(advisor.plan, Evaluation(without, evaluation.derived))


def test_a_derived_fact_matched_with_another_value_is_an_engine_error(advisor):
    evaluation = raw(advisor, reference_case())
    changed = tuple(dataclasses.replace(f, matched=tuple((k, "at_max" if k == "dose_band" else v)
                                                         for k, v in f.matched)) for f in evaluation.firings)
    with pytest.raises(EngineError, match="dose_band = 'at_max', which no firing asserted"):
        canonical(advisor.plan, Evaluation(changed, evaluation.derived))


def test_two_values_of_one_derived_fact_are_an_engine_error(advisor):
    evaluation = raw(advisor, reference_case())
    extra = Firing("baclofen.dose.at-max", 0, (("daily_dose_mg", 45),), ())
    with pytest.raises(EngineError, match="derived facts hold one value"):
        canonical(advisor.plan, Evaluation((*evaluation.firings, extra), evaluation.derived))


def test_derived_facts_the_firings_do_not_explain_are_an_engine_error(advisor):
    evaluation = raw(advisor, reference_case())
    with pytest.raises(EngineError, match="reports derived facts"):
        canonical(advisor.plan, Evaluation(evaluation.firings, {**evaluation.derived, "needs_alternative": True}))
    missing_completion = {k: v for k, v in evaluation.derived.items() if k != "escalation_blocked"}
    with pytest.raises(EngineError, match="reports derived facts"):
        canonical(advisor.plan, Evaluation(evaluation.firings, missing_completion))
