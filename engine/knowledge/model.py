"""The validated, immutable form of a knowledge base. A Kb that exists has passed every load check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from clonus.engine.knowledge.conditions import Atom, Node, Value

if TYPE_CHECKING:  # built only where a KB has fhir.yaml and the FHIR path reads it (knowledge/fhirmap.py)
    from clonus.engine.knowledge.fhirmap import FhirMapping

FACT_TYPES = ("number", "boolean", "enum", "words", "text")
FACT_ORIGINS = ("input", "derived")
STATUSES = ("draft", "reviewed", "approved")
SEVERITIES = ("info", "warning", "critical")
GRADES = ("A", "A(copy)", "B", "C", "C/B")

# A rule's dose plan: its parameters and their types, the facts it is computed from, the slots it fills
# in code texts, and the limits a precaution may set on it (the plan takes the tightest of each).
DOSE_PLAN_KEYS = {"drug": str, "daily_dose_fact": str, "doses_per_day_fact": str, "step_min_mg": float,
                  "step_max_mg": float, "ceiling_daily_mg": float, "max_single_dose_mg": float,
                  "divided_doses": list, "dose_steps_mg": list, "interval_min_h": float, "interval_max_h": float}
DOSE_PLAN_FACT_KEYS = ("daily_dose_fact", "doses_per_day_fact")
DOSE_PLAN_SLOTS = frozenset({"current_daily_mg", "next_min_mg", "next_max_mg", "next_range_mg", "ceiling_daily_mg",
                             "regimen", "step_range_mg", "interval_range_h", "single_dose_max_mg", "doses_change"})
# limit -> whether the tightest is the smallest ("min") or the largest ("max") of the values set
DOSE_LIMIT_KEYS = {"ceiling_daily_mg": "min", "step_max_mg": "min", "max_single_dose_mg": "min",
                   "min_interval_h": "max"}


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
    vocabulary: str | None = None       # medications | conditions: text read through that vocabulary
    strict: bool = False                # with a vocabulary: a word it does not know is refused
    classes_of: str | None = None       # the classes (medications.yaml) of the medications this fact names
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Medication:
    """One ingredient of kb/medications.yaml: its codes, the names it is written as, its classes."""

    name: str
    rxnorm: str | None
    products: Mapping[str, str]
    names: tuple[str, ...]
    misspellings: tuple[str, ...]
    classes: tuple[str, ...]


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
    """A recommendation a rule makes; `params` fill the code text; `severity` raises the code's own for
    this rule (the standing counselling becomes critical when the case shows withdrawal)."""

    code: str
    params: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))
    severity: str | None = None


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
    """A rule test case: a case, the codes that must appear and the codes that must not, the code that must
    come first, the rules that must fire (by id, as semgrep's ruleid:), and the profile it runs under (the
    KB's default when None)."""

    name: str
    case: Mapping
    expect: tuple[str, ...]
    forbid: tuple[str, ...]
    todo: bool
    file: str
    line: int
    fires: tuple[str, ...] = ()
    profile: str | None = None
    first: str | None = None      # the code the answer must lead with (the decisive action)


@dataclass(frozen=True)
class Profile:
    """A jurisdiction's named parameters (kb/profiles/<name>.yaml) over the KB's shared ones (kb.yaml
    `parameters`): rules, dose plans, code texts and the invariants read them as $name or {name}."""

    name: str
    title: str
    parameters: Mapping[str, Value]
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Precedence:
    """kb.yaml `precedence`: a recommendation that suppresses others removes them from the answer; one that
    outranks others comes before them. Acyclic (checked at load)."""

    suppresses: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    outranks: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), compare=False)  # kb.yaml

    @cached_property
    def outranked(self) -> Mapping[str, frozenset[str]]:
        """Code -> every code it comes before, directly or through others (what it suppresses included)."""
        direct: dict[str, set[str]] = {}
        for relation in (self.outranks, self.suppresses):
            for code, others in relation.items():
                direct.setdefault(code, set()).update(others)
        out: dict[str, frozenset[str]] = {}
        for code in direct:
            seen: set[str] = set()
            todo = list(direct[code])
            while todo:
                nxt = todo.pop()
                if nxt not in seen:
                    seen.add(nxt)
                    todo.extend(direct.get(nxt, ()))
            out[code] = frozenset(seen)
        return MappingProxyType(out)


@dataclass(frozen=True)
class Required:
    """Codes every answer must hold when its conditions hold (the standing warnings)."""

    when: tuple[Atom, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Invariants:
    """The safety section (kb/invariants.yaml, bound to the profile): what every answer is checked against
    apart from the rules. `canonical` is its content as plain data, `digest` its sha256."""

    adult_fact: str
    adult_age: float
    drug_fact: str
    max_daily_mg: Mapping[str, float]            # drug -> the label maximum no dose plan may exceed
    required: tuple[Required, ...]
    exclusions: tuple[tuple[str, str], ...]
    canonical: Mapping[str, Any]
    digest: str


@dataclass(frozen=True)
class Vocabulary:
    """The roles the KB gives its categories and facts (kb.yaml `vocabulary`), which Python only reads:
    the category that refuses dosing advice (scope), the one that raises the dose (escalation), the text
    sections in reading order (the first is the next step, the decisive action) and the case line."""

    scope_category: str
    escalation_category: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]   # (title, categories), every category once
    case_line: tuple[str, ...]                          # templates with {fact} slots

    @property
    def next_step_categories(self) -> tuple[str, ...]:
        return self.sections[0][1]


@dataclass(frozen=True)
class Section:
    """One section of the teaching pictures (teaching.yaml): a page of the deck, and how the overview
    draws it: `shown` (a box per place), `grouped` (one node listing its rules) or `omitted`. A rule is
    in the section that lists its first recommendation's code, else in the one listing its category."""

    title: str
    categories: tuple[str, ...]
    overview: str = "shown"
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Teaching:
    """How teaching pictures present the KB: presentation only, no rule reads it. `questions` are the
    facts the overview asks about (None: every decision of the flow)."""

    sections: tuple[Section, ...]
    questions: tuple[str, ...] | None = None

    def section_of(self, category: str, code: str | None = None) -> Section:
        """The section of a recommendation: the one listing its code, else the one listing its category."""
        return next((s for s in self.sections if code in s.codes), None) or \
            next(s for s in self.sections if category in s.categories)


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
    frequencies: Mapping[str, int]
    mass_units: Mapping[str, float]
    disclaimer: str
    digest: str
    vocabulary: Vocabulary
    profile: Profile
    profiles: tuple[str, ...]
    precedence: Precedence
    invariants: Invariants
    medications: Mapping[str, Medication]
    conditions: Mapping[str, tuple[str, ...]]          # canonical condition -> the names it is written as
    noise_words: frozenset[str]                         # salts, forms, routes: dropped from medication text
    synonyms: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    # lint's gap search: cases matching gap_population must get a code of gap_categories (none: no check)
    gap_population: tuple[Atom, ...] = ()
    gap_categories: tuple[str, ...] = ()
    # teaching.yaml (or one section per category when the KB has none); never part of the digest
    teaching: Teaching = field(default_factory=lambda: Teaching(()))
    # fhir.yaml (how FHIR resources become facts): optional, and read only on the FHIR path (load_kb's
    # `fhir`); None when the KB has no such file or it was left unread
    fhir: FhirMapping | None = None

    @property
    def exclusions(self) -> tuple[tuple[str, str], ...]:
        """Codes that never appear together (part of the safety section)."""
        return self.invariants.exclusions

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
    def fact_order(self) -> Mapping[str, int]:
        """Fact name -> its place in the facts dictionary (the order dimensions and reports follow)."""
        return MappingProxyType({name: i for i, name in enumerate(self.facts)})

    @cached_property
    def product_facts(self) -> tuple[FactDef, ...]:
        """The facts that are the product of others (daily dose = dose x doses per day), in KB order."""
        return tuple(f for f in self.facts.values() if f.product_of)

    @cached_property
    def display_rank(self) -> Mapping[str, tuple[int, int, int, int]]:
        """Code -> (critical first, section, category within its section, codes.yaml order): the order the
        answer shows recommendations in when no precedence says otherwise."""
        place = {c: (i, j) for i, (_, cats) in enumerate(self.vocabulary.sections) for j, c in enumerate(cats)}
        return MappingProxyType({code: (0 if d.severity == "critical" else 1, *place[d.category], i)
                                 for i, (code, d) in enumerate(self.codes.items())})

    @cached_property
    def medication_names(self) -> Mapping[str, str]:
        """Every written name of a medication (name, brand, misspelling, RxNorm code) -> its ingredient."""
        index: dict[str, str] = {}
        for med in self.medications.values():
            for name in (med.name, *med.names, *med.misspellings):
                index.setdefault(name.replace(" ", "_").replace("-", "_"), med.name)
            for code in (med.rxnorm, *med.products):
                if code:
                    index.setdefault(code, med.name)
        return MappingProxyType(index)

    @cached_property
    def condition_names(self) -> Mapping[str, str]:
        """Every written name of a condition -> the canonical condition."""
        index: dict[str, str] = {}
        for canonical, names in self.conditions.items():
            for name in (canonical, *names):
                index.setdefault(name.replace(" ", "_").replace("-", "_"), canonical)
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

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        """The input facts' names, in the facts dictionary's order (a case's facts are kept in it)."""
        return tuple(f.name for f in self.facts.values() if f.origin == "input")

    @cached_property
    def completed_inputs(self) -> tuple[FactDef, ...]:
        """The input facts intake fills in when a case lacks them or computes from others (a default, a
        product, the classes of a medication list), in the facts dictionary's order."""
        return tuple(f for f in self.facts.values()
                     if f.origin == "input" and (f.default is not None or f.product_of or f.classes_of))
