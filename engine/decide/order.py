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
from clonus.engine.errors import EngineError, shown


def canonical(plan: EvaluationPlan, evaluation: Evaluation) -> Evaluation:
    """The evaluation with its firings in the canonical order (module docstring); EngineError when the
    firings and derived facts an engine returned do not hang together."""
    return CanonicalOrder(plan)(evaluation)


class CanonicalOrder:
    """The canonical order for one plan, its tables built once (the Advisor orders every case with it)."""

    def __init__(self, plan: EvaluationPlan):
        self.plan = plan
        kb = plan.kb
        self._key = {rule.id: (plan.rule_strata[rule.id], i) for i, rule in enumerate(plan.rules)}
        self._asserts = {rule.id: rule.asserts for rule in plan.rules}
        self._derived = frozenset(name for name, f in kb.facts.items() if f.origin == "derived")
        # stratum -> the facts completed to false before it (those of every earlier stratum)
        self._completed_before = [frozenset(f for facts in plan.completions[:s] for f in facts)
                                  for s in range(len(plan.completions) + 1)]
        self._completions = tuple(f for facts in plan.completions for f in facts)

    def __call__(self, evaluation: Evaluation) -> Evaluation:
        key, derived = self._key, self._derived
        pending = sorted(evaluation.firings, key=lambda f: (*key[f.rule], f.alternative))
        asserters = {fact for f in pending for fact, _ in self._asserts[f.rule]}
        values: dict[str, Any] = {}
        available: set[str] = set()
        out: list[Firing] = []
        index = 0
        while index < len(pending):
            stratum = key[pending[index].rule][0]
            end = index
            while end < len(pending) and key[pending[end].rule][0] == stratum:
                end += 1
            completed = self._completed_before[min(stratum, len(self._completed_before) - 1)]
            available |= completed - asserters
            group = [(f, [fact for fact, _ in f.matched if fact in derived]) for f in pending[index:end]]
            while group:
                wave = [f for f, premises in group if all(fact in available for fact in premises)]
                if not wave:
                    raise EngineError("the engine fired " + ", ".join(sorted({f.rule for f, _ in group})) +
                                      " on derived facts that no firing asserted")
                for firing in wave:
                    _check_matched(firing, values, derived)
                    out.append(_credited(self._asserts[firing.rule], firing, values))
                available.update(values)
                done = {id(f) for f in wave}
                group = [(f, premises) for f, premises in group if id(f) not in done]
            index = end
        expected = dict(values)
        for fact in self._completions:
            expected.setdefault(fact, False)
        if dict(evaluation.derived) != expected:
            raise EngineError(f"the engine reports derived facts {dict(sorted(evaluation.derived.items()))} where "
                              f"its firings assert {dict(sorted(expected.items()))}")
        return Evaluation(tuple(out), evaluation.derived)


def _credited(asserts, firing: Firing, values: dict[str, Any]) -> Firing:
    """The firing with the derived facts it asserts first (recorded in `values`), matched by fact name."""
    asserted = []
    for fact, value in asserts:
        if fact in values:
            if values[fact] != value:
                raise EngineError(f"rule {firing.rule} asserts {fact} = {shown(value)} but it is already "
                                  f"{shown(values[fact])}: derived facts hold one value")
            continue
        values[fact] = value
        asserted.append((fact, value))
    matched = firing.matched if _sorted(firing.matched) else tuple(sorted(firing.matched, key=lambda kv: kv[0]))
    return Firing(firing.rule, firing.alternative, matched, tuple(asserted))


def _sorted(matched: tuple[tuple[str, Any], ...]) -> bool:
    return all(matched[i][0] <= matched[i + 1][0] for i in range(len(matched) - 1))


def _check_matched(firing: Firing, values: Mapping[str, Any], derived_facts: frozenset[str]) -> None:
    for fact, value in firing.matched:
        if fact in derived_facts and values.get(fact, False) != value:
            raise EngineError(f"rule {firing.rule} matched {fact} = {shown(value)}, which no firing asserted")


class CanonicalEngine:
    """An engine whose evaluations come in the canonical order (what the Advisor runs on)."""

    def __init__(self, engine: Engine, plan: EvaluationPlan):
        self.raw = engine
        self.plan = plan
        self._order = CanonicalOrder(plan)

    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        return self._order(self.raw.evaluate(facts, absent))

    def close(self) -> None:
        self.raw.close()
