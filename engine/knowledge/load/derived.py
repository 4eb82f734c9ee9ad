"""Derived facts hold one value: two rules that assert different values of one derived fact must never
fire for the same case. Checked at load, on the conditions alone (boundaries.contradiction), so that a
KB where both could fire is a located problem instead of an engine error on the first such case.
"""

from __future__ import annotations

from clonus.engine.errors import Problem, shown
from clonus.engine.knowledge.boundaries import contradiction
from clonus.engine.knowledge.conditions import Value, format_value
from clonus.engine.knowledge.model import Kb, Rule

MAX_PAIRS = 20_000  # rule pairs compared for one fact; past that the KB is refused rather than searched


def conflicting_values(kb: Kb) -> list[Problem]:
    """A problem at the later rule of every pair that asserts different values of one derived fact and
    whose conditions can hold together (every rule, whatever its status: --include-draft runs them all)."""
    makers: dict[str, list[tuple[Rule, Value]]] = {}
    for rule in kb.rules:
        for fact, value in rule.asserts:
            makers.setdefault(fact, []).append((rule, value))
    problems = []
    for fact, asserted in makers.items():
        pairs = [(a, b) for i, a in enumerate(asserted) for b in asserted[i + 1:] if a[1] != b[1]]
        if len(pairs) > MAX_PAIRS:
            rule = asserted[-1][0]
            problems.append(Problem(rule.file, rule.line, rule.id, "then.assert",
                                    f"{len(asserted):,} rules assert different values of {shown(fact)}; "
                                    "split the fact"))
            continue
        for (first, a), (second, b) in pairs:
            if _can_fire_together(kb, first, second):
                problems.append(Problem(
                    second.file, second.line, second.id, "then.assert",
                    f"asserts {fact} = {format_value(b)}, but {first.id} ({first.file}:{first.line}) asserts "
                    f"{fact} = {format_value(a)} and both can fire for one case; a derived fact holds one "
                    "value: make their conditions exclude each other"))
    return problems


def _can_fire_together(kb: Kb, first: Rule, second: Rule) -> bool:
    return any(contradiction(kb, x + y) is None for x in first.alternatives for y in second.alternatives)
