"""Valid cases at, just below and just above every threshold of the KB, and an exact judge of the answers.

The values come from the KB itself (knowledge/boundaries: its dimensions and the thresholds its
conditions compare with), refined with steps of 1 down to 1e-12 on each side of each threshold, so that
17.9999, 17.999999999999 and 18 are all tried against `age >= 18`, and 29.9996 against `egfr < 30`; a
daily dose (dose x doses per day) is brought as close to its thresholds as a dose of at most 15
significant digits can bring it, for every frequency a notation writes.

Medications are names kb/medications.yaml knows: a drug value no condition names is a known medication
no condition names (a strict fact refuses unknown text), and the classes of the other medications
(`classes_of`) are not a dimension of their own but follow from the medications drawn, one of each class
the conditions test added to the words the conditions name.

A case is judged two ways (`judge`): the README's safety promises (in their own numbers, per profile,
and the KB's safety section's exclusions and required codes), and an exact reference evaluation of the
KB's rules (bound to the Advisor's profile: its parameters are in the conditions) in plain Python on the
decimals as written (no float, no engine): every rule the engine fired must be a rule whose conditions
hold on the exact values, and every such rule must have fired. Precedence only takes recommendations out
of the answer, never firings out of the trace, so the trace is compared whole. Used by
tests/test_properties.py (hypothesis and a bounded run, on every engine and profile) and
benchmarks/boundary_run.py (100,000).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from clonus.engine.decide.evaluation import EvaluationPlan, make_evaluation_plan
from clonus.engine.errors import ClonusError
from clonus.engine.intake.case import parse_case
from clonus.engine.knowledge.boundaries import Dimension, atoms_by_fact, dimensions, thresholds, usable_per_day
from clonus.engine.knowledge.conditions import Atom, holds
from clonus.engine.knowledge.model import FactDef, Kb
from clonus.engine.knowledge.numbers import exactness_problem

# The README's safety paragraph, in its own numbers: what the answers are held to, whatever the KB says
# (the label maximum of oral baclofen per profile: US labels 80 mg/day, BNF/SmPC 100 mg/day).
ADULT_AGE = 18
LABEL_MAX_MG = {"us": 80, "uk": 100}
BACLOFEN = "baclofen"
ABRUPT_STOP_WARNING = "warn_no_abrupt_discontinuation"
DECISION_FIELDS = ("age", "drug", "dose", "frequency", "relief")
STEPS = tuple(Decimal(s) for s in ("1", "0.1", "0.01", "0.001", "0.0001", "0.000001", "1e-9", "1e-12"))

Point = dict[str, Any]  # input fact -> exact value (Decimal for numbers); None: the case leaves it out


@dataclass(frozen=True)
class Generated:
    """A case as a case file gives it (Decimal numbers, text as written) and its exact input facts."""

    data: dict
    exact: dict


def _exact(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (str, Decimal)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, tuple):
        return tuple(_exact(v) for v in value)
    return value


def _in_range(fact: FactDef, value: Decimal) -> bool:
    low = fact.minimum is None or (value > _exact(fact.minimum) if fact.exclusive_minimum
                                   else value >= _exact(fact.minimum))
    return low and (fact.maximum is None or value <= _exact(fact.maximum))


def _usable_number(fact: FactDef, value: Decimal) -> bool:
    return _in_range(fact, value) and exactness_problem(value) is None


class BoundaryCases:
    """Every dimension of the KB's fact space with its boundary points, refined around each threshold."""

    def __init__(self, kb: Kb):
        self.kb = kb
        self.atoms = atoms_by_fact(kb.rules)
        self.dims: tuple[Dimension, ...] = self._with_classes(dimensions(kb, self.atoms))
        self.options: list[list[Point]] = [self._options(dim) for dim in self.dims]
        self.spellings: dict[int, list[str]] = {}
        for spelling, per_day in sorted(kb.frequencies.items()):
            self.spellings.setdefault(per_day, []).append(spelling)
        self.bases = [self._base(test.case) for test in kb.tests]

    def _with_classes(self, dims: tuple[Dimension, ...]) -> tuple[Dimension, ...]:
        """The dimensions with each `classes_of` fact folded into the medications it is the classes of:
        the medication words the conditions name, with one medication of each class they test added."""
        kb, out = self.kb, list(dims)
        for dim in dims:
            fact = kb.facts[dim.name]
            if not fact.classes_of:
                continue
            out.remove(dim)
            source = fact.classes_of
            by_class = {}
            for point in dim.points:
                for wanted in dict(point)[dim.name] or ():
                    by_class.setdefault(wanted, next(m for m, d in kb.medications.items() if wanted in d.classes))
            given = next((d for d in out if d.name == source), None)
            words = [dict(p)[source] or () for p in given.points] if given else [()]
            classes = [tuple(by_class[c] for c in dict(p)[dim.name] or ()) for p in dim.points]
            points = tuple(dict.fromkeys(((source, tuple(dict.fromkeys(w + c))),) for w in words for c in classes))
            if given is not None:
                out[out.index(given)] = Dimension(source, (source,), points)
            else:
                out.append(Dimension(source, (source,), points))
        return tuple(sorted(out, key=lambda d: list(kb.facts).index(d.name)))

    def _base(self, case: Mapping) -> list[Point]:
        """A rule test's case as one point per dimension: a context in which to move a few facts."""
        facts = parse_case(self.kb, case).facts
        return [{f: _exact(facts.get(f)) for f in dim.facts} for dim in self.dims]

    def size(self) -> int:
        """How many distinct value combinations the options span."""
        total = 1
        for options in self.options:
            total *= len(options)
        return total

    def _options(self, dim: Dimension) -> list[Point]:
        points = [{f: self._known(f, _exact(v)) for f, v in point} for point in dim.points]
        facts = [self.kb.facts[f] for f in dim.facts]
        if len(facts) == 1 and facts[0].type == "number" and not facts[0].parse:
            points += [{facts[0].name: v} for v in self._near(facts[0])]
        elif facts[0].product_of:
            points += self._near_product(facts[0])
        unique: dict[str, Point] = {}
        for point in points:
            unique.setdefault(json.dumps(point, default=str, sort_keys=True), point)
        return list(unique.values())

    def _known(self, name: str, value: Any) -> Any:
        """A medication text the vocabulary does not know (the boundaries' 'a value no condition names')
        as a known medication no condition names: a strict fact refuses unknown text."""
        fact = self.kb.facts[name]
        if fact.vocabulary != "medications" or fact.type != "text" or value is None or value in self.kb.medications:
            return value
        named = {a.value for a in self.atoms.get(name, ()) if isinstance(a.value, str)}
        named |= {v for a in self.atoms.get(name, ()) if isinstance(a.value, tuple) for v in a.value}
        return next(m for m in self.kb.medications if m not in named)

    def _near(self, fact: FactDef) -> list[Decimal]:
        """Each threshold of a number fact, and one step below and above it for each step size."""
        values = []
        for t in thresholds(self.atoms.get(fact.name, ())):
            for step in STEPS:
                for k in (-1, 0, 1):
                    value = _exact(t) + k * step
                    if _usable_number(fact, value):
                        values.append(value)
        return values

    def _near_product(self, product: FactDef) -> list[Point]:
        """(product, parts) with the free part (the dose) chosen so that the product lands on, just under
        and just over each of its thresholds, for every doses-per-day a frequency can write."""
        parts = [self.kb.facts[p] for p in product.product_of]
        counted = next((p for p in parts if p.parse == "frequency"), None)
        free = next((p for p in parts if p.parse != "frequency"), None)
        if counted is None or free is None or len(parts) != 2:
            return []
        points = []
        for t in thresholds(self.atoms.get(product.name, ())):
            for per_day in usable_per_day(self.kb, counted):
                for step in STEPS:
                    base = (_exact(t) / per_day).quantize(step)
                    for k in (-1, 0, 1):
                        dose = base + k * step
                        total = dose * per_day
                        if _usable_number(free, dose) and _usable_number(product, total):
                            points.append({product.name: total, free.name: dose, counted.name: Decimal(per_day)})
        return points

    def draw(self, rng: random.Random) -> Generated:
        """Half the time every dimension at one of its points; else a rule test's case with one to three
        dimensions moved to one of theirs (so that thresholds are met in the contexts that reach them)."""
        if rng.random() < 0.5:
            return self.case([rng.choice(options) for options in self.options], rng)
        return self.moved(rng.randrange(len(self.bases)),
                          [(i, rng.randrange(len(self.options[i])))
                           for i in rng.sample(range(len(self.dims)), rng.randint(1, 3))], rng)

    def moved(self, base: int, moves: Sequence[tuple[int, int]], rng: random.Random) -> Generated:
        """Rule test case number `base`, with dimension i at its option j for each (i, j) in `moves`."""
        chosen = list(self.bases[base])
        for dim, option in moves:
            chosen[dim] = self.options[dim][option]
        return self.case(chosen, rng)

    def case(self, chosen: Sequence[Point], rng: random.Random) -> Generated:
        """The case for one point of each dimension, written the way case files write it."""
        data: dict[str, dict] = {}
        exact: dict[str, Any] = {}
        for point in chosen:
            for name, value in point.items():
                if value is None:
                    continue
                fact = self.kb.facts[name]
                exact[name] = value
                if fact.case_field:
                    section, leaf = fact.case_field.split(".", 1)
                    data.setdefault(section, {})[leaf] = self._written(fact, value, rng)
        for fact in self.kb.input_facts():
            if fact.name not in exact and fact.default is not None:
                exact[fact.name] = _exact(fact.default)
        for fact in self.kb.input_facts():
            if fact.classes_of and fact.classes_of in exact:
                exact[fact.name] = tuple(sorted({c for m in exact[fact.classes_of] if m in self.kb.medications
                                                 for c in self.kb.medications[m].classes}))
        return Generated(data, exact)

    def _written(self, fact: FactDef, value: Any, rng: random.Random) -> Any:
        if fact.parse == "mass":
            units = [(u, _exact(f)) for u, f in sorted(self.kb.mass_units.items())
                     if exactness_problem(value / _exact(f)) is None]
            unit, factor = rng.choice(units)
            return f"{format((value / factor).normalize(), 'f')}{rng.choice(['', ' '])}{unit}"
        if fact.parse == "frequency":
            per_day = int(value)
            written = self.spellings.get(per_day, []) + ([f"q{24 // per_day}h"] if 24 % per_day == 0 else [])
            return rng.choice(written)
        if fact.type == "words":
            return list(value)
        if fact.type == "text" and isinstance(value, str):
            return rng.choice([value, value.title(), value.upper()])
        return value


# -- the judge ------------------------------------------------------------------------------------------

class Reference:
    """The rules whose conditions hold on the exact input facts, evaluated stratum by stratum in plain
    Python: derived facts as the rules assert them, `false` for an unasserted boolean once its stratum is
    done (the same stratified reading the engines implement), numbers as exact decimals."""

    def __init__(self, kb: Kb, plan: EvaluationPlan):
        self.completions = plan.completions
        derived = {name for name, f in kb.facts.items() if f.origin == "derived"}
        self.strata: list[list[tuple[str, list[list[tuple[Atom, bool]]], tuple]]] = [
            [] for _ in plan.completions]
        for rule in plan.rules:
            alternatives = [[(Atom(a.fact, a.op, _exact(a.value)), a.fact in derived) for a in alt]
                            for alt in rule.alternatives]
            self.strata[plan.rule_strata[rule.id]].append((rule.id, alternatives, rule.asserts))

    def fired(self, exact: Mapping[str, Any]) -> set[str]:
        derived: dict[str, Any] = {}
        fired: set[str] = set()
        for stratum, rules in enumerate(self.strata):
            changed = True
            while changed:
                changed = False
                for rule_id, alternatives, asserts in rules:
                    if rule_id not in fired and any(all(_holds(a, is_derived, exact, derived)
                                                        for a, is_derived in alt) for alt in alternatives):
                        fired.add(rule_id)
                        changed = True
                        for fact, value in asserts:
                            derived.setdefault(fact, value)
            for fact in self.completions[stratum]:
                derived.setdefault(fact, False)
        return fired


def _holds(atom: Atom, is_derived: bool, exact: Mapping[str, Any], derived: Mapping[str, Any]) -> bool:
    if is_derived:
        return atom.fact in derived and holds(atom, derived[atom.fact], True) is True
    return holds(atom, exact.get(atom.fact), atom.fact in exact) is True


@dataclass
class Tally:
    """Cases judged and the violations found, by kind (the first few kept as examples)."""

    cases: int = 0
    violations: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    dose_plans: int = 0
    under_age: int = 0

    def add(self, kind: str, case: Generated, detail: str = "") -> None:
        self.violations[kind] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {detail} case {json.dumps(case.data, default=str)}")


class Judge:
    """Runs cases through one Advisor and holds each answer to the README and to the exact reference."""

    def __init__(self, advisor):
        self.advisor = advisor
        self.kb = advisor.kb
        self.reference = Reference(self.kb, make_evaluation_plan(self.kb, advisor.plan.include_draft))
        self.label_max = LABEL_MAX_MG[self.kb.profile.name]
        self.tally = Tally()

    def judge(self, case: Generated) -> None:
        tally = self.tally
        tally.cases += 1
        try:
            result = self.advisor.advise(case.data)
        except ClonusError as exc:  # valid input must be answered
            tally.add("refused", case, f"{type(exc).__name__}: {exc};")
            return
        codes = set(result.codes())
        plan = result.dose_plan
        exact = case.exact
        adult = "age" in exact and exact["age"] >= ADULT_AGE
        tally.under_age += not adult and "age" in exact
        if plan is not None:
            tally.dose_plans += 1
            if not plan.regimen_daily_mg <= plan.next_max_mg <= plan.ceiling_daily_mg <= self.label_max:
                tally.add("dose plan above the ceiling", case, f"{plan.next_max_mg} mg/day;")
            if not plan.current_daily_mg < plan.next_min_mg:
                tally.add("dose plan does not increase", case)
        if (plan is not None) != ("increase_baclofen" in codes):
            tally.add("a dose plan without the increase, or the increase without one", case)
        escalation = {c for c in codes if self.kb.codes[c].category == self.kb.vocabulary.escalation_category}
        missing = [f for f in DECISION_FIELDS if f not in {**case.data.get("patient", {}),
                                                           **case.data.get("medication", {}),
                                                           **case.data.get("response", {})}]
        if (not adult or missing) and (plan is not None or escalation):
            tally.add("dosing advice under 18 or with a decision fact missing", case, f"age {exact.get('age')};")
        for a, b in self.kb.invariants.exclusions:
            if a in codes and b in codes:
                tally.add("exclusive codes together", case, f"{a} and {b};")
        if exact.get("drug") == BACLOFEN and ABRUPT_STOP_WARNING not in codes:
            tally.add("baclofen without the abrupt-stop warning", case)
        for required in self.kb.invariants.required:
            if all(holds(Atom(a.fact, a.op, _exact(a.value)), exact.get(a.fact), a.fact in exact) is True
                   for a in required.when) and not set(required.codes) <= codes:
                tally.add("a code the safety section requires is missing", case, f"{required.codes};")
        fired = {entry.rule for entry in result.trace}
        expected = self.reference.fired(exact)
        if fired != expected:
            tally.add("rules fired differ from the exact reference", case,
                      f"engine only {sorted(fired - expected)}, reference only {sorted(expected - fired)};")
