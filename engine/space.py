"""The fact space at its boundaries, and its exploration by independence between facts (used by lint).

Each input fact a rule reads gets boundary values: each numeric threshold just below, at and just above
it; every enum value; both booleans; each tested word present or not; one text value no rule names;
absent where the fact may be absent. A product fact (daily dose = dose x doses per day) is one dimension
with its parts. The full space is the product of all dimensions; lint never runs it whole. It explores
one question at a time (a pair of excluded codes, the gap check) with exact reductions, never sampling:

- only the facts the question depends on vary (the rules that make its codes, and recursively every
  rule that asserts a derived fact those rules read); the others keep a base value;
- values that no condition of the question tells apart are one value (65 and 66 for `age >= 65`);
- facts that reach the question only through derived facts (renal function behind
  `escalation_blocked`) are explored first against the facts those derived facts depend on, and
  crossed with the rest as one representative per derived outcome;
- facts that only final rules read (spasticity pattern for the next-line rules) are crossed only with
  each distinct situation those final rules see.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from .conditions import Atom, Value, holds
from .model import FactDef, Kb, Rule

Point = tuple[tuple[str, Value], ...]  # one dimension's values; None means the fact is absent
MAX_WORD_SUBSETS = 4                   # up to this many tested words, every subset; above, each alone


@dataclass(frozen=True)
class Dimension:
    """One input fact, or a product fact with its parts, and its boundary points."""

    name: str
    facts: tuple[str, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Question:
    """What one exploration is about: the codes of interest and the rules that make them."""

    name: str
    targets: frozenset[str]             # ids of the rules whose firing the question is about
    codes: frozenset[str]               # the codes of interest, made by those rules
    population: tuple[Atom, ...] = ()   # only cases where these hold
    settled_by_any: bool = False        # one of `codes` answers the question (the gap check)
    until: Callable[[Outcome], bool] | None = None  # stop at the first case where this holds


@dataclass(frozen=True)
class Outcome:
    """What the engine made of one case."""

    fired: tuple[str, ...]
    codes: frozenset[str]
    derived: Mapping[str, Value]
    error: str | None = None


# -- boundary values ------------------------------------------------------------------------------

def atoms_by_fact(rules: Iterable[Rule], extra: Iterable[Atom] = ()) -> dict[str, list[Atom]]:
    out: dict[str, list[Atom]] = {}
    for atom in [a for r in rules for alt in r.alternatives for a in alt] + list(extra):
        if atom not in out.setdefault(atom.fact, []):
            out[atom.fact].append(atom)
    return out


def _numbers(atoms: Sequence[Atom]) -> list[float]:
    found: set = set()
    for atom in atoms:
        for v in atom.value if isinstance(atom.value, tuple) else (atom.value,):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                found.add(v)
    return sorted(found)


def _in_range(fact: FactDef, value: float) -> bool:
    low = fact.minimum is None or (value > fact.minimum if fact.exclusive_minimum else value >= fact.minimum)
    return low and (fact.maximum is None or value <= fact.maximum)


def _tidy(value) -> int | float:
    number = Decimal(str(value)).quantize(Decimal("0.001")).normalize()
    return int(number) if number == number.to_integral_value() else float(number)


def number_values(kb: Kb, fact: FactDef, atoms: Sequence[Atom]) -> list[int | float]:
    """Just below, at and just above each threshold, within the fact's range."""
    thresholds = _numbers(atoms)
    if fact.parse == "frequency":
        return _frequency_values(kb, fact, thresholds)
    gaps = [b - a for a, b in zip(thresholds, thresholds[1:])]
    delta = min([1.0] + [g / 2 for g in gaps])
    values = set()
    for t in thresholds:
        values.update(v for v in (_tidy(t), _near(fact, t, -delta), _near(fact, t, delta)) if v is not None)
    values = sorted(v for v in values if _in_range(fact, v))
    if not values:
        low = fact.minimum if fact.minimum is not None else 0
        values = [_tidy(low + 1 if fact.maximum is None or low + 1 <= fact.maximum else low)]
    return values


def _near(fact: FactDef, t: float, step: float) -> int | float | None:
    """t + step, or the edge of the fact's range when that lies outside it (None when t is the edge)."""
    value = _tidy(t + step)
    if _in_range(fact, value):
        return value
    edge = fact.minimum if step < 0 else fact.maximum
    if edge is None or (edge >= t if step < 0 else edge <= t):
        return None
    if step < 0 and fact.exclusive_minimum:
        return _tidy((edge + t) / 2)
    return _tidy(edge)


def _frequency_values(kb: Kb, fact: FactDef, thresholds: list) -> list[int | float]:
    """Doses per day that a frequency notation can express: the nearest below, at and above each threshold."""
    usable = _usable(kb, fact)
    if not thresholds:
        return [3 if 3 in usable else usable[0]]
    values: set = set()
    for t in thresholds:
        below = [v for v in usable if v < t]
        above = [v for v in usable if v > t]
        values.update(([below[-1]] if below else []) + ([t] if t in usable else []) + ([above[0]] if above else []))
    return sorted(values)


def fact_values(kb: Kb, fact: FactDef, atoms: Sequence[Atom]) -> list[Value]:
    """Boundary values of one fact for these conditions; None (absent) last, where the fact may be absent."""
    if fact.type == "number":
        values: list[Value] = list(number_values(kb, fact, atoms))
    elif fact.type == "boolean":
        values = [False, True] if fact.default is not True else [True, False]
    elif fact.type == "enum":
        values = ([fact.default] if fact.default in fact.values else []) + [v for v in fact.values if v != fact.default]
    elif fact.type == "words":
        words = sorted({str(a.value) for a in atoms if a.op in ("has", "lacks")})
        sizes = range(len(words) + 1) if len(words) <= MAX_WORD_SUBSETS else (0, 1, len(words))
        values = [tuple(c) for n in sizes for c in itertools.combinations(words, n)]
    else:
        named = [v for a in atoms for v in (a.value if isinstance(a.value, tuple) else (a.value,))
                 if isinstance(v, str)]
        named = list(dict.fromkeys(named))
        spare = (f"other{i or ''}" for i in itertools.count())
        values = named + [next(v for v in spare if v not in named)]
    if fact.origin == "input" and fact.default is None:
        values.append(None)
    return values


def dimensions(kb: Kb, atoms: Mapping[str, Sequence[Atom]]) -> tuple[Dimension, ...]:
    """One dimension per input fact the conditions read; a product fact is one dimension with its parts."""
    read = [name for name in kb.facts if name in atoms and kb.facts[name].origin == "input"]
    dims: list[Dimension] = []
    taken: set[str] = set()
    for name in kb.facts:
        fact = kb.facts[name]
        if fact.product_of and (name in read or any(p in read for p in fact.product_of)):
            dims.append(Dimension(name, (name, *fact.product_of), _product_points(kb, fact, atoms)))
            taken.update((name, *fact.product_of))
    for name in read:
        if name not in taken:
            values = fact_values(kb, kb.facts[name], atoms.get(name, ()))
            dims.append(Dimension(name, (name,), tuple(((name, v),) for v in values)))
    return tuple(sorted(dims, key=lambda d: list(kb.facts).index(d.name)))


def _product_points(kb: Kb, product: FactDef, atoms: Mapping[str, Sequence[Atom]]) -> tuple[Point, ...]:
    """Points of (product, *parts). The free part (not a frequency) is chosen so that the product hits
    each of its own boundary values, exactly when the other parts allow it (80 mg/day as 20 mg x 4,
    not 26.667 mg x 3); any absent part makes the product absent."""
    parts = list(product.product_of)
    free = next((p for p in parts if kb.facts[p].parse != "frequency"), parts[0])
    others = [p for p in parts if p != free]
    targets = number_values(kb, product, atoms.get(product.name, ()))
    points: dict[Point, None] = {}

    def add(values: dict[str, Value]) -> None:
        if values[free] is not None and not _in_range(kb.facts[free], values[free]):
            return
        total = None
        if all(v is not None for v in values.values()):
            total = _tidy(_product(values.values()))
            if not _in_range(product, total):
                return
        points[((product.name, total), *((p, values[p]) for p in parts))] = None

    for combo in itertools.product(*(fact_values(kb, kb.facts[o], atoms.get(o, ())) for o in others)):
        known = dict(zip(others, combo))
        if all(v is not None for v in combo):
            for target in targets:
                split = _exact_split(kb, free, others, combo, target, atoms)
                add({**known, **split} if split else {**known, free: _tidy(Decimal(str(target)) / _product(combo))})
        for value in fact_values(kb, kb.facts[free], atoms.get(free, ())):
            add({**known, free: value})
    return tuple(sorted(points, key=lambda pt: tuple((v is None, v if v is not None else 0) for _, v in pt)))


def _product(values: Iterable) -> Decimal:
    total = Decimal(1)
    for v in values:
        total *= Decimal(str(v))
    return total


def _exact_split(kb: Kb, free: str, others: list[str], combo: tuple, target: float,
                 atoms: Mapping[str, Sequence[Atom]]) -> dict[str, Value] | None:
    """Values of the other parts, each in the same class as in `combo` (a frequency may change, say 3 to
    4 doses a day when no condition tells them apart), that divide `target` into whole 0.001s of `free`."""
    pools = []
    for name, value in zip(others, combo):
        fact = kb.facts[name]
        mine = signature(((name, value),), atoms)
        mates = [m for m in _usable(kb, fact) if m != value and signature(((name, m),), atoms) == mine] \
            if fact.parse == "frequency" else []
        pools.append([value, *mates])
    for alt in itertools.product(*pools):
        part = Decimal(str(target)) / _product(alt)
        if part == part.quantize(Decimal("0.001")):
            return {**dict(zip(others, alt)), free: _tidy(part)}
    return None


def _usable(kb: Kb, fact: FactDef) -> list[int]:
    """Doses per day that a frequency notation can express (notations.yaml, or q<N>h for N dividing 24)."""
    written = set(kb.frequencies.values()) | {24 // h for h in range(1, 25) if 24 % h == 0}
    return sorted(v for v in written if _in_range(fact, v))


def signature(point: Point, atoms: Mapping[str, Sequence[Atom]]) -> tuple:
    """Which of the conditions hold for this point: values with one signature are indistinguishable."""
    return tuple(tuple(holds(a, v, v is not None) is True for a in atoms.get(f, ())) for f, v in point)


def _size(reps: Mapping[str, list[Point]], dims: Sequence[Dimension]) -> int:
    size = 1
    for d in dims:
        size *= len(reps[d.name])
    return size


# -- exploration ----------------------------------------------------------------------------------

@dataclass
class Explorer:
    """Runs questions over the space of one KB configuration; each distinct case is evaluated once."""

    kb: Kb
    rules: tuple[Rule, ...]
    run: Callable[[dict[str, Value]], Outcome]
    outcomes: dict[tuple, tuple[dict[str, Value], Outcome]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.all_atoms = atoms_by_fact(self.rules)
        self.dims = dimensions(self.kb, self.all_atoms)
        self.base: dict[str, Value] = {f: v for d in self.dims for f, v in d.points[0]}
        self.by_id = {r.id: r for r in self.rules}

    @property
    def full_size(self) -> int:
        size = 1
        for d in self.dims:
            size *= len(d.points)
        return size

    def evaluate(self, assignment: Mapping[str, Value], until: Callable[[Outcome], bool] | None = None) -> Outcome:
        """The outcome of one case, run once however often it is asked for."""
        key = tuple(sorted(assignment.items(), key=lambda kv: kv[0]))
        if key not in self.outcomes:
            self.outcomes[key] = (dict(assignment), self.run(dict(assignment)))
        outcome = self.outcomes[key][1]
        if until is not None and until(outcome):
            raise _Found()
        return outcome

    # -- the question's reach
    def producers(self, fact: str) -> list[Rule]:
        return [r for r in self.rules if any(f == fact for f, _ in r.asserts)]

    def closure(self, targets: Iterable[Rule]) -> list[Rule]:
        """The target rules and, recursively, every rule asserting a derived fact they read."""
        found: dict[str, Rule] = {}
        todo = list(targets)
        while todo:
            rule = todo.pop()
            if rule.id in found:
                continue
            found[rule.id] = rule
            for fact in rule.reads():
                if self.kb.facts[fact].origin == "derived":
                    todo.extend(self.producers(fact))
        return [r for r in self.rules if r.id in found]

    def inputs_behind(self, facts: Iterable[str], rules: list[Rule]) -> set[str]:
        """Input facts that the derived `facts` depend on, through their producers among `rules`."""
        seen: set[str] = set()
        inputs: set[str] = set()
        todo = list(facts)
        while todo:
            fact = todo.pop()
            if fact in seen:
                continue
            seen.add(fact)
            for rule in rules:
                if any(f == fact for f, _ in rule.asserts):
                    for read in rule.reads():
                        if self.kb.facts[read].origin == "derived":
                            todo.append(read)
                        else:
                            inputs.add(read)
        return inputs

    def explore(self, question: Question) -> None:
        targets = [r for r in self.rules if r.id in question.targets]
        if targets:
            try:
                _Run(self, question, self.closure(targets), {r.id for r in targets}).go()
            except _Found:
                pass


class _Found(Exception):
    """A question's `until` held: its exploration stops there."""


class _Run:
    """One question's exploration: classes, dimension roles, hidden groups, core, satellites."""

    def __init__(self, explorer: Explorer, question: Question, closure: list[Rule], targets: set[str]):
        self.x, self.q, self.closure, self.targets = explorer, question, closure, targets
        self.atoms = atoms_by_fact(closure, question.population)
        read = {f for r in closure for f in r.reads()}
        self.final = {r.id for r in closure if not any(f in read for f, _ in r.asserts)}
        self.reps: dict[str, list[Point]] = {}
        for dim in explorer.dims:
            if any(f in self.atoms for f in dim.facts):
                self.reps[dim.name] = self._classes(dim)
        self.fixed = {f: v for name, reps in self.reps.items() if len(reps) == 1 for f, v in reps[0]}
        self.varied = [d for d in explorer.dims if len(self.reps.get(d.name, ())) > 1]

    def _classes(self, dim: Dimension) -> list[Point]:
        population = {a.fact: a for a in self.q.population}
        reps: dict[tuple, Point] = {}
        for point in dim.points:
            if all(holds(population[f], v, v is not None) is True for f, v in point if f in population):
                reps.setdefault(signature(point, self.atoms), point)
        return list(reps.values())

    def _readers(self, dim: Dimension) -> list[Rule]:
        return [r for r in self.closure if any(f in dim.facts for f in r.reads())]

    def go(self) -> None:
        if any(not reps for reps in self.reps.values()):
            return  # no value of some fact is in the population: nothing to explore
        satellites, hidden, core = [], [], []
        for dim in self.varied:
            readers = self._readers(dim)
            if all(r.id in self.final for r in readers):
                satellites.append(dim)
            elif all(r.id not in self.final and r.id not in self.targets for r in readers):
                hidden.append(dim)
            else:
                core.append(dim)
        groups = self._groups(hidden, core)
        start = {**self.x.base, **self.fixed}
        compressed = [(ctx, self._compress(group, ctx, readers, start)) for group, ctx, readers in groups]
        situations: dict[tuple, dict] = {}
        sat_readers = {r.id for d in satellites for r in self._readers(d)}
        for core_values in self._product(core):
            assignment = {**start, **core_values}
            options = [list(table.get(self._project(assignment, ctx), {}).values()) or [{}]
                       for ctx, table in compressed]
            for chosen in itertools.product(*options):
                full = dict(assignment)
                for values in chosen:
                    full.update(values)
                outcome = self.x.evaluate(full, self.q.until)
                if satellites:
                    key = self._situation(full, outcome, satellites, sat_readers)
                    if key is not None:
                        situations.setdefault(key, full)
        for full in situations.values():
            for sat_values in self._product(satellites):
                self.x.evaluate({**full, **sat_values}, self.q.until)

    def _product(self, dims: list[Dimension]) -> Iterator[dict[str, Value]]:
        for combo in itertools.product(*(self.reps[d.name] for d in dims)):
            yield {f: v for point in combo for f, v in point}

    def _project(self, assignment: Mapping[str, Value], ctx: list[Dimension]) -> tuple:
        return tuple(signature(tuple((f, assignment[f]) for f in d.facts), self.atoms) for d in ctx)

    def _groups(self, hidden: list[Dimension], core: list[Dimension]):
        """Hidden dimensions in groups that do not reach one another, each with its reader rules and its
        context (the core dimensions those readers also depend on). A group whose context is no smaller
        than the whole core saves nothing: its dimensions join the core."""
        def readers(group: list[Dimension]) -> set[str]:
            return {r.id for d in group for r in self._readers(d)}

        def behind(group: list[Dimension]) -> set[str]:
            inputs: set[str] = set()
            for rid in readers(group):
                for fact in self.x.by_id[rid].reads():
                    derived = self.x.kb.facts[fact].origin == "derived"
                    inputs |= self.x.inputs_behind([fact], self.closure) if derived else {fact}
            return inputs

        def reaches(a: list[Dimension], b: list[Dimension]) -> bool:
            return any(set(d.facts) & behind(a) for d in b)

        groups = [[d] for d in hidden]
        merged = True
        while merged:
            merged = False
            for a, b in itertools.combinations(groups, 2):
                if readers(a) & readers(b) or reaches(a, b) or reaches(b, a):
                    groups = [g for g in groups if g is not a and g is not b] + [a + b]
                    merged = True
                    break
        out = []
        for group in groups:
            ctx = [d for d in core if reaches(group, [d])]
            if _size(self.reps, ctx) < _size(self.reps, core):
                out.append((group, ctx, readers(group)))
            else:
                core.extend(group)
        return out

    def _compress(self, group: list[Dimension], ctx: list[Dimension], readers: set[str], start: dict):
        """For each context, one assignment of the group per distinct set of its readers that fire."""
        table: dict[tuple, dict[frozenset, dict[str, Value]]] = {}
        for ctx_values in self._product(ctx):
            base = {**start, **ctx_values}
            key = self._project(base, ctx)
            for group_values in self._product(group):
                outcome = self.x.evaluate({**base, **group_values}, self.q.until)
                table.setdefault(key, {}).setdefault(frozenset(outcome.fired) & readers, group_values)
        return table

    def _situation(self, full, outcome: Outcome, satellites, sat_readers) -> tuple | None:
        """What the final rules reading satellite facts see, and the question's codes already made."""
        sat_facts = {f for d in satellites for f in d.facts}
        seen = []
        for rid in sorted(sat_readers):
            for fact in self.x.by_id[rid].reads():
                if fact in sat_facts:
                    continue
                if self.x.kb.facts[fact].origin == "derived":
                    seen.append((fact, outcome.derived.get(fact)))
                else:
                    seen.append((fact, signature(((fact, full.get(fact)),), self.atoms)))
        made = frozenset(c for rid in outcome.fired if rid not in sat_readers
                         for c in (rec.code for rec in self.x.by_id[rid].recommends) if c in self.q.codes)
        if self.q.settled_by_any and made:
            return None
        return tuple(seen), made
