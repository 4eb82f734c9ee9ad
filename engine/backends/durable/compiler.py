"""Translate an EvaluationPlan into a durable_rules JSON ruleset (data; runtime.py registers it).

Each fact is its own document: {"fact": name, "known": bool, "v": value}. Words facts carry one
explicit boolean per tested word ({"w_ciprofloxacin": true}) because durable's `$iall` never matches
an empty list. Each alternative of a rule (its condition in disjunctive form) becomes one durable rule
named `<rule id>#<n>`, joining one pattern per fact it reads; durable's `any` is not used (it can fire
more than once for one match).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.knowledge.conditions import Atom, listed

SENTINEL_FACT = "$case"
SENTINEL_RULE = "$sentinel"

_COMPARE = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


@dataclass(frozen=True)
class CompiledRuleset:
    plan: EvaluationPlan
    definition: Mapping[str, Any]          # durable rule name -> rule dict (without `run`)
    targets: Mapping[str, tuple[str, int]]  # durable rule name -> (clonus rule id, alternative index)


def word_key(word: str) -> str:
    return "w_" + word


def _test(atom: Atom) -> dict:
    if atom.op == "missing":
        return {"known": False}
    if atom.op == "known":
        return {"known": True}
    if atom.op == "has":
        return {word_key(str(atom.value)): True}
    if atom.op == "lacks":
        return {word_key(str(atom.value)): False}
    if atom.op == "==":
        return {"v": atom.value}
    if atom.op == "in":
        return {"$or": [{"v": v} for v in listed(atom)]}
    if atom.op == "not in":
        return {"$and": [{"$neq": {"v": v}} for v in listed(atom)]}
    return {_COMPARE[atom.op]: {"v": atom.value}}


def _pattern(fact: str, atoms: list[Atom]) -> dict:
    tests: list[dict] = [{"fact": fact}]
    if any(a.op not in ("missing", "known") for a in atoms):
        tests.append({"known": True})  # a comparison never matches a fact the case lacks
    tests.extend(_test(a) for a in atoms)
    return {"$and": tests}


def compile_plan(plan: EvaluationPlan) -> CompiledRuleset:
    """Build the durable ruleset. The plan is within durable_rules' limits (LIMITS in __init__.py): the
    Advisor checks it first and refuses a KB past them as located problems."""
    definition: dict[str, Any] = {SENTINEL_RULE: {"all": [{"p_0": {"fact": SENTINEL_FACT}}]}}
    targets: dict[str, tuple[str, int]] = {}
    for rule in plan.rules:
        for index, alternative in enumerate(rule.alternatives):
            by_fact: dict[str, list[Atom]] = {}
            for atom in alternative:
                by_fact.setdefault(atom.fact, []).append(atom)
            name = f"{rule.id}#{index}"
            definition[name] = {
                "all": [{f"p_{i}": _pattern(fact, atoms)} for i, (fact, atoms) in enumerate(by_fact.items())]
            }
            targets[name] = (rule.id, index)
    return CompiledRuleset(plan, MappingProxyType(definition), MappingProxyType(targets))
