"""From a case to a Result: intake, the rule engine (a backend), dose plan, safety checks, ordering."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from clonus.engine.decide.backend import Backend, Evaluation, default_engine, load_backend, usable_engines
from clonus.engine.decide.cache import with_cache
from clonus.engine.decide.doseplan import DosePlan, make_dose_plan
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.decide.invariants import check_invariants
from clonus.engine.decide.limits import check_plan
from clonus.engine.decide.order import CanonicalEngine
from clonus.engine.decide.precedence import ranked, suppressed
from clonus.engine.decide.result import Answer, Recommendation, Result, TraceEntry
from clonus.engine.errors import EngineUnavailable, SafetyError
from clonus.engine.intake.case import Case, parse_case
from clonus.engine.knowledge.load import default_kb_dir
from clonus.engine.knowledge.load.invariants import safety_changes
from clonus.engine.knowledge.model import SEVERITIES, Kb
from clonus.engine.knowledge.wording import describe, fill_slots

SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


class Advisor:
    """A KB compiled into a live engine (a backend: `engine` names it, default the first that runs
    here), whose evaluations come in the canonical order (decide/order.py), so that the answer is the
    same on every engine. Use as a context manager, or call close().

    Safe to share between threads (the CDS Hooks service, the cohort runner): an engine evaluates one
    case at a time, so evaluations are serialised by a lock held only around the engine's evaluate();
    intake, the dose plan and the safety checks run outside it. Neither durable_rules nor CLIPS
    releases the GIL while it evaluates, so threads gain no speed: use processes to scale.
    """

    def __init__(self, kb: Kb, include_draft: bool = False, engine: str | Backend | None = None,
                 cache: bool = True, verify_cache: float = 0.0):
        self.kb = kb
        self.plan = make_evaluation_plan(kb, include_draft)
        self.backend = engine if engine is not None and not isinstance(engine, str) else \
            load_backend(engine or default_engine())
        unavailable = self.backend.available()
        if unavailable is not None:
            raise EngineUnavailable(self.backend.name, unavailable, usable_engines())
        check_plan(self.plan, self.backend.limits())  # KbError, located, before the engine sees the KB
        self.engine = CanonicalEngine(self.backend.compile(self.plan), self.plan)
        # answers go through the exact decision cache (decide/cache.py) where the static check proves the
        # plan cacheable; self.engine stays the engine itself
        self.decisions = with_cache(self.engine, self.plan, self.backend.name, cache, verify_cache)
        self.engine_name = {"name": self.backend.name, "version": self.backend.version()}
        self._code_order = {code: i for i, code in enumerate(kb.codes)}
        # what differs from the approved safety section shipped with clonus, said in every answer
        self.safety_changes = safety_changes(kb, default_kb_dir())
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.engine.close()

    def __enter__(self) -> Advisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advise(self, data: Mapping[str, Any]) -> Result:
        """Validate a case mapping (CaseError if unusable) and answer it."""
        return self.advise_case(parse_case(self.kb, data))

    def advise_case(self, case: Case) -> Result:
        """Answer a validated case; SafetyError if the answer breaks an invariant (never shown)."""
        return self._decide(case, self.evaluate(case))

    def answer(self, case: Case) -> Answer:
        """What the rules made of a case, also when the runtime refuses the answer (for explanations)."""
        evaluation = self.evaluate(case)
        try:
            result = self._decide(case, evaluation)
        except SafetyError as exc:
            trace = self._trace(evaluation)
            made = {c for entry in trace for c in entry.recommended}
            return Answer(tuple(c for c in self.kb.codes if c in made), trace, dict(evaluation.derived), str(exc))
        return Answer(result.codes(), result.trace, result.derived, None)

    def evaluate(self, case: Case) -> Evaluation:
        """The engine's evaluation of one case (its firings and derived facts), one thread at a time."""
        with self._lock:
            return self.decisions.evaluate(case.facts, case.absent)

    def _decide(self, case: Case, evaluation: Evaluation) -> Result:
        unfilled, trace, suppressed_codes = self._recommendations(evaluation)
        plan = self._dose_plan(evaluation, case, {r.code for r in unfilled})
        recommendations = tuple(self._fill_text(r, plan) for r in unfilled)
        missing = self._missing(evaluation)
        result = Result(
            recommendations=recommendations, dose_plan=plan, missing=missing, facts=dict(case.facts),
            derived=dict(sorted(evaluation.derived.items())), trace=trace, kb_name=self.kb.name,
            kb_version=self.kb.version, kb_digest=self.kb.digest, include_draft=self.plan.include_draft,
            draft_rules_fired=tuple(dict.fromkeys(
                f.rule for f in evaluation.firings if self.kb.rule(f.rule).status != "approved")),
            cited_sources=self._cited(recommendations), engine=self.engine_name, profile=self.kb.profile.name,
            safety_changes=self.safety_changes, suppressed=suppressed_codes,
        )
        check_invariants(self.kb, result)
        return result

    def _recommendations(self, evaluation: Evaluation
                         ) -> tuple[list[Recommendation], tuple[TraceEntry, ...], tuple[tuple[str, str], ...]]:
        """The recommendations the firings made, merged per code, suppressed and ranked by the KB's
        precedence; the trace; and (code, suppressed by) for each code taken out."""
        merged: dict[str, dict[str, Any]] = {}
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
                entry = merged.setdefault(rec.code, {"rules": [], "sources": [], "because": [], "params": {},
                                                     "severity": self.kb.codes[rec.code].severity})
                entry["rules"].append(rule.id)
                entry["sources"].extend(rule.sources)
                entry["because"].extend(because)
                entry["params"].update(rec.params)
                if rec.severity and SEVERITY_RANK[rec.severity] > SEVERITY_RANK[entry["severity"]]:
                    entry["severity"] = rec.severity
        trace = self._trace(evaluation)
        gone = suppressed(self.kb, merged)
        kept = ranked(self.kb, (c for c in merged if c not in gone), {c: e["severity"] for c, e in merged.items()})
        recs = []
        for code in kept:
            entry, definition = merged[code], self.kb.codes[code]
            recs.append(Recommendation(
                code=code, category=definition.category, severity=entry["severity"], title=definition.title,
                text=fill_slots(definition.text, entry["params"]), rule=entry["rules"][0],
                rules=tuple(dict.fromkeys(entry["rules"])), sources=tuple(dict.fromkeys(entry["sources"])),
                because=tuple(dict.fromkeys(entry["because"])),
            ))
        dropped = tuple(sorted(gone.items(), key=lambda item: self._code_order[item[0]]))
        return recs, trace, dropped

    def _trace(self, evaluation: Evaluation) -> tuple[TraceEntry, ...]:
        return tuple(TraceEntry(f.rule, f.alternative, f.matched, f.asserted,
                                tuple(r.code for r in self.kb.rule(f.rule).recommends)) for f in evaluation.firings)

    def _dose_plan(self, evaluation: Evaluation, case: Case, codes: set[str]) -> DosePlan | None:
        fired = [self.kb.rule(f.rule) for f in evaluation.firings]
        planners = [(r, r.dose_plan) for r in fired if r.dose_plan]
        if not planners:
            return None
        rule, spec = planners[0]
        limiting = [(r.id, r.dose_limits) for r in fired if r.dose_limits]  # every precaution that fired
        limits = list(dict.fromkeys((rid, tuple(sorted(lim.items()))) for rid, lim in limiting))
        daily = case.facts.get(str(spec["daily_dose_fact"]))  # fact names: the loader checked both
        per_day = case.facts.get(str(spec["doses_per_day_fact"]))
        if daily is None or per_day is None:
            raise SafetyError(f"rule {rule.id} made a dose plan without a known daily dose and frequency")
        return make_dose_plan(daily, per_day, spec, [(rid, dict(lim)) for rid, lim in limits], rule.id)

    def _fill_text(self, rec: Recommendation, plan: DosePlan | None) -> Recommendation:
        """The dose plan's numbers in a text (the limited plan's, never the generic range)."""
        if plan is None or "{" not in rec.text:
            return rec
        return Recommendation(rec.code, rec.category, rec.severity, rec.title, fill_slots(rec.text, plan.slots()),
                              rec.rule, rec.rules, rec.sources, rec.because)

    def _cited(self, recommendations) -> dict[str, dict[str, Any]]:
        cited = sorted(dict.fromkeys(s for r in recommendations for s in r.sources))
        return {sid: {"title": src.title, "publisher": src.publisher, "year": src.year, "url": src.url,
                      "grade": src.grade} for sid in cited for src in (self.kb.sources[sid],)}

    def _missing(self, evaluation: Evaluation) -> tuple[str, ...]:
        """Case fields behind every `missing` condition that made a recommending rule fire (a request for
        the fact), in facts-dictionary order; a rule that only derives a fact (renal function unknown)
        asks for nothing."""
        names = set()
        for firing in evaluation.firings:
            if not self.kb.rule(firing.rule).recommends:
                continue
            for atom in self.kb.rule(firing.rule).alternatives[firing.alternative]:
                if atom.op == "missing":
                    names.add(atom.fact)
        return tuple(_field_name(self.kb, name) for name in self.kb.facts if name in names)


def _field_name(kb: Kb, fact: str) -> str:
    field = kb.facts[fact].case_field
    return field.rsplit(".", 1)[-1] if field else fact
