"""A batch row's answer (codes, dose plan) from its cell, without assembling the whole Result again.

The codes of an answer, their categories and the rules behind them follow from the firings alone, so
from the cell (decide/cache.py). The first case of a cell is answered in full by the Advisor; its Result
is the cell's template. Every other case of the cell gets the template's codes, its own dose plan (the
Advisor's own arithmetic, on the case's dose and frequency; remembered per dose and frequency) and the
safety invariants checked on the template with the case's own facts and plan, so that a row answered
here says exactly what `clonus advise` would: `verify` re-answers that share of them in full and records
any difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import Evaluation
from clonus.engine.decide.cache import CachedEngine, Key
from clonus.engine.decide.invariants import check_answer
from clonus.engine.decide.result import Result
from clonus.engine.intake.case import Case, parse_case

Brief = tuple[tuple[str, ...], dict | None]  # a row's codes and dose plan JSON
MAX_PLANS = 65_536      # dose plans remembered by (cell, daily dose, doses a day)
MAX_TEMPLATES = 5_000   # cells whose whole answer is kept (a Result is some kilobytes): past it, a case of a
                        # new cell is answered by the Advisor through the cache, exact and slower


@dataclass(frozen=True)
class _Template:
    result: Result
    evaluation: Evaluation
    codes: tuple[str, ...]
    code_set: frozenset[str]
    plan_facts: tuple[str, str] | None  # the facts the dose plan reads, when the cell plans a dose


class CellAnswers:
    """Codes and dose plan per case, through the Advisor's cache; exact (see the module docstring)."""

    def __init__(self, advisor: Advisor, verify: float = 0.0):
        self.advisor = advisor
        self.kb = advisor.kb
        self.memo: dict = {}
        self.cache = advisor.decisions if isinstance(advisor.decisions, CachedEngine) else None
        self.templates: dict[Key, _Template] = {}
        self.plans: dict[tuple, Any] = {}
        self.verify = verify
        self._debt = 0.0

    def answer(self, data: Mapping[str, Any]) -> Brief:
        """(codes, dose plan JSON) for one case mapping; CaseError, SafetyError as advise() raises them."""
        return self.answer_case(parse_case(self.kb, data, self.memo))

    def answer_case(self, case: Case) -> Brief:
        """(codes, dose plan JSON) for a validated case (a FHIR row's, say); SafetyError as advise_case()."""
        if self.cache is None:
            return _brief(self.advisor.advise_case(case))
        key = self.cache.keys.key(case.facts, case.absent)
        template = self.templates.get(key)
        if template is None:
            taught = key in self.cache.cells  # evaluated by another worker: a hit, checked like one
            result = self.advisor.advise_case(case)
            self._learn(key, case, result)
            brief = _brief(result)
        else:
            self.cache.stats.hits += 1
            taught, brief = True, self._from_template(key, template, case)
        if taught and self.verify > 0 and self._due():
            return self._verified(case, brief)
        return brief

    def _verified(self, case: Case, brief: Brief) -> Brief:
        """The engine itself, then the Advisor's full assembly; a difference is recorded, the engine's used."""
        assert self.cache is not None  # only hits are verified
        full = _brief(self.advisor._decide(case, self.advisor.engine.evaluate(case.facts, case.absent)))
        self.cache.stats.verified += 1
        if full != brief:
            self.cache.stats.mismatches.append(
                f"cache mismatch: the engine answers {full}, the cache {brief} for facts {dict(case.facts)}")
            return full
        return brief

    def _learn(self, key: Key, case: Case, result: Result) -> None:
        if self.cache is None or len(self.templates) >= MAX_TEMPLATES:
            return
        evaluation = self.cache.evaluate(case.facts, case.absent)
        self.cache.stats.hits -= 1  # that lookup was this module's, not the case's
        planners = [spec for f in evaluation.firings if (spec := self.kb.rule(f.rule).dose_plan)]
        plan_facts = (str(planners[0]["daily_dose_fact"]), str(planners[0]["doses_per_day_fact"])) if planners \
            else None
        codes = result.codes()
        self.templates[key] = _Template(result, evaluation, codes, frozenset(codes), plan_facts)

    def _from_template(self, key: Key, template: _Template, case: Case) -> tuple[tuple[str, ...], dict | None]:
        plan, plan_json = None, None
        if template.plan_facts is not None:
            daily, per_day = (case.facts.get(name) for name in template.plan_facts)
            memo_key = (key, daily, type(daily), per_day, type(per_day))
            remembered = self.plans.get(memo_key)
            if remembered is None:
                plan = self.advisor._dose_plan(template.evaluation, case, set(template.codes))
                remembered = (plan, plan.to_json() if plan else None)
                if len(self.plans) < MAX_PLANS:
                    self.plans[memo_key] = remembered
            plan, plan_json = remembered
        check_answer(self.kb, template.result, plan, case.facts, template.code_set)
        return template.codes, plan_json

    def _due(self) -> bool:
        self._debt += self.verify
        if self._debt >= 1.0:
            self._debt -= 1.0
            return True
        return False


def _brief(result: Result) -> tuple[tuple[str, ...], dict | None]:
    return result.codes(), result.dose_plan.to_json() if result.dose_plan else None
