"""The engine-neutral evaluation plan: which rules run, in which strata, and which facts they read.

Negation in durable_rules is unreliable (a negated fact that arrives late does not cancel a pending
firing), so clonus never uses it. A condition like `not escalation_blocked` reads the explicit value
`false`, which the runtime asserts for every boolean derived fact still unasserted once every rule that
could assert it has run: stratified negation-as-failure, computed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from clonus.engine.knowledge.model import Kb, Rule


@dataclass(frozen=True)
class EvaluationPlan:
    kb: Kb
    rules: tuple[Rule, ...]
    rule_strata: Mapping[str, int]
    fact_strata: Mapping[str, int]
    # stratum -> boolean derived facts whose `false` some rule reads, completed after that stratum
    completions: tuple[tuple[str, ...], ...]
    read_facts: frozenset[str]
    # words fact -> the words rules test with has/lacks
    words_tested: Mapping[str, tuple[str, ...]]
    include_draft: bool


def active_statuses(include_draft: bool) -> tuple[str, ...]:
    return ("draft", "reviewed", "approved") if include_draft else ("approved",)


def make_evaluation_plan(kb: Kb, include_draft: bool = False) -> EvaluationPlan:
    statuses = active_statuses(include_draft)
    rules = tuple(r for r in kb.rules if r.status in statuses)
    derived = {name for name, f in kb.facts.items() if f.origin == "derived"}
    negative_reads = {
        a.fact for r in rules for alt in r.alternatives for a in alt
        if a.fact in derived and a.op == "==" and a.value is False
    }
    rule_strata = {r.id: 0 for r in rules}
    fact_strata = {f: 0 for f in derived}
    for _ in range(len(derived) + 2):  # acyclic (checked at load): converges within |derived| rounds
        changed = False
        for rule in rules:
            level = 0
            for alt in rule.alternatives:
                for atom in alt:
                    if atom.fact in derived:
                        negative = atom.op == "==" and atom.value is False
                        level = max(level, fact_strata[atom.fact] + (1 if negative else 0))
            if level != rule_strata[rule.id]:
                rule_strata[rule.id], changed = level, True
            for fact, _ in rule.asserts:
                if fact_strata[fact] < level:
                    fact_strata[fact], changed = level, True
        if not changed:
            break
    top = max([0, *rule_strata.values(), *fact_strata.values()])
    completions = tuple(
        tuple(sorted(f for f in negative_reads if fact_strata[f] == s and kb.facts[f].type == "boolean"))
        for s in range(top + 1)
    )
    words: dict[str, list[str]] = {}
    for rule in rules:
        for alt in rule.alternatives:
            for atom in alt:
                if atom.op in ("has", "lacks"):
                    words.setdefault(atom.fact, [])
                    if atom.value not in words[atom.fact]:
                        words[atom.fact].append(str(atom.value))
    return EvaluationPlan(
        kb=kb, rules=rules, rule_strata=MappingProxyType(rule_strata),
        fact_strata=MappingProxyType(fact_strata), completions=completions,
        read_facts=frozenset(a.fact for r in rules for alt in r.alternatives for a in alt),
        words_tested=MappingProxyType({k: tuple(sorted(v)) for k, v in words.items()}),
        include_draft=include_draft,
    )
