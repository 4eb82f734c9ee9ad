"""The validated, immutable form of a knowledge base. A Kb that exists has passed every load check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from clonus.engine.knowledge.conditions import Atom, Node, Value

FACT_TYPES = ("number", "boolean", "enum", "words", "text")
FACT_ORIGINS = ("input", "derived")
STATUSES = ("draft", "reviewed", "approved")
SEVERITIES = ("info", "warning", "critical")
GRADES = ("A", "A(copy)", "B", "C", "C/B")

# A rule's dose plan: its parameters and their types, the facts it is computed from, the slots it fills
# in code texts, and the limits a precaution may set on it.
DOSE_PLAN_KEYS = {"drug": str, "daily_dose_fact": str, "doses_per_day_fact": str, "step_min_mg": float,
                  "step_max_mg": float, "ceiling_daily_mg": float, "max_single_dose_mg": float,
                  "divided_doses": list, "dose_steps_mg": list}
DOSE_PLAN_FACT_KEYS = ("daily_dose_fact", "doses_per_day_fact")
DOSE_PLAN_SLOTS = frozenset({"current_daily_mg", "next_min_mg", "next_max_mg", "next_range_mg", "ceiling_daily_mg",
                             "regimen"})
DOSE_LIMIT_KEYS = ("step_max_mg",)


@dataclass(frozen=True)
class FactDef:
    """One fact a rule may read: from the case (input) or asserted by rules (derived)."""

    name: str
    type: str
    origin: str
    label: str
    description: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    values: tuple[str, ...] = ()
    case_field: str | None = None
    parse: str | None = None
    product_of: tuple[str, ...] = ()
    default: Value = None
    needed_for_dosing: bool = False
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class CodeDef:
    """A recommendation code, its category, severity and clinician-facing text (with {param} slots)."""

    code: str
    category: str
    severity: str
    text: str
    title: str
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class SourceDef:
    id: str
    title: str
    publisher: str
    year: int | None
    url: str
    grade: str
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Recommend:
    """A recommendation a rule makes; `params` fill the code text and, for dose plans, the arithmetic."""

    code: str
    params: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    status: str
    version: int
    rationale: str
    sources: tuple[str, ...]
    when: Node
    alternatives: tuple[tuple[Atom, ...], ...]
    asserts: tuple[tuple[str, Value], ...]
    recommends: tuple[Recommend, ...]
    dose_plan: Mapping[str, Value] | None
    dose_limits: Mapping[str, Value]
    last_reviewed: str | None
    review_by: str | None
    file: str
    line: int
    condition_lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def reads(self) -> tuple[str, ...]:
        """Facts this rule reads, in order of first appearance."""
        return tuple(dict.fromkeys(a.fact for alt in self.alternatives for a in alt))


@dataclass(frozen=True)
class RuleTest:
    """A rule test case: a case, the codes that must appear and the codes that must not."""

    name: str
    case: Mapping
    expect: tuple[str, ...]
    forbid: tuple[str, ...]
    todo: bool
    file: str
    line: int


@dataclass(frozen=True)
class Section:
    """One section of the teaching pictures (teaching.yaml): a page of the deck, and how the overview
    draws it: `shown` (a box per place), `grouped` (one node listing its rules) or `omitted`."""

    title: str
    categories: tuple[str, ...]
    overview: str = "shown"


@dataclass(frozen=True)
class Teaching:
    """How teaching pictures present the KB: presentation only, no rule reads it. `questions` are the
    facts the overview asks about (None: every decision of the flow)."""

    sections: tuple[Section, ...]
    questions: tuple[str, ...] | None = None

    def section_of(self, category: str) -> Section:
        return next(s for s in self.sections if category in s.categories)


@dataclass(frozen=True)
class Kb:
    name: str
    version: str
    description: str
    root: str
    facts: Mapping[str, FactDef]
    codes: Mapping[str, CodeDef]
    categories: tuple[str, ...]
    sources: Mapping[str, SourceDef]
    rules: tuple[Rule, ...]
    tests: tuple[RuleTest, ...]
    exclusions: tuple[tuple[str, str], ...]
    frequencies: Mapping[str, int]
    mass_units: Mapping[str, float]
    disclaimer: str
    digest: str
    safety_limits: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    synonyms: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    # lint's gap search: cases matching gap_population must get a code of gap_categories (none: no check)
    gap_population: tuple[Atom, ...] = ()
    gap_categories: tuple[str, ...] = ()
    # teaching.yaml (or one section per category when the KB has none); never part of the digest
    teaching: Teaching = field(default_factory=lambda: Teaching(()))

    def rule(self, rule_id: str) -> Rule:
        try:
            return self._rules_by_id[rule_id]
        except KeyError:
            raise KeyError(rule_id) from None

    @cached_property
    def _rules_by_id(self) -> Mapping[str, Rule]:
        """Rule id -> rule (the first, as ids are unique in a loaded KB); rule() is called per firing."""
        index: dict[str, Rule] = {}
        for rule in self.rules:
            index.setdefault(rule.id, rule)
        return MappingProxyType(index)

    @cached_property
    def case_fields(self) -> Mapping[str, FactDef]:
        """Case field path (patient.age) -> the input fact it feeds; intake reads it for every case."""
        return MappingProxyType({f.case_field: f for f in self.facts.values()
                                 if f.origin == "input" and f.case_field})

    @cached_property
    def case_sections(self) -> tuple[str, ...]:
        """The case file's sections (patient, medication, response), sorted."""
        return tuple(sorted({path.split(".")[0] for path in self.case_fields}))

    def input_facts(self) -> list[FactDef]:
        return [f for f in self.facts.values() if f.origin == "input"]
