"""Boundary values of the facts rules read: the points of the fact space that lint explores (space.py).

Each numeric threshold in any condition just below, at and just above it (within the fact's range; a
frequency only where a notation can express it); every enum value; both booleans; each subset of the
tested words; the text values conditions name and one they do not; absent where the fact may be
absent. A product fact (daily dose = dose x doses per day) is one dimension with its parts, whose values
are chosen so the product hits its own thresholds exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from clonus.engine.knowledge.conditions import Atom, Value, holds
from clonus.engine.knowledge.model import FactDef, Kb, Rule
from clonus.engine.knowledge.numbers import to_number

Point = tuple[tuple[str, Value], ...]  # one dimension's values; None means the fact is absent
MAX_WORD_SUBSETS = 4                   # up to this many tested words, every subset; above, each alone


@dataclass(frozen=True)
class Dimension:
    """One input fact, or a product fact with its parts, and its boundary points."""

    name: str
    facts: tuple[str, ...]
    points: tuple[Point, ...]


def atoms_by_fact(rules: Iterable[Rule], extra: Iterable[Atom] = ()) -> dict[str, list[Atom]]:
    out: dict[str, list[Atom]] = {}
    for atom in [a for r in rules for alt in r.alternatives for a in alt] + list(extra):
        if atom not in out.setdefault(atom.fact, []):
            out[atom.fact].append(atom)
    return out


def thresholds(atoms: Sequence[Atom]) -> list[float]:
    """Every number these conditions compare a fact with, in order (the KB's thresholds for that fact)."""
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
    """Values the search builds (a dose that makes a product hit a threshold) in whole 0.001s."""
    return to_number(value, "0.001")


def number_values(kb: Kb, fact: FactDef, atoms: Sequence[Atom]) -> list[int | float]:
    """Just below, at and just above each threshold, within the fact's range."""
    limits = thresholds(atoms)
    if fact.parse == "frequency":
        return _frequency_values(kb, fact, limits)
    gaps = [b - a for a, b in itertools.pairwise(limits)]
    delta = min([1.0] + [g / 2 for g in gaps])
    found: set[int | float] = set()
    for t in limits:
        found.update(v for v in (_tidy(t), _near(fact, t, -delta), _near(fact, t, delta)) if v is not None)
    values = sorted(v for v in found if _in_range(fact, v))
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
    usable = usable_per_day(kb, fact)
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
    values: list[Value]
    if fact.type == "number":
        values = list(number_values(kb, fact, atoms))
    elif fact.type == "boolean":
        values = [False, True] if fact.default is not True else [True, False]
    elif fact.type == "enum":
        values = [fact.default] if fact.default in fact.values else []
        values += [v for v in fact.values if v != fact.default]
    elif fact.type == "words":
        words = sorted({str(a.value) for a in atoms if a.op in ("has", "lacks")})
        sizes = range(len(words) + 1) if len(words) <= MAX_WORD_SUBSETS else (0, 1, len(words))
        values = [tuple(c) for n in sizes for c in itertools.combinations(words, n)]
    else:
        named = [v for a in atoms for v in (a.value if isinstance(a.value, tuple) else (a.value,))
                 if isinstance(v, str)]
        named = list(dict.fromkeys(named))
        spare = (f"other{i or ''}" for i in itertools.count())
        values = [*named, next(v for v in spare if v not in named)]
    if fact.origin == "input" and fact.default is None:
        values.append(None)
    return values


def dimensions(kb: Kb, atoms: Mapping[str, Sequence[Atom]]) -> tuple[Dimension, ...]:
    """One dimension per input fact the conditions read; a product fact is one dimension with its parts."""
    # only the facts the conditions read (and the products of them): contradiction() calls this for every
    # alternative the lint checks, so its cost must not grow with the size of the KB
    order = kb.fact_order
    read = sorted((name for name in atoms if name in kb.facts and kb.facts[name].origin == "input"),
                  key=order.__getitem__)
    reading = set(read)
    dims: list[Dimension] = []
    taken: set[str] = set()
    for fact in kb.product_facts:
        name = fact.name
        if name in reading or any(p in reading for p in fact.product_of):
            dims.append(Dimension(name, (name, *fact.product_of), _product_points(kb, fact, atoms)))
            taken.update((name, *fact.product_of))
    for name in read:
        if name not in taken:
            values = fact_values(kb, kb.facts[name], atoms.get(name, ()))
            dims.append(Dimension(name, (name,), tuple(((name, v),) for v in values)))
    return tuple(sorted(dims, key=lambda d: order[d.name]))


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
        part = values[free]
        if isinstance(part, (int, float)) and not _in_range(kb.facts[free], part):
            return
        total = None
        if all(v is not None for v in values.values()):
            total = _tidy(_product(values.values()))
            if not _in_range(product, total):
                return
        points[((product.name, total), *((p, values[p]) for p in parts))] = None

    for combo in itertools.product(*(fact_values(kb, kb.facts[o], atoms.get(o, ())) for o in others)):
        known = dict(zip(others, combo, strict=True))
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
    for name, value in zip(others, combo, strict=True):
        fact = kb.facts[name]
        mine = signature(((name, value),), atoms)
        mates = [m for m in usable_per_day(kb, fact) if m != value and signature(((name, m),), atoms) == mine] \
            if fact.parse == "frequency" else []
        pools.append([value, *mates])
    for alt in itertools.product(*pools):
        part = Decimal(str(target)) / _product(alt)
        if part == part.quantize(Decimal("0.001")):
            return {**dict(zip(others, alt, strict=True)), free: _tidy(part)}
    return None


def usable_per_day(kb: Kb, fact: FactDef) -> list[int]:
    """Doses per day that a frequency notation can express (notations.yaml, or q<N>h for N dividing 24)."""
    written = set(kb.frequencies.values()) | {24 // h for h in range(1, 25) if 24 % h == 0}
    return sorted(v for v in written if _in_range(fact, v))


def signature(point: Point, atoms: Mapping[str, Sequence[Atom]]) -> tuple:
    """Which of the conditions hold for this point: values with one signature are indistinguishable."""
    return tuple(tuple(holds(a, v, v is not None) is True for a in atoms.get(f, ())) for f, v in point)


def contradiction(kb: Kb, alternative: Iterable[Atom]) -> list[Atom] | None:
    """The conditions of one alternative that no value can satisfy together, or None if some case can.
    Facts are independent of one another, except a product fact and its parts, which are one dimension."""
    by_fact: dict[str, list[Atom]] = {}
    for atom in alternative:
        by_fact.setdefault(atom.fact, []).append(atom)
    inputs = {f: atoms for f, atoms in by_fact.items() if kb.facts[f].origin == "input"}
    for dim in dimensions(kb, inputs):
        atoms = [a for f in dim.facts for a in by_fact.get(f, ())]
        if not any(all_hold(atoms, dict(point)) for point in dim.points):
            return atoms
    for fact, atoms in by_fact.items():
        if fact not in inputs and not any(all_hold(atoms, {fact: v}) for v in fact_values(kb, kb.facts[fact], atoms)):
            return atoms
    return None


def all_hold(atoms: Iterable[Atom], values: Mapping[str, Value]) -> bool:
    """Every condition holds for these values (None: absent); unknown is not holding."""
    return all(holds(a, values.get(a.fact), values.get(a.fact) is not None) is True for a in atoms)
