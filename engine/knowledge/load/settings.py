"""kb.yaml: the KB's identity and the settings that are not rules (exclusions, safety limits, gap check)."""

from __future__ import annotations

from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.model import FactDef, Vocabulary
from clonus.engine.knowledge.wording import SLOT_RE
from clonus.engine.suggest import did_you_mean

from .common import Collector, is_number, unknown_keys
from .rules import check_atom
from .yamlsource import LineDict, LineList

KB_KEYS = ("name", "version", "description", "disclaimer", "exclusions", "safety_limits", "gap_check",
           "vocabulary")
VOCABULARY_KEYS = ("scope_category", "escalation_category", "sections", "case_line")


def load_exclusions(meta, file, codes, out) -> list[tuple[str, str]]:
    pairs = []
    items = meta.get("exclusions") or LineList()
    if not isinstance(items, LineList):
        out.add(file, meta.line_of("exclusions"), None, "exclusions", "is a list of pairs [code, code]")
        items = LineList()
    for i, pair in enumerate(items):
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(c, str) for c in pair):
            out.add(file, items.line_of(i), None, "exclusions", "each exclusion is a pair [code, code]")
            continue
        for code in pair:
            if code not in codes:
                out.add(file, items.line_of(i), None, "exclusions", f"unknown code {code!r}{did_you_mean(code, codes)}")
        pairs.append((pair[0], pair[1]))
    return pairs


def load_safety_limits(meta, file, out) -> dict[str, float]:
    limits: dict[str, float] = {}
    node = meta.get("safety_limits") or LineDict()
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("safety_limits"), None, "safety_limits", "maps a drug to {max_daily_mg: N}")
        return limits
    for drug, spec in node.items():
        value = spec.get("max_daily_mg") if isinstance(spec, dict) else None
        if not is_number(value) or value <= 0:
            out.add(file, node.line_of(drug), None, f"safety_limits.{drug}", "needs max_daily_mg, a positive number")
            continue
        limits[str(drug)] = value
    return limits


def load_gap_check(meta, file, facts, categories, out) -> tuple[tuple[cond.Atom, ...], tuple[str, ...]]:
    """kb.yaml `gap_check`: the population lint's gap search covers and the categories that answer it."""
    node = meta.get("gap_check")
    if node is None:
        return (), ()
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("gap_check"), None, "gap_check", "maps population and next_step_categories")
        return (), ()
    unknown_keys(node, ("population", "next_step_categories"), file, None, out, "gap_check.")
    population, wanted = node.get("population"), node.get("next_step_categories")
    atoms: list[cond.Atom] = []
    if not isinstance(population, LineList) or not population:
        out.add(file, node.line_of("population"), None, "gap_check.population", "a list of conditions on input facts")
    else:
        for i, text in enumerate(population):
            try:
                atom = cond.parse_atom(text)
            except cond.ConditionSyntaxError as exc:
                out.add(file, population.line_of(i), None, "gap_check.population", str(exc))
                continue
            if atom.fact in facts and facts[atom.fact].origin != "input":
                out.add(file, population.line_of(i), None, "gap_check.population",
                        f"{atom.fact!r} is derived; the population is written in input facts")
                continue
            check_atom(atom, facts, file, population.line_of(i), None, out)
            atoms.append(atom)
    if not isinstance(wanted, LineList) or not wanted:
        out.add(file, node.line_of("next_step_categories"), None, "gap_check.next_step_categories",
                "a list of code categories")
        return tuple(atoms), ()
    for i, category in enumerate(wanted):
        if category not in categories:
            out.add(file, wanted.line_of(i), None, "gap_check.next_step_categories",
                    f"unknown category {category!r}{did_you_mean(category, categories)}")
    return tuple(atoms), tuple(str(c) for c in wanted)


def load_vocabulary(meta, file: str, facts: dict[str, FactDef], categories: list[str],
                    out: Collector) -> Vocabulary:
    """kb.yaml `vocabulary`: required, since the safety checks and the text read their roles from it."""
    node = meta.get("vocabulary")
    empty = Vocabulary("", "", (), ())
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("vocabulary") if node is not None else meta.line, None, "vocabulary",
                "is required: a mapping of " + ", ".join(VOCABULARY_KEYS))
        return empty
    unknown_keys(node, VOCABULARY_KEYS, file, None, out, "vocabulary.")
    roles = {}
    for key in ("scope_category", "escalation_category"):
        value = node.get(key)
        if value not in categories:
            out.add(file, node.line_of(key), None, f"vocabulary.{key}",
                    f"{value!r} is not a category of codes.yaml{did_you_mean(value, categories)}; "
                    f"categories: {', '.join(categories)}")
        roles[key] = str(value)
    sections = _sections(node, file, categories, out)
    case_line = _case_line(node, file, facts, out)
    return Vocabulary(roles["scope_category"], roles["escalation_category"], sections, case_line)


def _sections(node: LineDict, file: str, categories: list[str], out: Collector) -> tuple:
    items = node.get("sections")
    if not isinstance(items, LineList) or not items:
        out.add(file, node.line_of("sections"), None, "vocabulary.sections",
                "a list of {title, categories}, in reading order (the first is the next step)")
        return ()
    sections, placed = [], []
    for i, item in enumerate(items):
        title, cats = (item.get("title"), item.get("categories")) if isinstance(item, LineDict) else (None, None)
        if not isinstance(title, str) or not isinstance(cats, list) or not cats:
            out.add(file, items.line_of(i), None, "vocabulary.sections", "each section has a title and categories")
            continue
        for category in cats:
            if category not in categories:
                out.add(file, items.line_of(i), None, "vocabulary.sections",
                        f"unknown category {category!r}{did_you_mean(category, categories)}")
            elif category in placed:
                out.add(file, items.line_of(i), None, "vocabulary.sections", f"{category!r} is in two sections")
            placed.append(category)
        sections.append((title, tuple(str(c) for c in cats)))
    for category in categories:
        if category not in placed:
            out.add(file, node.line_of("sections"), None, "vocabulary.sections",
                    f"category {category!r} is in no section: its recommendations would not be shown")
    return tuple(sections)


def _case_line(node: LineDict, file: str, facts: dict[str, FactDef], out: Collector) -> tuple[str, ...]:
    items = node.get("case_line")
    if not isinstance(items, LineList) or not items:
        out.add(file, node.line_of("case_line"), None, "vocabulary.case_line",
                "a list of short templates with {fact} slots, like '{age} y'")
        return ()
    for i, text in enumerate(items):
        slots = SLOT_RE.findall(text) if isinstance(text, str) else []
        if not slots:
            out.add(file, items.line_of(i), None, "vocabulary.case_line", f"{text!r} names no {{fact}}")
        for slot in slots:
            if slot not in facts:
                out.add(file, items.line_of(i), None, "vocabulary.case_line",
                        f"unknown fact {slot!r}{did_you_mean(slot, facts)}")
    return tuple(str(t) for t in items)
