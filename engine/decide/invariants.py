"""Safety invariants checked on every answer, apart from the rules; breaking one is a SafetyError."""

from __future__ import annotations

from clonus.engine.decide.result import Result
from clonus.engine.errors import SafetyError
from clonus.engine.knowledge.model import Kb


def check_invariants(kb: Kb, result: Result) -> None:
    """Safety invariants checked on every answer; breaking one is a SafetyError, never advice."""
    codes = set(result.codes())
    for a, b in kb.exclusions:
        if a in codes and b in codes:
            raise SafetyError(f"the answer would contain both {a} and {b}, which the KB declares exclusive")
    escalation = {r.code for r in result.recommendations if r.category == kb.vocabulary.escalation_category}
    scope_block = {r.code for r in result.recommendations if r.category == kb.vocabulary.scope_category}
    if scope_block and (escalation or result.dose_plan):
        raise SafetyError(f"dosing advice given together with {sorted(scope_block)}")
    plan = result.dose_plan
    if plan is None:
        return
    if not any(plan.rule in r.rules for r in result.recommendations):
        raise SafetyError(f"a dose plan from {plan.rule} without its recommendation")
    limit = kb.safety_limits.get(plan.drug)
    if limit is None:
        raise SafetyError(f"no safety limit is declared for {plan.drug}; refusing to propose a dose")
    if (plan.ceiling_daily_mg > limit or plan.next_max_mg > plan.ceiling_daily_mg
            or plan.regimen_daily_mg > plan.next_max_mg):
        raise SafetyError(f"dose plan above the ceiling ({plan.next_max_mg} mg/day, limit {limit})")
    if not (plan.current_daily_mg < plan.next_min_mg and plan.current_daily_mg < plan.regimen_daily_mg):
        raise SafetyError("dose plan does not increase the dose")
