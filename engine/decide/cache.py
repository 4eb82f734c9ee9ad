"""The exact decision cache: which rules fired, in which order, for each cell of the KB's thresholds.

A case's evaluation depends only on the truth of the atoms the rules test on its normalised input facts
(`age >= 18`, `daily_dose_mg < 80`, `missing egfr`...), when the plan passes a static check
(`cacheability`): every condition compares one input fact with a constant (parameters are bound at load),
every rule asserts constants, and nothing the engine reads comes from anywhere else. Facts computed at
intake from other facts (`daily_dose_mg` = dose x doses a day, the classes of the other medications) are
normalised input facts like any other: the key holds the truth of their own atoms, which is all the
engine sees of them. Derived facts are asserted constants, so they follow from the firings.

The key is the KB digest, the profile, the engine and the draft switch, then one truth value per atom
(`True`, `False`, or `None` for a comparison on a fact the case lacks, so `>` and `>=` stay apart and
missing is its own state). The cache stores the firings without their values: rule, alternative, the
facts matched and the derived facts asserted. A hit rebuilds each firing's matched values from the case
itself, and the Advisor then computes everything numeric (dose plan, texts, reasons) from that patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clonus.engine.decide.backend import Engine, Evaluation, Firing
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.errors import UsageError
from clonus.engine.knowledge.conditions import Atom, holds

MAX_CELLS = 100_000          # past this many cells the cache stops learning (memory stays bounded)
MAX_VALUES_PER_FACT = 4_096  # distinct values of one fact whose atom truths are remembered

Key = tuple[Any, ...]
# a firing without its values: rule, alternative, the facts it matched (sorted), what it asserted
Skeleton = tuple[str, int, tuple[str, ...], tuple[tuple[str, Any], ...]]


@dataclass(frozen=True)
class Cacheability:
    """Whether a plan's evaluations depend only on its atoms' truth (`reasons` says why not), and how."""

    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    atoms: int
    facts: int

    @property
    def cacheable(self) -> bool:
        return not self.reasons

    def summary(self) -> str:
        if not self.cacheable:
            return "decision cache: off: " + "; ".join(self.reasons)
        return (f"decision cache: exact: {self.atoms} atoms over {self.facts} input facts key a case; "
                + "; ".join(self.notes))


def _constant(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_constant(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def cacheability(plan: EvaluationPlan) -> Cacheability:
    """The static check of a plan: every condition one input or derived fact against a constant, every
    assertion a constant, the dose plan read from input facts only (and recomputed per patient)."""
    kb = plan.kb
    reasons: list[str] = []
    for rule in plan.rules:
        for alternative in rule.alternatives:
            for atom in alternative:
                fact = kb.facts.get(atom.fact)
                if fact is None or fact.origin not in ("input", "derived"):
                    reasons.append(f"rule {rule.id} tests {atom.fact}, which is neither an input nor a derived fact")
                elif not _constant(atom.value):
                    reasons.append(f"rule {rule.id}: '{atom}' compares {atom.fact} with something not a constant")
        for fact_name, value in rule.asserts:
            if not _constant(value):
                reasons.append(f"rule {rule.id} asserts {fact_name} = {value!r}, not a constant")
        if rule.dose_plan:
            for key in ("daily_dose_fact", "doses_per_day_fact"):
                name = str(rule.dose_plan.get(key))
                if name in kb.facts and kb.facts[name].origin != "input":
                    reasons.append(f"rule {rule.id} plans a dose from {name}, which is not an input fact")
    inputs = _atoms_by_fact(plan)
    notes = []
    computed = [f for f in inputs if kb.facts[f].product_of or kb.facts[f].classes_of]
    for name in computed:
        fact = kb.facts[name]
        parts = " x ".join(fact.product_of) if fact.product_of else f"the classes of {fact.classes_of}"
        notes.append(f"{name} is computed at intake ({parts}) and keyed on its own {len(inputs[name])} atoms")
    notes.append("derived facts are asserted constants, so they follow from the firings; the dose plan and "
                 "every number in the texts are recomputed for each patient")
    return Cacheability(tuple(dict.fromkeys(reasons)), tuple(notes), sum(len(a) for a in inputs.values()),
                        len(inputs))


def _atoms_by_fact(plan: EvaluationPlan) -> dict[str, tuple[Atom, ...]]:
    """Each input fact the rules test, in a fixed order, with the distinct atoms on it."""
    found: dict[str, dict[Atom, None]] = {}
    for rule in plan.rules:
        for alternative in rule.alternatives:
            for atom in alternative:
                if plan.kb.facts[atom.fact].origin == "input":
                    found.setdefault(atom.fact, {})[atom] = None
    return {name: tuple(found[name]) for name in sorted(found)}


class CellKeys:
    """The cell of a case: one truth value per atom the rules test on an input fact, fact by fact; the
    truths of a value already seen are remembered (doses and frequencies repeat across a cohort)."""

    def __init__(self, plan: EvaluationPlan, engine: str):
        kb = plan.kb
        self.prefix: Key = (kb.digest, kb.profile.name, engine, plan.include_draft)
        self.atoms = _atoms_by_fact(plan)
        self._facts = tuple(self.atoms.items())
        self._missing = {name: tuple(holds(a, None, False) for a in atoms) for name, atoms in self._facts}
        self._seen: dict[str, dict[Any, tuple]] = {name: {} for name in self.atoms}

    def key(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Key:
        parts: list[Any] = []
        for name, atoms in self._facts:
            if name in absent or name not in facts:
                parts.append(self._missing[name])
                continue
            value = facts[name]
            seen = self._seen[name]
            truths = seen.get(value)
            if truths is None:
                truths = tuple(holds(a, value, True) for a in atoms)
                if len(seen) < MAX_VALUES_PER_FACT:
                    seen[value] = truths
            parts.append(truths)
        return (*self.prefix, *parts)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    verified: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def lookups(self) -> int:
        return self.hits + self.misses


class CachedEngine:
    """An engine (already in canonical order) behind the exact cache: a hit rebuilds the evaluation from
    the cell's firings and the case's own values; `verify` is the share of hits evaluated again by the
    engine and compared (every difference is recorded in stats.mismatches and the engine's answer used)."""

    def __init__(self, engine: Engine, plan: EvaluationPlan, engine_name: str, verify: float = 0.0):
        self.raw = engine
        self.plan = plan
        self.keys = CellKeys(plan, engine_name)
        self.verify = verify
        self.stats = CacheStats()
        self.cells: dict[Key, tuple[tuple[Skeleton, ...], tuple[tuple[str, Any], ...]]] = {}
        self._derived = frozenset(n for n, f in plan.kb.facts.items() if f.origin == "derived")
        self._verify_debt = 0.0

    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        key = self.keys.key(facts, absent)
        cell = self.cells.get(key)
        if cell is None:
            self.stats.misses += 1
            evaluation = self.raw.evaluate(facts, absent)
            if len(self.cells) < MAX_CELLS:
                self.cells[key] = self._skeleton(evaluation)
            return evaluation
        self.stats.hits += 1
        evaluation = self._rebuild(cell, facts, absent)
        if self.verify > 0 and self._due():
            return self._checked(evaluation, facts, absent)
        return evaluation

    def learn(self, key: Key, cell: tuple[tuple[Skeleton, ...], tuple[tuple[str, Any], ...]]) -> None:
        """Take a cell another engine evaluated (batch workers share what they learn)."""
        if len(self.cells) < MAX_CELLS:
            self.cells.setdefault(key, cell)

    def _due(self) -> bool:
        """Deterministic sampling: `verify` of the hits, spread evenly (1.0: every hit)."""
        self._verify_debt += self.verify
        if self._verify_debt >= 1.0:
            self._verify_debt -= 1.0
            return True
        return False

    def _checked(self, evaluation: Evaluation, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        truth = self.raw.evaluate(facts, absent)
        self.stats.verified += 1
        if truth != evaluation:
            self.stats.mismatches.append(
                f"cache mismatch: engine fired {[f.rule for f in truth.firings]}, the cache "
                f"{[f.rule for f in evaluation.firings]} for facts {dict(facts)}")
        return truth

    @staticmethod
    def _skeleton(evaluation: Evaluation) -> tuple[tuple[Skeleton, ...], tuple[tuple[str, Any], ...]]:
        firings = tuple((f.rule, f.alternative, tuple(fact for fact, _ in f.matched), f.asserted)
                        for f in evaluation.firings)
        return firings, tuple(sorted(evaluation.derived.items()))

    def _rebuild(self, cell, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation:
        skeletons, derived_items = cell
        derived = dict(derived_items)
        derived_facts = self._derived
        firings = []
        for rule, alternative, names, asserted in skeletons:
            matched = tuple(
                (name, derived.get(name, False) if name in derived_facts else
                 (None if name in absent else facts.get(name)))
                for name in names)
            firings.append(Firing(rule, alternative, matched, asserted))
        return Evaluation(tuple(firings), derived)

    def close(self) -> None:
        self.raw.close()


def with_cache(engine: Engine, plan: EvaluationPlan, engine_name: str, enabled: bool = True,
               verify: float = 0.0) -> Engine:
    """The engine behind the exact cache where the static check proves the plan cacheable; else as it is."""
    if not enabled or not cacheability(plan).cacheable:
        return engine
    if not 0.0 <= verify <= 1.0:
        raise UsageError(f"--verify-cache: {verify} is not a share of the hits; expected 0 to 1")
    return CachedEngine(engine, plan, engine_name, verify)
