"""Safety invariants checked on every answer, apart from the rules; breaking one is a SafetyError, never
advice. Their parameters are the KB's safety section (kb/invariants.yaml, bound to the profile), so that
an edit to the rules alone cannot switch one off, and an edit to the section itself is said in every
answer (Result.safety_changes).

1. Codes the section declares exclusive never appear together.
2. No dosing advice (an escalation code or a dose plan) with a scope code, below the adult age or
   without an age.
3. A dose plan is for the case's own drug, comes with its recommendation, stays under the drug's label
   maximum and under every limit a precaution that fired set, and raises the dose.
4. The warnings the section requires are there whenever their conditions hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.decide.result import Result
from clonus.engine.errors import SafetyError
from clonus.engine.knowledge.conditions import holds
from clonus.engine.knowledge.model import Kb


def check_invariants(kb: Kb, result: Result) -> None:
    check_answer(kb, result, result.dose_plan, result.facts)


def check_answer(kb: Kb, answer: Result, plan: DosePlan | None, facts: Mapping[str, Any],
                 codes: AbstractSet[str] | None = None) -> None:
    """The invariants on `answer`'s recommendations and trace with this dose plan and these facts (a
    cohort row answered from its cell's answer: decide/cache.py, cohort/answers.py)."""
    codes = set(answer.codes()) if codes is None else codes
    section = kb.invariants
    for a, b in section.exclusions:
        if a in codes and b in codes:
            raise SafetyError(f"the answer would contain both {a} and {b}, which the KB declares exclusive")
    escalation = {r.code for r in answer.recommendations if r.category == kb.vocabulary.escalation_category}
    scope_block = {r.code for r in answer.recommendations if r.category == kb.vocabulary.scope_category}
    dosing = bool(escalation or plan)
    if scope_block and dosing:
        raise SafetyError(f"dosing advice given together with {sorted(scope_block)}")
    age = facts.get(section.adult_fact)
    if dosing and (age is None or age < section.adult_age):
        raise SafetyError(f"dosing advice for {section.adult_fact} {age if age is not None else 'missing'}, "
                          f"under the adult age {section.adult_age}")
    _required(kb, facts, codes)
    if plan is not None:
        _dose_plan(kb, answer, plan, facts)


def _required(kb: Kb, facts: Mapping[str, Any], codes: AbstractSet[str]) -> None:
    for required in kb.invariants.required:
        applies = all(holds(a, facts.get(a.fact), a.fact in facts) is True for a in required.when)
        lacking = [c for c in required.codes if c not in codes]
        if applies and lacking:
            raise SafetyError(f"the answer lacks {', '.join(lacking)}, which the safety section requires when "
                              f"{' and '.join(str(a) for a in required.when)}")


def _dose_plan(kb: Kb, answer: Result, plan: DosePlan, facts: Mapping[str, Any]) -> None:
    if not any(plan.rule in r.rules for r in answer.recommendations):
        raise SafetyError(f"a dose plan from {plan.rule} without its recommendation")
    drug = facts.get(kb.invariants.drug_fact)
    if plan.drug != drug:
        raise SafetyError(f"a dose plan for {plan.drug} in a case on {drug}")
    limit = kb.invariants.max_daily_mg.get(plan.drug)
    if limit is None:
        raise SafetyError(f"the safety section declares no maximum for {plan.drug}; refusing to propose a dose")
    if (plan.ceiling_daily_mg > limit or plan.next_max_mg > plan.ceiling_daily_mg
            or plan.regimen_daily_mg > plan.next_max_mg):
        raise SafetyError(f"dose plan above the ceiling ({plan.next_max_mg} mg/day, limit {limit})")
    if not (plan.current_daily_mg < plan.next_min_mg and plan.current_daily_mg < plan.regimen_daily_mg):
        raise SafetyError("dose plan does not increase the dose")
    _limits_honoured(kb, answer, plan)


def _limits_honoured(kb: Kb, answer: Result, plan: DosePlan) -> None:
    """Every limit a precaution that fired set holds for the plan: checked again here, apart from the
    arithmetic that applied them."""
    for entry in answer.trace:
        for key, value in kb.rule(entry.rule).dose_limits.items():
            bound = Decimal(str(value))
            broken = {
                "ceiling_daily_mg": Decimal(str(plan.next_max_mg)) > bound,
                "step_max_mg": Decimal(str(plan.next_max_mg)) - Decimal(str(plan.current_daily_mg)) > bound,
                "max_single_dose_mg": any(Decimal(str(d)) > bound for d in plan.regimen_doses_mg),
                "min_interval_h": Decimal(str(plan.interval_min_h)) < bound,
            }[key]
            if broken:
                raise SafetyError(f"the dose plan breaks {entry.rule}'s limit {key} {value}")
