"""Random valid case files for a KB, for the engine comparison (`clonus check-engines`): a pure function
of the KB and a seed, so that a run can be repeated exactly.

Every value comes from the KB: each field present or absent (a fact needed for dosing more often
present); a number at one of its boundary values (knowledge/boundaries.py) or anywhere in its range, in
whole numbers or decimals; a dose in any mass unit, chosen half the time so that the daily dose hits one
of its own thresholds; any frequency notation; an enum value or one of its synonyms; a text that some
condition names, a synonym, or a word none names; tested words and other words. Spellings vary in case,
as people write them. No value is outside what intake accepts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

from clonus.engine.knowledge.boundaries import atoms_by_fact, fact_values, number_values
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.model import FactDef, Kb
from clonus.engine.knowledge.numbers import to_number
from clonus.engine.workbench.kbdiff import NamedCase

PRESENT = 0.6             # how often an optional field is given
PRESENT_NEEDED = 0.92     # how often a field a dosing decision needs is given
# Characters that engines store and compare in their own ways (quotes and backslashes in source or JSON,
# non-ASCII in C strings), in some of the words no condition names.
ODD = ('"', "'", "\\", "é", "ß", "µ", "∆", "😀", "#", ";", "(", "$?")
TRUE = 0.15               # how often a yes-or-no finding is true
NEAR = (Decimal("0.001"), Decimal("0.000001"), Decimal("0.000000001"), Decimal("0.000000000001"))


def generated_cases(kb: Kb, count: int, seed: int) -> Iterator[NamedCase]:
    """`count` valid case files, the same ones for the same KB and seed."""
    rng = random.Random(seed)
    make = case_maker(kb)
    for index in range(1, count + 1):
        yield NamedCase(f"generated-{seed}-{index}", f"generated case {index} (seed {seed})", make(rng))


def case_maker(kb: Kb) -> Callable[[random.Random], dict[str, dict]]:
    """A function from a random source to one valid case file of the KB, as generated_cases makes them:
    for property tests, whose random source (hypothesis's) repeats and shrinks what it drew."""
    atoms = atoms_by_fact(kb.rules)
    boundary = {name: list(number_values(kb, fact, atoms.get(name, ())))
                for name, fact in kb.facts.items() if fact.type == "number"}
    return lambda rng: _case(kb, rng, atoms, boundary)


def _case(kb: Kb, rng: random.Random, atoms, boundary: dict[str, list]) -> dict[str, dict]:
    doc: dict[str, dict] = {}
    values: dict[str, object] = {}
    fields = [f for f in kb.facts.values() if f.origin == "input" and f.case_field]
    for fact in sorted(fields, key=lambda f: f.parse != "frequency"):  # frequencies first: doses follow
        if rng.random() >= (PRESENT_NEEDED if fact.needed_for_dosing else PRESENT):
            continue
        value = _value(kb, rng, fact, atoms.get(fact.name, ()), values, boundary)
        values[fact.name] = value
        section, field = str(fact.case_field).split(".", 1)
        doc.setdefault(section, {})[field] = value
    return {section: doc[section] for section in sorted(doc)}


def _value(kb: Kb, rng: random.Random, fact: FactDef, atoms: Sequence[Atom], drawn: dict,
           boundary: dict[str, list]) -> object:
    if fact.parse == "frequency":
        return _spelled(rng, rng.choice(sorted(kb.frequencies)))
    if fact.parse == "mass":
        return _mass(kb, rng, fact, drawn, boundary)
    if fact.type == "number":
        return _number(rng, fact, boundary[fact.name])
    if fact.type == "boolean":
        return rng.random() < TRUE  # most findings are absent in most patients
    if fact.type == "words":
        tested = sorted({str(a.value) for a in atoms if a.op in ("has", "lacks")} | _class_members(kb, fact))
        chosen = [w for w in tested if rng.random() < 0.4]
        chosen += [_other(rng, fact) for _ in range(rng.randint(0, 2))]
        rng.shuffle(chosen)
        return [_spelled(rng, w) for w in dict.fromkeys(chosen)]
    named = [str(v) for v in fact_values(kb, fact, atoms) if v is not None]
    synonyms = sorted(kb.synonyms.get(fact.name, {}))
    if fact.type == "enum":
        return _spelled(rng, _weighted(rng, list(fact.values), atoms, synonyms))
    spoken = sorted(_vocabulary_names(kb, fact))
    if fact.strict:  # a word the vocabulary does not know is refused: never generated
        named = [n for n in named if n in spoken]
    if named and (not spoken or rng.random() < 0.7):  # what the rules name, most of the time
        return _spelled(rng, _weighted(rng, named, atoms, synonyms))
    return _spelled(rng, rng.choice(spoken + ([] if fact.strict else [_other(rng, fact)])))


def _weighted(rng: random.Random, values: list[str], atoms: Sequence[Atom], synonyms: list[str]) -> str:
    """A value (four times as likely for each condition naming it) or a synonym: the values that many
    rules read (the drug they advise on, the route they cover) are the ones most paths go through."""
    named = Counter(str(v) for a in atoms for v in (a.value if isinstance(a.value, tuple) else (a.value,)))
    choices = values + synonyms
    return rng.choices(choices, weights=[4 ** named[c] for c in choices])[0]


def _class_members(kb: Kb, fact: FactDef) -> set[str]:
    """For a fact whose classes the rules test (other medications -> their classes): one medication of
    each class tested, so that the class conditions are reached."""
    tested = {str(a.value) for derived in kb.facts.values() if derived.classes_of == fact.name
              for a in atoms_by_fact(kb.rules).get(derived.name, ()) if a.op in ("has", "lacks")}
    return {next(m.name for m in kb.medications.values() if c in m.classes)
            for c in tested if any(c in m.classes for m in kb.medications.values())}


def _vocabulary_names(kb: Kb, fact: FactDef) -> set[str]:
    """The names the fact's vocabulary (medications or conditions) knows, as a person writes them."""
    index = {"medications": kb.medication_names, "conditions": kb.condition_names}.get(fact.vocabulary or "", {})
    return {name.replace("_", " ") for name in index if not name.isdigit()}


def _other(rng: random.Random, fact: FactDef) -> str:
    """A word no condition names; one in five with a character engines treat in their own ways."""
    odd = rng.choice(ODD) if rng.random() < 0.2 else ""
    return f"{fact.name}-{rng.randint(1, 99)}{odd}"


def _number(rng: random.Random, fact: FactDef, boundary: list[int | float]) -> int | float:
    """A boundary value half the time (a tenth of those a hair's breadth off it, down to 1e-12), else
    anywhere in the range (whole, or with one or two decimals)."""
    if boundary and rng.random() < 0.5:
        chosen = rng.choice(boundary)
        if rng.random() < 0.1:
            near = Decimal(str(chosen)) + rng.choice((-1, 1)) * rng.choice(NEAR)
            if _fits(fact, near):
                return to_number(near)
        return chosen
    low = Decimal(str(fact.minimum if fact.minimum is not None else 0))
    high = Decimal(str(fact.maximum if fact.maximum is not None else max([100, *boundary]) * 2))
    places = rng.choice((0, 0, 1, 2))
    step = Decimal(1).scaleb(-places)
    value = low + step * rng.randint(1 if fact.exclusive_minimum else 0, int((high - low) / step))
    return to_number(value)


def _mass(kb: Kb, rng: random.Random, fact: FactDef, drawn: dict, boundary: dict[str, list]) -> str:
    """A dose as written, in a random mass unit; half the time the daily dose it makes is a boundary value."""
    mg: Decimal | None = None
    per_day = _doses_per_day(kb, drawn)
    products = [p for p in kb.facts.values() if fact.name in p.product_of]
    if per_day and products and rng.random() < 0.5:
        targets = boundary[products[0].name]
        if targets:
            mg = Decimal(str(rng.choice(targets))) / per_day
            if mg != mg.quantize(Decimal("0.001")) or not _fits(fact, mg):
                mg = None
    if mg is None:
        mg = Decimal(str(_number(rng, fact, boundary[fact.name])))
    unit = rng.choice(sorted(kb.mass_units))
    amount = (mg / Decimal(str(kb.mass_units[unit]))).normalize()
    return f"{amount:f}{rng.choice(('', ' '))}{_spelled(rng, unit)}"


def _doses_per_day(kb: Kb, drawn: dict) -> int | None:
    for fact in kb.facts.values():
        if fact.parse == "frequency" and fact.name in drawn:
            notation = str(drawn[fact.name]).lower()
            return kb.frequencies.get(notation)
    return None


def _fits(fact: FactDef, value: Decimal) -> bool:
    low = fact.minimum is None or (value > Decimal(str(fact.minimum)) if fact.exclusive_minimum
                                   else value >= Decimal(str(fact.minimum)))
    return low and (fact.maximum is None or value <= Decimal(str(fact.maximum)))


def _spelled(rng: random.Random, word: str) -> str:
    """A word as a person may write it: as it is, capitalised, or in capitals (ASCII words only: the
    capital of the micro sign in µg lower-cases to a Greek mu, another letter)."""
    if not word.isascii():
        return word
    return rng.choice((word, word, word.capitalize(), word.upper()))
