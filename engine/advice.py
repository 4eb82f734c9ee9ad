"""From a case to a Result: intake, the durable_rules engine, dose plan, safety checks, ordering."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .compiler import compile_plan
from .doseplan import DosePlan, make_dose_plan
from .errors import SafetyError
from .explain import describe, number_text
from .intake import Case, parse_case
from .loader import SLOT_RE, load_kb
from .model import Kb
from .plan import make_plan
from .result import Recommendation, Result, TraceEntry
from .runtime import Engine, Evaluation


class Advisor:
    """A KB compiled into a live engine. Use as a context manager, or call close()."""

    def __init__(self, kb: Kb, include_draft: bool = False):
        self.kb = kb
        self.plan = make_plan(kb, include_draft)
        self.engine = Engine(compile_plan(self.plan))
        self._code_order = {code: i for i, code in enumerate(kb.codes)}

    @classmethod
    def from_dir(cls, root: Path | str | None = None, include_draft: bool = False) -> Advisor:
        return cls(load_kb(root), include_draft)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Advisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advise(self, data: Mapping[str, Any]) -> Result:
        """Validate a case mapping (CaseError if unusable) and answer it."""
        return self.advise_case(parse_case(self.kb, data))

    def advise_case(self, case: Case) -> Result:
        evaluation = self.engine.evaluate(case.facts, case.absent)
        unfilled, trace = self._recommendations(evaluation)
        plan = self._dose_plan(evaluation, case, {r.code for r in unfilled})
        recommendations = tuple(self._fill_text(r, plan) for r in unfilled)
        missing = self._missing(evaluation)
        result = Result(
            recommendations=recommendations, dose_plan=plan, missing=missing, facts=dict(case.facts),
            derived=dict(sorted(evaluation.derived.items())), trace=trace, kb_name=self.kb.name,
            kb_version=self.kb.version, kb_digest=self.kb.digest, include_draft=self.plan.include_draft,
            draft_rules_fired=tuple(dict.fromkeys(
                f.rule for f in evaluation.firings if self.kb.rule(f.rule).status != "approved")),
            cited_sources=self._cited(recommendations),
        )
        check_invariants(self.kb, result)
        return result

    def _recommendations(self, evaluation: Evaluation) -> tuple[list[Recommendation], tuple[TraceEntry, ...]]:
        merged: dict[str, dict[str, Any]] = {}
        trace = []
        premises: dict[str, list[str]] = {}  # derived fact -> the reasons it was asserted
        for firing in evaluation.firings:
            rule = self.kb.rule(firing.rule)
            values = dict(firing.matched)
            because: list[str] = []
            for atom in rule.alternatives[firing.alternative]:
                if atom.fact in premises and atom.op == "==" and atom.value is not False:
                    because.extend(premises[atom.fact])  # explain a derived fact by what produced it
                else:
                    because.append(describe(self.kb, atom, values.get(atom.fact)))
            because = list(dict.fromkeys(because))
            for fact, _ in firing.asserted:
                premises[fact] = because
            for rec in rule.recommends:
                entry = merged.setdefault(rec.code, {"rules": [], "sources": [], "because": [], "params": {}})
                entry["rules"].append(rule.id)
                entry["sources"].extend(rule.sources)
                entry["because"].extend(because)
                entry["params"].update(rec.params)
            trace.append(TraceEntry(firing.rule, firing.alternative, firing.matched, firing.asserted,
                                    tuple(r.code for r in rule.recommends)))
        ordered = sorted(merged, key=lambda code: self._code_order[code])
        recs = []
        for code in ordered:
            entry, definition = merged[code], self.kb.codes[code]
            recs.append(Recommendation(
                code=code, category=definition.category, severity=definition.severity, title=definition.title,
                text=_fill(definition.text, entry["params"]), rule=entry["rules"][0],
                rules=tuple(dict.fromkeys(entry["rules"])), sources=tuple(dict.fromkeys(entry["sources"])),
                because=tuple(dict.fromkeys(entry["because"])),
            ))
        return recs, tuple(trace)

    def _dose_plan(self, evaluation: Evaluation, case: Case, codes: set[str]) -> DosePlan | None:
        fired = [self.kb.rule(f.rule) for f in evaluation.firings]
        planners = [(r, r.dose_plan) for r in fired if r.dose_plan]
        if not planners:
            return None
        rule, spec = planners[0]
        limiting = [(r.id, r.dose_limits) for r in fired if r.dose_limits]
        limits = list(dict.fromkeys((rid, tuple(sorted(lim.items()))) for rid, lim in limiting))
        daily = case.facts.get(str(spec["daily_dose_fact"]))  # fact names: the loader checked both
        per_day = case.facts.get(str(spec["doses_per_day_fact"]))
        if daily is None or per_day is None:
            raise SafetyError(f"rule {rule.id} made a dose plan without a known daily dose and frequency")
        return make_dose_plan(daily, per_day, spec, [(rid, dict(lim)) for rid, lim in limits], rule.id)

    def _fill_text(self, rec: Recommendation, plan: DosePlan | None) -> Recommendation:
        if plan is None or "{" not in rec.text:
            return rec
        slots = {"current_daily_mg": plan.current_daily_mg, "next_min_mg": plan.next_min_mg,
                 "next_max_mg": plan.next_max_mg, "next_range_mg": plan.next_range,
                 "ceiling_daily_mg": plan.ceiling_daily_mg,
                 "regimen": plan.regimen}
        return Recommendation(rec.code, rec.category, rec.severity, rec.title, _fill(rec.text, slots),
                              rec.rule, rec.rules, rec.sources, rec.because)

    def _cited(self, recommendations) -> dict[str, dict[str, Any]]:
        cited = sorted(dict.fromkeys(s for r in recommendations for s in r.sources))
        return {sid: {"title": src.title, "publisher": src.publisher, "year": src.year, "url": src.url,
                      "grade": src.grade} for sid in cited for src in (self.kb.sources[sid],)}

    def _missing(self, evaluation: Evaluation) -> tuple[str, ...]:
        """Case fields behind every `missing` condition that made a rule fire, in facts-dictionary order."""
        names = set()
        for firing in evaluation.firings:
            for atom in self.kb.rule(firing.rule).alternatives[firing.alternative]:
                if atom.op == "missing":
                    names.add(atom.fact)
        return tuple(_field_name(self.kb, name) for name in self.kb.facts if name in names)


def _field_name(kb: Kb, fact: str) -> str:
    field = kb.facts[fact].case_field
    return field.rsplit(".", 1)[-1] if field else fact


def _fill(text: str, slots: Mapping[str, Any]) -> str:
    """Replace {slot} with its value; slots with no value stay for the dose-plan pass."""
    return SLOT_RE.sub(lambda m: number_text(slots[m[1]]) if m[1] in slots else m[0], text)



def check_invariants(kb: Kb, result: Result) -> None:
    """Safety invariants checked on every answer; breaking one is a SafetyError, never advice."""
    codes = set(result.codes())
    for a, b in kb.exclusions:
        if a in codes and b in codes:
            raise SafetyError(f"the answer would contain both {a} and {b}, which the KB declares exclusive")
    escalation = {r.code for r in result.recommendations if r.category == "escalation"}
    scope_block = {r.code for r in result.recommendations if r.category == "scope"}
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
