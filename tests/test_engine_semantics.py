"""Every operator of the condition language on every fact type, input and derived, fires the same rules on
both engines and as the condition language says (knowledge/conditions.py `holds`), at every boundary
value of each fact and with the fact absent: the semantics pinned beyond what the shipped KB uses."""

from __future__ import annotations

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.knowledge.boundaries import atoms_by_fact, fact_values
from clonus.engine.knowledge.conditions import holds
from clonus.engine.knowledge.load import load_kb

from conftest import INSTALLED_ENGINES
from test_runtime_guards import MONITOR, write_rules

CONDITIONS = [
    "age == 45", "age != 45", "age < 18", "age <= 18", "age > 64.5", "age >= 65", "missing age", "known age",
    "egfr == 29.5", "egfr < 0.1",
    "epilepsy", "not epilepsy",
    "spasticity == focal", "spasticity != focal", "spasticity in [focal, generalized]", "spasticity not in [focal]",
    "missing spasticity", "known spasticity",
    "drug == baclofen", "drug != baclofen", "drug in [baclofen, tizanidine]", "drug not in [tizanidine]",
    "drug == co-careldopa.x",
    "other_medications has ciprofloxacin", "other_medications lacks ciprofloxacin",
    "other_medications has fluvoxamine",
]
DERIVED = {"band": {"type": "enum", "origin": "derived", "values": ["low", "high"]},
           "score": {"type": "number", "origin": "derived"},
           "label": {"type": "text", "origin": "derived"},
           "flag": {"type": "boolean", "origin": "derived"}}
DERIVING = [
    {"id": "d.band-high", "when": ["age >= 65"], "then": {"assert": {"band": "high", "score": 2.5}}},
    {"id": "d.band-low", "when": ["age < 65"], "then": {"assert": {"band": "low", "score": 1, "label": "young"}}},
    {"id": "d.flag", "when": ["epilepsy"], "then": {"assert": {"flag": True}}},
]
ON_DERIVED = ["band == high", "band != high", "band in [low]", "band not in [low]", "score > 2", "score == 1",
              "score != 1", "label == young", "label != young", "flag", "not flag"]


def _kb(kb_copy):
    rules = [{"id": f"t.{i}", "when": [c], "then": MONITOR} for i, c in enumerate(CONDITIONS + ON_DERIVED)]
    return load_kb(write_rules(kb_copy, DERIVING + rules, DERIVED))


def _cases(kb):
    atoms = atoms_by_fact(kb.rules)
    base = {"age": 45, "epilepsy": False, "spasticity": "focal", "drug": "baclofen", "egfr": 90,
            "other_medications": ()}
    for fact in base:
        for value in fact_values(kb, kb.facts[fact], atoms.get(fact, ())):
            facts = {**base, fact: value}
            yield {k: v for k, v in facts.items() if v is not None}, frozenset(k for k, v in facts.items() if v is None)


def _expected(kb, facts):
    """The rules that must fire, by the condition language itself (derived facts as DERIVING sets them)."""
    derived = {}
    age = facts.get("age")
    if age is not None:
        derived.update({"band": "high", "score": 2.5} if age >= 65 else {"band": "low", "score": 1, "label": "young"})
    derived["flag"] = bool(facts.get("epilepsy"))
    fired = set()
    for rule in kb.rules:
        (atom,) = rule.alternatives[0] if len(rule.alternatives[0]) == 1 else (None,)
        if atom is None:
            continue
        source = derived if kb.facts[atom.fact].origin == "derived" else facts
        if holds(atom, source.get(atom.fact), atom.fact in source) is True:
            fired.add(rule.id)
    return fired


@pytest.mark.parametrize("engine", INSTALLED_ENGINES)
def test_every_operator_fires_as_the_condition_language_says(kb_copy, engine):
    kb = _kb(kb_copy)
    checked = 0
    with Advisor(kb, engine=engine) as advisor:
        for facts, absent in _cases(kb):
            fired = {f.rule for f in advisor.engine.evaluate(facts, absent).firings}
            assert fired == _expected(kb, facts), (engine, facts)
            checked += 1
    assert checked > 30


@pytest.mark.skipif(len(INSTALLED_ENGINES) < 2, reason=f"needs two engines; here only {INSTALLED_ENGINES}")
def test_both_engines_give_the_same_evaluation_for_every_operator(kb_copy):
    kb = _kb(kb_copy)
    with Advisor(kb, engine="durable") as durable, Advisor(kb, engine="clips") as clips:
        for facts, absent in _cases(kb):
            assert durable.engine.evaluate(facts, absent) == clips.engine.evaluate(facts, absent), facts
