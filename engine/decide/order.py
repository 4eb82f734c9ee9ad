"""The canonical trace order: one case's firings in one order, whichever engine ran them.

Each engine fires in its own agenda order (durable_rules by how its C core queues actions, CLIPS by its
conflict-resolution strategy), and the answer depends on the order: the first rule to recommend a code is
its `rule`, the first dose-planning rule plans the dose, reasons are listed in firing order, and the first
rule to assert a derived fact is the one shown asserting it. So the Advisor puts every evaluation in this
order, computed from the firings alone:

1. by the rule's negation stratum (decide/evaluation.py): a rule that reads `not x` comes after every
   rule that could assert x;
2. within a stratum, by derivation wave: wave 0 is every firing that matched only input facts and derived
   facts of earlier strata; wave n + 1 every firing that needs a derived fact first asserted in wave n;
3. within a wave, by the rule's place in the KB (rule files by name, rules in file order), then by
   alternative.

This is breadth-first forward chaining, stratum by stratum. A firing's `asserted` holds the derived facts it
asserted first in this order, `matched` is sorted by fact name. The same pass checks that the engine's
answer hangs together: every derived fact a firing matched was asserted by some firing (or completed to
false), a derived fact holds one value, and the derived facts reported are exactly those asserted or
completed; anything else is an EngineError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clonus.engine.decide.backend import Engine, Evaluation, Firing
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.errors import EngineError


def canonical(plan: EvaluationPlan, evaluation: Evaluation) -> Evaluation:
    """The evaluation with its firings in the canonical order (module docstring); EngineError when the
    firings and derived facts an engine returned do not hang together."""
    kb, strata = plan.kb, plan.rule_strata
    position = {rule.id: i for i, rule in enumerate(plan.rules)}
    derived_facts = {name for name, f in kb.facts.items() if f.origin == "derived"}
    pending = sorted(evaluation.firings, key=lambda f: (strata[f.rule], position[f.rule], f.alternative))
    asserters = {fact for f in pending for fact, _ in kb.rule(f.rule).asserts}
    values: dict[str, Any] = {}
    available: set[str] = set()
    out: list[Firing] = []
    for stratum in sorted({strata[f.rule] for f in pending}):
        available |= {fact for facts in plan.completions[:stratum] for fact in facts if fact not in asserters}
        group = [f for f in pending if strata[f.rule] == stratum]
        while group:
            wave = [f for f in group if all(fact in available for fact, _ in f.matched if fact in derived_facts)]
            for firing in wave:
                _check_matched(firing, values, derived_facts)
            if not wave:
                raise EngineError("the engine fired " + ", ".join(sorted({f.rule for f in group})) +
                                  " on derived facts that no firing asserted")
            for firing in wave:
                out.append(_credited(kb.rule(firing.rule).asserts, firing, values))
            available |= values.keys()
            group = [f for f in group if not any(f is w for w in wave)]
    _check_derived(plan, values, evaluation.derived)
    return Evaluation(tuple(out), evaluation.derived)


def _credited(asserts, firing: Firing, values: dict[str, Any]) -> Firing:
    """The firing with the derived facts it asserts first (recorded in `values`), matched by fact name."""
    asserted = []
    for fact, value in asserts:
        if fact in values:
            if values[fact] != value:
                raise EngineError(f"rule {firing.rule} asserts {fact} = {value!r} but it is already "
                                  f"{values[fact]!r}: derived facts hold one value")
            continue
        values[fact] = value
        asserted.append((fact, value))
    matched = tuple(sorted(firing.matched, key=lambda pair: pair[0]))
    return Firing(firing.rule, firing.alternative, matched, tuple(asserted))


def _check_matched(firing: Firing, values: Mapping[str, Any], derived_facts: set[str]) -> None:
    for fact, value in firing.matched:
        if fact in derived_facts and values.get(fact, False) != value:
            raise EngineError(f"rule {firing.rule} matched {fact} = {value!r}, which no firing asserted")


def _check_derived(plan: EvaluationPlan, asserted: Mapping[str, Any], reported: Mapping[str, Any]) -> None:
    expected = dict(asserted)
    for facts in plan.completions:
        for fact in facts:
            expected.setdefault(fact, False)
    if dict(reported) != expected:
        raise EngineError(f"the engine reports derived facts {dict(sorted(reported.items()))} where its firings "
                          f"assert {dict(sorted(expected.items()))}")


class CanonicalEngine:
    """An engine whose evaluations come in the canonical order (what the Advisor runs on)."""

    def __init__(self, engine: Engine, plan: EvaluationPlan):
        self.raw = engine
        self.plan = plan

    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        return canonical(self.plan, self.raw.evaluate(facts, absent))

    def close(self) -> None:
        self.raw.close()
