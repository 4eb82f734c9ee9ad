"""Exploring the fact space at its boundaries (boundaries.py) by independence between facts, for lint.

The full space is the product of every fact's boundary values; lint never runs it whole. It explores one
question at a time (a pair of excluded codes, the gap check) with exact reductions, never sampling:

- only the facts the question depends on vary (the rules that make its codes, and recursively every
  rule that asserts a derived fact those rules read); the others keep a base value;
- values that no condition of the question tells apart are one value (65 and 66 for `age >= 65`);
- facts that reach the question only through derived facts (renal function behind
  `escalation_blocked`) are explored first against the facts those derived facts depend on, and
  crossed with the rest as one representative per derived outcome;
- facts that only final rules read (spasticity pattern for the next-line rules) are crossed only with
  each distinct situation those final rules see;
- in the gap check, a case that some rule answers answers every case that agrees with it on the facts
  that rule depends on: those are not run.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from clonus.engine.knowledge.boundaries import (
    Dimension,
    Point,
    all_hold,
    atoms_by_fact,
    contradiction,
    dimensions,
    signature,
)
from clonus.engine.knowledge.conditions import Atom, Value, holds
from clonus.engine.knowledge.model import Kb, Rule


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
        self.dims_by_name = {d.name: d for d in self.dims}

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
        """Run one question; one that stops at its first hit is already answered by any case seen."""
        if question.until is not None and any(question.until(o) for _, o in self.outcomes.values()):
            return
        targets = [r for r in self.rules if r.id in question.targets]
        if targets:
            try:
                if question.until is not None:
                    self._seeded(targets, question.until)
                _Run(self, question, self.closure(targets), {r.id for r in targets}).go()
            except _Found:
                pass

    # -- seeds for a search that stops at its first hit
    SEEDS = 64      # cases tried before the exhaustive exploration
    BRANCHES = 4    # producers followed per derived condition

    def _seeded(self, targets: list[Rule], until: Callable[[Outcome], bool]) -> None:
        """Try first the cases that the targets' conditions point to, chained back through the rules that
        derive what they need (escalating <- the increase <- below the maximum <- the daily dose): a rule
        deep in the chain is reached in a few cases where the exhaustive order could take a million.
        Only the order changes; the engine still decides what fires, and the exploration follows."""
        for atoms in itertools.islice(self._wanted_together(targets), self.SEEDS):
            assignment = self._satisfying(atoms)
            if assignment is not None:
                self.evaluate(assignment, until)

    def _wanted_together(self, targets: list[Rule]) -> Iterator[tuple[Atom, ...]]:
        for combo in itertools.product(*(itertools.islice(self._wanted(r, 0, frozenset()), self.SEEDS)
                                         for r in targets)):
            atoms = tuple(a for part in combo for a in part)
            if contradiction(self.kb, atoms) is None:
                yield atoms

    def _wanted(self, rule: Rule, depth: int, seen: frozenset[str]) -> Iterator[tuple[Atom, ...]]:
        """Input conditions under which `rule` can fire: per alternative, its input conditions with, for
        each derived fact it needs, those of a rule that asserts the needed value (a derived fact it needs
        absent or false is left to its default)."""
        if depth > 8:
            return
        for alt in rule.alternatives:
            parts: list[list[tuple[Atom, ...]]] = []
            for atom in alt:
                if self.kb.facts[atom.fact].origin != "derived":
                    parts.append([(atom,)])
                    continue
                makers = [p for p in self.producers(atom.fact) if p.id not in seen and p.id != rule.id
                          and any(f == atom.fact and holds(atom, v, True) is True for f, v in p.asserts)]
                options = [w for p in makers[: self.BRANCHES]
                           for w in itertools.islice(self._wanted(p, depth + 1, seen | {rule.id}), self.BRANCHES)]
                if makers and not options:
                    break  # no producer can fire: this alternative cannot be reached this way
                parts.append(options or [()])
            else:
                for combo in itertools.product(*parts):
                    atoms = tuple(a for part in combo for a in part)
                    if contradiction(self.kb, atoms) is None:
                        yield atoms

    def _satisfying(self, atoms: tuple[Atom, ...]) -> dict[str, Value] | None:
        """The base case with, in every dimension the atoms constrain, the first point satisfying them."""
        assignment = dict(self.base)
        for dim in self.dims:
            mine = [a for a in atoms if a.fact in dim.facts]
            if mine:
                point = next((p for p in dim.points if all_hold(mine, dict(p))), None)
                if point is None:
                    return None
                assignment.update(point)
        return assignment


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
        if question.until is not None:
            self._promising_first()
        self.fixed = {f: v for name, reps in self.reps.items() if len(reps) == 1 for f, v in reps[0]}
        self.varied = [d for d in explorer.dims if len(self.reps.get(d.name, ())) > 1]

    def _promising_first(self) -> None:
        """For a search that stops at the first hit: try first the values that satisfy the conditions of
        the target rules and of the rules deriving what they need. Only the order changes."""
        wanted: dict[str, list[Atom]] = {}
        todo = [r for r in self.closure if r.id in self.targets]
        seen: set[str] = set()
        while todo:
            rule = todo.pop()
            if rule.id in seen:
                continue
            seen.add(rule.id)
            for atom in (a for alt in rule.alternatives for a in alt):
                wanted.setdefault(atom.fact, []).append(atom)
                if self.x.kb.facts[atom.fact].origin == "derived" and atom.value is not False:
                    todo.extend(r for r in self.closure if any(f == atom.fact for f, _ in r.asserts))
        for reps in self.reps.values():
            def score(point: Point) -> int:
                return -sum(holds(a, v, v is not None) is True for f, v in point for a in wanted.get(f, ()))
            reps.sort(key=score)

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
        situations: set[tuple] = set()
        settled: dict[tuple[str, ...], set[tuple]] = {}
        sat_readers = {r.id for d in satellites for r in self._readers(d)}
        hidden_facts = {f for group, _, _ in groups for d in group for f in d.facts}
        for core_values in self._core_cases(core, start, hidden_facts, settled):
            assignment = {**start, **core_values}
            options = [list(table.get(self._project(assignment, ctx), {}).values()) or [{}]
                       for ctx, table in compressed]
            for chosen in itertools.product(*options):
                full = dict(assignment)
                for values in chosen:
                    full.update(values)
                if self.q.settled_by_any and self._settled(full, settled):
                    continue
                outcome = self.x.evaluate(full, self.q.until)
                if self.q.settled_by_any:
                    self._remember(full, outcome, settled)
                key = self._situation(full, outcome, satellites, sat_readers) if satellites else None
                if key is not None and key not in situations:
                    situations.add(key)  # crossed at once, so that a search with `until` stops early
                    for sat_values in self._product(satellites):
                        self.x.evaluate({**full, **sat_values}, self.q.until)

    def _core_cases(self, core: list[Dimension], start: Mapping[str, Value], hidden_facts: set[str],
                    settled: dict[tuple[str, ...], set[tuple]]) -> Iterator[dict[str, Value]]:
        """The core's product, in the same order; in the gap check a branch is cut as soon as the values
        fixed so far already settle every case below it (a settling rule depends on them alone), which
        the per-case check would find anyway, case by case, a million times."""
        if not self.q.settled_by_any:
            yield from self._product(core)
            return
        constant = set(start) - {f for d in core for f in d.facts} - hidden_facts
        covered: list[frozenset[str]] = []
        for dim in core:
            constant |= set(dim.facts)
            covered.append(frozenset(constant))
        names = [f for d in core for f in d.facts]

        def below(i: int, current: dict[str, Value]) -> Iterator[dict[str, Value]]:
            if i == len(core):
                yield {f: current[f] for f in names}
                return
            for point in self.reps[core[i].name]:
                values = {**current, **dict(point)}
                get = values.get
                if any(covered[i].issuperset(facts) and tuple(map(get, facts)) in seen
                       for facts, seen in settled.items()):
                    continue
                yield from below(i + 1, values)

        yield from below(0, dict(start))

    def _depends_on(self, rule: Rule) -> tuple[str, ...]:
        """The dimensions whose values decide whether `rule` fires."""
        inputs: set[str] = set()
        for fact in rule.reads():
            derived = self.x.kb.facts[fact].origin == "derived"
            inputs |= self.x.inputs_behind([fact], self.closure) if derived else {fact}
        return tuple(d.name for d in self.x.dims if set(d.facts) & inputs)

    def _remember(self, full: Mapping[str, Value], outcome: Outcome, settled: dict) -> None:
        """A case settled by a rule settles every case that agrees on what that rule depends on."""
        makers = [self.x.by_id[rid] for rid in outcome.fired if rid in self.targets and
                  any(rec.code in self.q.codes for rec in self.x.by_id[rid].recommends)]
        if makers:
            names = min((self._depends_on(r) for r in makers), key=len)
            facts = tuple(f for name in names for f in self.x.dims_by_name[name].facts)
            settled.setdefault(facts, set()).add(tuple(map(full.get, facts)))

    def _settled(self, full: Mapping[str, Value], settled: dict) -> bool:
        """Checked for every case of the core's product (a million and more): kept to tuple lookups."""
        get = full.get
        return any(tuple(map(get, facts)) in seen for facts, seen in settled.items())

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
