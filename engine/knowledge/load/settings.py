"""kb.yaml: the KB's identity and the settings that are not rules (exclusions, safety limits, gap check)."""

from __future__ import annotations

from clonus.engine.knowledge import conditions as cond
from clonus.engine.suggest import did_you_mean

from .common import is_number, unknown_keys
from .rules import check_atom
from .yamlsource import LineDict, LineList

KB_KEYS = ("name", "version", "description", "disclaimer", "exclusions", "safety_limits", "gap_check")


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
