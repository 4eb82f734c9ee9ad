"""The conflict and gap search of lint: questions over the boundary space, run through the real engine.

Questions (see space.py for how each is explored):
- every pair of rules that make two codes the KB declares exclusive (kb.yaml `exclusions`);
- the gap check (kb.yaml `gap_check`): every case of its population (in the shipped KB, an adult whose
  relief is inadequate) must get a next step, that is a code of one of its categories, or a code the KB
  declares exclusive of an escalation code (it replaces the escalation: urgent evaluation for withdrawal);
- for every rule that no case has fired yet: can it fire at all? (stops at the first case that fires it);
- each dose-planning rule alone and with each limiting rule, then every dose plan reached over every
  boundary value of the facts it reads (the daily dose, the doses per day).

Each case runs through one Advisor: Engine.evaluate for the firings, and advise_case when a dose plan or
a runtime invariant is involved, so that a SafetyError is found here rather than by a patient.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import Backend
from clonus.engine.decide.precedence import suppressed
from clonus.engine.errors import CaseError, EngineError, SafetyError
from clonus.engine.intake.case import Case, parse_case
from clonus.engine.knowledge.boundaries import contradiction
from clonus.engine.knowledge.conditions import Atom, Value, holds
from clonus.engine.knowledge.model import DOSE_PLAN_FACT_KEYS, Kb, Rule
from clonus.engine.knowledge.wording import value_text
from clonus.engine.workbench.space import Explorer, Outcome, Question


@dataclass(frozen=True)
class Hit:
    """Something the search found: a kind, the rule to blame, a message, a witness case and a count."""

    kind: str                  # conflict | gap | unsafe | never-fires
    rule: Rule | None
    message: str
    witness: Mapping[str, Any] | None
    count: int


@dataclass(frozen=True)
class SearchStats:
    facts: int          # dimensions of the space (a product fact and its parts count once)
    full_size: int      # cases in the full boundary space
    evaluated: int      # distinct cases run through the engine
    questions: int      # questions explored with cases
    proved: int         # pairs of rules shown never to fire together by their conditions alone
    seconds: float


def next_step_codes(kb: Kb) -> frozenset[str]:
    """The codes that count as a next step for the gap check."""
    escalation = {c for c, d in kb.codes.items() if d.category == kb.vocabulary.escalation_category}
    replacing = {b if a in escalation else a for a, b in kb.exclusions if a in escalation or b in escalation}
    return frozenset(c for c, d in kb.codes.items() if d.category in kb.gap_categories) | (replacing - escalation)


def gap_population(kb: Kb) -> tuple[Atom, ...] | None:
    """The gap check's population (kb.yaml `gap_check`), or None when the KB declares none."""
    return kb.gap_population or None


class _Runner:
    """Evaluates assignments of input facts with one Advisor (rebuilt only if the engine fails)."""

    def __init__(self, kb: Kb, include_draft: bool, engine: str | Backend | None):
        self.kb, self.include_draft, self.engine = kb, include_draft, engine
        self.advisor = Advisor(kb, include_draft, engine, cache=False)  # every case to the engine
        self.rules = {r.id: r for r in self.advisor.plan.rules}

    def close(self) -> None:
        self.advisor.close()

    def case(self, assignment: Mapping[str, Value]) -> Case:
        facts = {n: assignment[n] for n in self.kb.facts if assignment.get(n) is not None}
        for fact in self.kb.input_facts():
            if fact.name not in assignment and fact.default is not None:
                facts[fact.name] = fact.default
        absent = frozenset(f.name for f in self.kb.input_facts() if f.name not in facts)
        return Case({n: facts[n] for n in self.kb.facts if n in facts}, absent)

    def run(self, assignment: dict[str, Value]) -> Outcome:
        case = self.case(assignment)
        try:
            evaluation = self.advisor.evaluate(case)
        except EngineError as exc:
            self.advisor.close()
            self.advisor = Advisor(self.kb, self.include_draft, self.engine, cache=False)
            return Outcome((), frozenset(), {}, f"the engine failed: {exc}")
        fired = tuple(dict.fromkeys(f.rule for f in evaluation.firings))
        made = {rec.code for rid in fired for rec in self.rules[rid].recommends}
        codes = frozenset(made - set(suppressed(self.kb, made)))  # as the answer holds them
        categories = {self.kb.codes[c].category for c in codes}
        error = None
        planned = any(self.rules[rid].dose_plan for rid in fired)
        roles = {self.kb.vocabulary.scope_category, self.kb.vocabulary.escalation_category}
        if not _pairs(self.kb, codes) and (planned or roles <= categories):
            try:
                self.advisor.advise_case(case)
            except SafetyError as exc:
                error = str(exc)
        return Outcome(fired, codes, dict(evaluation.derived), error)


def _pairs(kb: Kb, codes: frozenset[str]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in kb.exclusions if a in codes and b in codes]


def search(kb: Kb, include_draft: bool = False, engine: str | Backend | None = None
           ) -> tuple[list[Hit], SearchStats]:
    """Run every question over one configuration of the KB (approved rules, or all with drafts)."""
    started = time.perf_counter()
    runner = _Runner(kb, include_draft, engine)
    try:
        explorer = Explorer(kb, runner.advisor.plan.rules, runner.run)
        questions, proved = _questions(kb, explorer)
        for question in questions:
            explorer.explore(question)
        asked = len(questions) + _reach_every_rule(explorer) + _reach_dose_plans(explorer)
        asked += _refine_dose_plans(explorer)
        hits = _hits(kb, explorer, runner)
    finally:
        runner.close()
    stats = SearchStats(len(explorer.dims), explorer.full_size, len(explorer.outcomes), asked, proved,
                        time.perf_counter() - started)
    return hits, stats


def _questions(kb: Kb, explorer: Explorer) -> tuple[list[Question], int]:
    """The questions to explore, and how many pairs of rules needed none (proved never together)."""
    def makers(code: str) -> list[str]:
        return [r.id for r in explorer.rules if any(rec.code == code for rec in r.recommends)]

    resolved = {frozenset((a, b)) for a, victims in kb.precedence.suppresses.items() for b in victims}
    pairs = [(a, b, r1, r2) for a, b in kb.exclusions for r1 in makers(a) for r2 in makers(b)
             if frozenset((a, b)) not in resolved]  # one suppresses the other: never together in an answer
    expand = _Expansion(kb, explorer.rules)
    questions = [Question(f"{a} with {b}", frozenset({r1, r2}), frozenset({a, b})) for a, b, r1, r2 in pairs
                 if not _never_together(kb, expand, explorer.by_id[r1], explorer.by_id[r2])]
    proved = len(pairs) - len(questions)
    population = gap_population(kb)
    if population is not None:
        codes = next_step_codes(kb)
        targets = frozenset(r for c in codes for r in makers(c))
        questions.append(Question("gap", targets, codes, population, settled_by_any=True))
    return questions, proved


def _never_together(kb: Kb, expand: _Expansion, one: Rule, other: Rule) -> bool:
    """The two rules' conditions, with every derived fact they need replaced by what its producers need,
    contradict each other in every pair of alternatives, so no case fires both (a proof, not a search:
    `age >= 18` behind adult_on_oral_baclofen against `age < 18`)."""
    if _asserts_against(one, other, expand.rules) or _asserts_against(other, one, expand.rules):
        return True
    if all(contradiction(kb, a + b) is not None for a in one.alternatives for b in other.alternatives):
        return True  # as written: `tizanidine_contraindicated` against `not tizanidine_contraindicated`
    mine, theirs = expand.rule(one), expand.rule(other)
    if mine is None or theirs is None:
        return False
    return all(contradiction(kb, a + b) is not None for a in mine for b in theirs)


def _asserts_against(asserting: Rule, reading: Rule, rules: tuple[Rule, ...] = ()) -> bool:
    """`asserting` (or a rule it cannot fire without) sets a derived fact to a value every alternative of
    `reading` needs it not to have: a derived fact holds one value for a case, so both never fire
    together (hold.intolerable asserts escalation_blocked; the increase needs it false)."""
    return any(all(any(a.fact == fact and holds(a, value, True) is not True for a in alt)
                   for alt in reading.alternatives)
               for fact, value in _implied(asserting, rules, 0))


def _implied(rule: Rule, rules: tuple[Rule, ...], depth: int) -> set[tuple[str, Value]]:
    """The derived values surely asserted whenever `rule` fires: its own, and for every alternative, those
    every producer of a derived fact the alternative needs asserts too."""
    out = set(rule.asserts)
    if depth > 4 or not rules:
        return out
    common: set[tuple[str, Value]] | None = None
    for alt in rule.alternatives:
        here: set[tuple[str, Value]] = set()
        for atom in alt:
            if atom.op == "==" and atom.value is False:
                continue
            producers = [p for p in rules if any(f == atom.fact and holds(atom, v, True) is True for f, v in p.asserts)]
            if producers:
                sets = [_implied(p, rules, depth + 1) for p in producers]
                here |= set.intersection(*sets)
        common = here if common is None else common & here
    return out | (common or set())


class _Expansion:
    """A rule's alternatives written in input facts only: a derived fact it needs (`adult_on_oral_baclofen`,
    `dose_band == below_max`) is replaced by the alternatives of the rules that assert that value; a
    derived fact it needs to be false is dropped (weaker, so a contradiction found is still one). None when
    the expansion grows past MAX (no proof then, the search decides)."""

    MAX = 256

    def __init__(self, kb: Kb, rules: tuple[Rule, ...]):
        self.kb, self.rules = kb, rules
        self.memo: dict[str, list[tuple[Atom, ...]] | None] = {}

    def rule(self, rule: Rule, depth: int = 0) -> list[tuple[Atom, ...]] | None:
        if rule.id in self.memo:
            return self.memo[rule.id]
        out: list[tuple[Atom, ...]] | None = []
        for alternative in rule.alternatives:
            expanded = self._alternative(alternative, depth)
            if expanded is None or out is None or len(out) + len(expanded) > self.MAX:
                out = None
                break
            out.extend(expanded)
        self.memo[rule.id] = out
        return out

    def _alternative(self, alternative: tuple[Atom, ...], depth: int) -> list[tuple[Atom, ...]] | None:
        result: list[tuple[Atom, ...]] = [()]
        for atom in alternative:
            fact = self.kb.facts[atom.fact]
            if fact.origin != "derived":
                result = [r + (atom,) for r in result]
                continue
            if atom.op == "==" and atom.value is False or depth > 8:
                continue  # needs the fact unasserted: dropped
            options: list[tuple[Atom, ...]] = []
            for producer in self.rules:
                if any(f == atom.fact and holds(atom, v, True) is True for f, v in producer.asserts):
                    sub = self.rule(producer, depth + 1)
                    if sub is None:
                        return None
                    options.extend(sub)
            result = [r + o for r in result for o in options]
            if len(result) > self.MAX:
                return None
        return result


def _reach_every_rule(explorer: Explorer) -> int:
    """Ask, for each rule no case has fired yet, whether any case fires it. The KB's own rule test cases
    are tried first: a rule one of them fires needs no search."""
    for test in explorer.kb.tests:
        if test.profile in (None, explorer.kb.profile.name):
            try:
                case = parse_case(explorer.kb, test.case)
            except CaseError:
                continue  # `clonus test` reports it
            explorer.evaluate(dict(case.facts))
    fired = {rid for _, o in explorer.outcomes.values() for rid in o.fired}
    asked = 0
    for rule in explorer.rules:
        if rule.id in fired:
            continue
        asked += 1
        explorer.explore(Question(f"reach {rule.id}", frozenset({rule.id}), frozenset(), until=_fires(rule.id)))
    return asked


def _fires(*rules: str, without: list[str] | tuple[str, ...] = ()) -> Callable[[Outcome], bool]:
    """A stop condition: every one of `rules` fired, and none of `without`."""
    def check(outcome: Outcome) -> bool:
        return set(rules) <= set(outcome.fired) and not set(without) & set(outcome.fired)
    return check


def _reach_dose_plans(explorer: Explorer) -> int:
    """Each dose-planning rule once without a limiting rule and once with each limiting rule, so that
    every distinct dose arithmetic is reached before its numbers are refined."""
    planners = [r.id for r in explorer.rules if r.dose_plan]
    limiters = [r.id for r in explorer.rules if r.dose_limits]
    for planner in planners:
        explorer.explore(Question(f"plan {planner}", frozenset({planner}), frozenset(),
                                  until=_fires(planner, without=limiters)))
        for limiter in limiters:
            explorer.explore(Question(f"plan {planner} limited by {limiter}", frozenset({planner, limiter}),
                                      frozenset(), until=_fires(planner, limiter)))
    return len(planners) * (1 + len(limiters))


def _refine_dose_plans(explorer: Explorer) -> int:
    """Every boundary value of the facts a dose plan reads, for each distinct set of dose-planning rules
    reached: the dose arithmetic depends on the very numbers, not only on which conditions hold."""
    planning = {r.id for r in explorer.rules if r.dose_plan or r.dose_limits}
    read = {r.dose_plan[key] for r in explorer.rules if r.dose_plan for key in DOSE_PLAN_FACT_KEYS}
    dims = [d for d in explorer.dims if set(d.facts) & read]
    seen: dict[frozenset, dict[str, Value]] = {}
    for assignment, outcome in list(explorer.outcomes.values()):
        key = frozenset(outcome.fired) & planning
        if any(explorer.by_id[rid].dose_plan for rid in key):
            seen.setdefault(key, assignment)
    for assignment in seen.values():
        for combo in itertools.product(*(d.points for d in dims)):
            explorer.evaluate({**assignment, **{f: v for point in combo for f, v in point}})
    return len(seen)


# -- from outcomes to hits ------------------------------------------------------------------------

def _hits(kb: Kb, explorer: Explorer, runner: _Runner) -> list[Hit]:
    population = gap_population(kb)
    next_steps = next_step_codes(kb)
    groups: dict[tuple, list[tuple[dict, Outcome, Callable[[Outcome], bool], Hit]]] = {}
    for assignment, outcome in explorer.outcomes.values():
        for a, b in _pairs(kb, outcome.codes):
            rule = _maker(explorer, outcome, b)
            hit = Hit("conflict", rule, f"{a} and {b} appear together (the safety section, invariants.yaml, "
                      f"declares them exclusive); made by {_maker(explorer, outcome, a).id} and {rule.id}", None, 0)
            groups.setdefault(("conflict", a, b), []).append((assignment, outcome, _made(a, b), hit))
        if outcome.error:
            shape = _shape(outcome.error)
            planner = next((explorer.by_id[r] for r in outcome.fired if explorer.by_id[r].dose_plan), None)
            hit = Hit("unsafe", planner, f"the runtime refuses the answer: {outcome.error}", None, 0)
            groups.setdefault(("unsafe", shape), []).append((assignment, outcome, _refused(shape), hit))
        elif population and _in(population, assignment) and not outcome.codes & next_steps:
            situation = tuple(sorted(outcome.derived.items()))
            shown = ", ".join(f"{k} = {value_text(v)}" for k, v in situation) or "no derived fact"
            hit = Hit("gap", None, f"an adult with inadequate relief gets no next step ({shown})", None, 0)
            groups.setdefault(("gap", situation), []).append(
                (assignment, outcome, _gap_like(situation, next_steps), hit))
    hits = []
    for members in groups.values():
        assignment, _, still, hit = members[0]
        witness = _simplest(explorer, assignment, still, population or () if hit.kind == "gap" else ())
        hits.append(Hit(hit.kind, hit.rule, hit.message, case_document(kb, witness), len(members)))
    fired = {rid for _, o in explorer.outcomes.values() for rid in o.fired}
    hits.extend(Hit("never-fires", r, "no case in the boundary space fires this rule", None, 0)
                for r in explorer.rules if r.id not in fired)
    return hits


def _shape(error: str) -> str:
    """An error message with its numbers blanked: one finding per kind of refusal, not per dose."""
    return re.sub(r"\d+(?:\.\d+)?", "N", error)


def _made(a: str, b: str) -> Callable[[Outcome], bool]:
    def check(outcome: Outcome) -> bool:
        return a in outcome.codes and b in outcome.codes
    return check


def _refused(shape: str) -> Callable[[Outcome], bool]:
    def check(outcome: Outcome) -> bool:
        return outcome.error is not None and _shape(outcome.error) == shape
    return check


def _gap_like(situation: tuple, next_steps: frozenset[str]) -> Callable[[Outcome], bool]:
    def check(outcome: Outcome) -> bool:
        return not outcome.error and not outcome.codes & next_steps and \
            tuple(sorted(outcome.derived.items())) == situation
    return check


def _maker(explorer: Explorer, outcome: Outcome, code: str) -> Rule:
    return next(explorer.by_id[rid] for rid in outcome.fired
                if any(rec.code == code for rec in explorer.by_id[rid].recommends))


def _in(population: tuple[Atom, ...], assignment: Mapping[str, Value]) -> bool:
    return all(holds(a, assignment.get(a.fact), assignment.get(a.fact) is not None) is True for a in population)


def _simplest(explorer: Explorer, assignment: dict, still: Callable[[Outcome], bool],
              population: tuple[Atom, ...]) -> dict:
    """A shorter witness: each fact made absent, or given its default or base value, while the finding holds."""
    best = dict(assignment)
    for dim in explorer.dims:
        for point in _plainer(explorer, dim):
            trial = {**best, **dict(point)}
            if trial == best or (population and not _in(population, trial)):
                continue
            if still(explorer.evaluate(trial)):
                best = trial
                break
    return best


def _plainer(explorer: Explorer, dim) -> list:
    kb = explorer.kb
    absent = [p for p in dim.points if all(v is None for _, v in p)]
    defaults = [p for p in dim.points
                if all(kb.facts[f].default is not None and v == kb.facts[f].default for f, v in p)]
    return absent + defaults


# -- witnesses as case files ----------------------------------------------------------------------

def case_document(kb: Kb, assignment: Mapping[str, Value]) -> dict[str, dict[str, Any]]:
    """The case file (patient / medication / response) for an assignment of input facts; facts at
    their default are left out, as a clinician would."""
    doc: dict[str, dict[str, Any]] = {}
    for name, fact in kb.facts.items():
        value = assignment.get(name)
        if fact.origin != "input" or not fact.case_field or value is None or value == fact.default:
            continue
        section, field = fact.case_field.split(".", 1)
        doc.setdefault(section, {})[field] = _written(kb, fact.parse, value)
    return doc


def _written(kb: Kb, parse: str | None, value: Value) -> Any:
    if parse == "mass":
        unit = next((u for u, f in kb.mass_units.items() if f == 1 and u == "mg"), None) or \
            next((u for u, f in kb.mass_units.items() if f == 1), "mg")
        return f"{value} {unit}"
    if parse == "frequency":
        notation = next((n for n, count in kb.frequencies.items() if count == value), None)
        return notation or (f"q{24 // int(value)}h" if isinstance(value, (int, float)) else value)
    if isinstance(value, tuple):
        return list(value)
    return value
