"""kb.yaml: the KB's identity and the settings that are not rules (named dose plans, precedence between
recommendations, the gap check and the vocabulary; the parameters are read by profiles.py)."""

from __future__ import annotations

from types import MappingProxyType

from clonus.engine.errors import shown
from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.model import FactDef, Precedence, Vocabulary
from clonus.engine.knowledge.wording import SLOT_RE
from clonus.engine.suggest import did_you_mean

from .common import Collector, unknown_keys
from .rules import check_atom
from .yamlsource import LineDict, LineList

KB_KEYS = ("name", "version", "description", "disclaimer", "default_profile", "parameters", "dose_plans",
           "precedence", "gap_check", "vocabulary")
VOCABULARY_KEYS = ("scope_category", "escalation_category", "sections", "case_line")


def load_precedence(meta, file: str, codes: dict, out: Collector) -> Precedence:
    """kb.yaml `precedence`: `suppresses` and `outranks`, each code -> the codes it acts on; no cycles."""
    node = meta.get("precedence")
    if node is None:
        return Precedence()
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("precedence"), None, "precedence", "maps suppresses and outranks")
        return Precedence()
    unknown_keys(node, ("suppresses", "outranks"), file, None, out, "precedence.")
    relations: dict[str, dict[str, tuple[str, ...]]] = {}
    lines: dict[str, int] = {}
    edge_lines: dict[tuple[str, str], int] = {}  # (code, code it acts on) -> the line that says so
    for kind in ("suppresses", "outranks"):
        relation = node.get(kind) or LineDict()
        relations[kind] = {}
        if not isinstance(relation, LineDict):
            out.add(file, node.line_of(kind), None, f"precedence.{kind}", "maps a code to the list of codes it acts on")
            continue
        for code, others in relation.items():
            at = relation.line_of(code)
            lines.setdefault(str(code), at)
            listed = others if isinstance(others, list) else [others]
            for name in [code, *listed]:
                if not isinstance(name, str) or name not in codes:  # a list or a mapping is no code either
                    out.add(file, at, None, f"precedence.{kind}",
                            f"unknown code {shown(name)}{did_you_mean(name, codes)}")
            if code in listed:
                out.add(file, at, None, f"precedence.{kind}", f"{shown(code)} acts on itself")
            relations[kind][str(code)] = tuple(str(c) for c in listed)
            for other in listed:
                edge_lines.setdefault((str(code), str(other)), at)
    _acyclic(relations, file, edge_lines, node.line, out)
    return Precedence(MappingProxyType(relations["suppresses"]), MappingProxyType(relations["outranks"]),
                      MappingProxyType(lines))


def _acyclic(relations: dict[str, dict[str, tuple[str, ...]]], file: str, edge_lines: dict[tuple[str, str], int],
             line: int, out: Collector) -> None:
    """A code may not (through suppressing or outranking others) come back to act on itself. One cycle is
    reported per tangle of codes, at the line of the link that closes it (acting on itself is its own
    problem)."""
    edges: dict[str, set[str]] = {}
    for relation in relations.values():
        for code, others in relation.items():
            edges.setdefault(code, set()).update(o for o in others if o != code)
    state: dict[str, int] = {}
    reported: set[str] = set()

    def visit(code: str, path: list[str]) -> None:
        state[code] = 1
        for nxt in sorted(edges.get(code, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                if not reported & set(cycle):
                    reported.update(cycle)
                    out.add(file, edge_lines.get((code, nxt), line), None, "precedence",
                            f"a cycle: {' -> '.join(cycle)}")
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[code] = 2

    for code in sorted(edges):
        if code not in state:
            visit(code, [code])


def load_dose_plans(meta, file: str, params: dict, out: Collector) -> dict[str, dict]:
    """kb.yaml `dose_plans`: named dose plans that rules refer to by name (`dose_plan: oral_baclofen`)."""
    from .rules import load_dose_plan

    node = meta.get("dose_plans") or LineDict()
    plans: dict[str, dict] = {}
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("dose_plans"), None, "dose_plans", "maps a name to a dose plan")
        return plans
    for name, spec in node.items():
        plan = load_dose_plan(spec, file, node.line_of(name), f"dose_plans.{name}", params, out)
        if plan is not None:
            plans[str(name)] = plan
    return plans


def load_gap_check(meta, file, facts, categories, out, params=None) -> tuple[tuple[cond.Atom, ...], tuple[str, ...]]:
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
                atom = cond.parse_atom(text, params)
            except cond.ConditionSyntaxError as exc:
                out.add(file, population.line_of(i), None, "gap_check.population", str(exc))
                continue
            if atom.fact in facts and facts[atom.fact].origin != "input":
                out.add(file, population.line_of(i), None, "gap_check.population",
                        f"{shown(atom.fact)} is derived; the population is written in input facts")
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
                    f"unknown category {shown(category)}{did_you_mean(category, categories)}")
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
                    f"{shown(value)} is not a category of codes.yaml{did_you_mean(value, categories)}; "
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
                        f"unknown category {shown(category)}{did_you_mean(category, categories)}")
            elif category in placed:
                out.add(file, items.line_of(i), None, "vocabulary.sections", f"{shown(category)} is in two sections")
            placed.append(category)
        sections.append((title, tuple(str(c) for c in cats)))
    for category in categories:
        if category not in placed:
            out.add(file, node.line_of("sections"), None, "vocabulary.sections",
                    f"category {shown(category)} is in no section: its recommendations would not be shown")
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
            out.add(file, items.line_of(i), None, "vocabulary.case_line", f"{shown(text)} names no {{fact}}")
        for slot in slots:
            if slot not in facts:
                out.add(file, items.line_of(i), None, "vocabulary.case_line",
                        f"unknown fact {shown(slot)}{did_you_mean(slot, facts)}")
    return tuple(str(t) for t in items)
