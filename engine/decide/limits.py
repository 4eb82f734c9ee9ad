"""What a rule engine can compile and run, and the check of an evaluation plan against it.

Each backend declares its own Limits (`Backend.limits()`), measured on that engine; the Advisor checks
the plan against the active backend's limits before the engine sees it, so that a KB shape the engine
would hang on, crash on or fail on at run time is refused up front as located problems
(`file:line: rule-id: when: ...`), like any other load problem. Each quantity is counted on the plan in
terms of the KB (facts, conditions, rule alternatives), the same for every engine; None means no limit.

- facts_read: distinct facts the active rules read.
- facts_per_alternative: facts one alternative of a rule's condition reads together (one join each).
- tests_per_fact: distinct comparisons made on one fact across all rules, each listed value of an
  `in` / `not in` condition one comparison of its own.
- patterns_per_fact: groups of conditions on one fact (what one alternative asks of that fact), which
  can all hold for one value at once: distinct groups, except that a group with an `in` list counts
  once per alternative it appears in (durable gives each occurrence a node of its own).
- alternatives_per_pattern: rule alternatives that ask the same of one fact (an identical group).
- alternatives: rule alternatives in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.errors import KbError, Problem, shown
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.model import Rule


@dataclass(frozen=True)
class Limits:
    """The most of each quantity an engine handles (None: no limit known), and what happens past it."""

    facts_read: int | None = None
    facts_per_alternative: int | None = None
    tests_per_fact: int | None = None
    patterns_per_fact: int | None = None
    alternatives_per_pattern: int | None = None
    alternatives: int | None = None
    engine: str = "the rule engine"
    # quantity -> what the engine does past its limit, for the message ("hangs compiling the KB")
    effects: tuple[tuple[str, str], ...] = ()

    def effect(self, quantity: str) -> str:
        return dict(self.effects).get(quantity, "it fails")


@dataclass(frozen=True)
class _Where:
    """The first rule (and condition) that took a quantity past its limit."""

    rule: Rule
    atom: Atom | None


def plan_problems(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    """Every limit the plan goes past, each located at the rule that crossed it (in KB order)."""
    problems: list[Problem] = []
    for check in _CHECKS:
        problems.extend(check(plan, limits))
    return problems


def check_plan(plan: EvaluationPlan, limits: Limits) -> None:
    """KbError with every problem when the plan goes past the engine's limits."""
    problems = plan_problems(plan, limits)
    if problems:
        raise KbError(problems)


def _problem(where: _Where, limits: Limits, quantity: str, message: str) -> Problem:
    rule = where.rule
    line = rule.condition_lines.get(str(where.atom), rule.line) if where.atom is not None else rule.line
    limit = getattr(limits, quantity)
    return Problem(rule.file, line, rule.id, "when",
                   f"{message}; {limits.engine} takes at most {limit:,} (past that, {limits.effect(quantity)})")


def _pattern(atoms: list[Atom]) -> tuple[str, tuple[str, ...]]:
    """One alternative's conditions on one fact, in order: what the engine tests that fact for."""
    return atoms[0].fact, tuple(str(a) for a in atoms)


def _by_fact(alternative: tuple[Atom, ...]) -> dict[str, list[Atom]]:
    groups: dict[str, list[Atom]] = {}
    for atom in alternative:
        groups.setdefault(atom.fact, []).append(atom)
    return groups


def _comparisons(atom: Atom) -> list[tuple[str, str]]:
    """The engine's comparisons for one condition: one per listed value of in / not in."""
    if atom.op in ("missing", "known"):
        return []  # a test of whether the fact is known, not of its value
    if atom.op in ("in", "not in") and isinstance(atom.value, tuple):
        op = "==" if atom.op == "in" else "!="
        return [(op, repr(v)) for v in atom.value]
    return [(atom.op, repr(atom.value))]


def _facts_read(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    limit = limits.facts_read
    if limit is None:
        return []
    seen: dict[str, None] = {}
    for rule in plan.rules:
        for alternative in rule.alternatives:
            for atom in alternative:
                if atom.fact not in seen:
                    seen[atom.fact] = None
                    if len(seen) == limit + 1:
                        total = len({a.fact for r in plan.rules for alt in r.alternatives for a in alt})
                        return [_problem(_Where(rule, atom), limits, "facts_read",
                                         f"the rules read {total:,} distinct facts ({shown(atom.fact)} is number "
                                         f"{limit + 1:,})")]
    return []


def _facts_per_alternative(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    limit = limits.facts_per_alternative
    if limit is None:
        return []
    out = []
    for rule in plan.rules:
        for index, alternative in enumerate(rule.alternatives):
            groups = _by_fact(alternative)
            if len(groups) > limit:
                which = f" (alternative {index + 1})" if len(rule.alternatives) > 1 else ""
                atom = next(iter(groups.values()))[0]
                out.append(_problem(_Where(rule, atom), limits, "facts_per_alternative",
                                    f"this condition{which} reads {len(groups):,} facts together"))
                break
    return out


def _per_fact(plan: EvaluationPlan, limits: Limits, quantity: str,
              items: Callable[[list[Atom]], list]) -> list[Problem]:
    """Distinct items (comparisons, or groups of conditions) per fact, located where one passes the limit."""
    limit = getattr(limits, quantity)
    if limit is None:
        return []
    seen: dict[str, dict] = {}
    crossed: dict[str, _Where] = {}
    for rule in plan.rules:
        for alternative in rule.alternatives:
            for fact, atoms in _by_fact(alternative).items():
                known = seen.setdefault(fact, {})
                for item, atom in items(atoms):
                    known.setdefault(item, None)
                    if len(known) > limit and fact not in crossed:
                        crossed[fact] = _Where(rule, atom)
    what = {"tests_per_fact": "distinct comparisons (each listed value counts)",
            "patterns_per_fact": "distinct groups of conditions"}[quantity]
    return [_problem(where, limits, quantity, f"fact {shown(fact)}: the rules make {len(seen[fact]):,} {what} on it")
            for fact, where in crossed.items()]


def _tests_per_fact(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    return _per_fact(plan, limits, "tests_per_fact",
                     lambda atoms: [(test, atom) for atom in atoms for test in _comparisons(atom)])


def _patterns_per_fact(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    occurrence = iter(range(1, 2**62))  # a group with an `in` list is never the same as another

    def groups(atoms: list[Atom]) -> list:
        listed = any(a.op == "in" for a in atoms)
        return [((_pattern(atoms), next(occurrence) if listed else 0), atoms[0])]

    return _per_fact(plan, limits, "patterns_per_fact", groups)


def _alternatives_per_pattern(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    limit = limits.alternatives_per_pattern
    if limit is None:
        return []
    counts: dict[tuple[str, tuple[str, ...]], int] = {}
    out = []
    for rule in plan.rules:
        for alternative in rule.alternatives:
            for atoms in _by_fact(alternative).values():
                key = _pattern(atoms)
                counts[key] = counts.get(key, 0) + 1
                if counts[key] == limit + 1:
                    total = sum(1 for r in plan.rules for alt in r.alternatives
                                for group in _by_fact(alt).values() if _pattern(group) == key)
                    out.append(_problem(_Where(rule, atoms[0]), limits, "alternatives_per_pattern",
                                        f"{total:,} rule alternatives ask the same of fact {shown(key[0])} "
                                        f"({' and '.join(key[1])})"))
    return out


def _alternatives(plan: EvaluationPlan, limits: Limits) -> list[Problem]:
    limit = limits.alternatives
    if limit is None:
        return []
    count = 0
    for rule in plan.rules:
        count += len(rule.alternatives)
        if count > limit:
            total = sum(len(r.alternatives) for r in plan.rules)
            return [_problem(_Where(rule, None), limits, "alternatives",
                             f"the rules have {total:,} alternatives in all (this rule takes them past the limit)")]
    return []


_CHECKS = (_facts_read, _facts_per_alternative, _tests_per_fact, _patterns_per_fact, _alternatives_per_pattern,
           _alternatives)
QUANTITIES = tuple(f.name for f in fields(Limits) if f.name not in ("engine", "effects"))
