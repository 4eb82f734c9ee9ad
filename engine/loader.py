"""Read a KB folder (YAML only, safe loader) into a validated, immutable Kb, reporting every problem."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from . import conditions as cond
from .errors import KbError, Problem
from .model import (
    FACT_ORIGINS,
    FACT_TYPES,
    GRADES,
    SEVERITIES,
    STATUSES,
    CodeDef,
    FactDef,
    Kb,
    Recommend,
    Rule,
    RuleTest,
    SourceDef,
)
from .yamlsource import LineDict, LineList, read_yaml

RULE_ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)+$")
SLOT_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
DOSE_PLAN_SLOTS = frozenset({"current_daily_mg", "next_min_mg", "next_max_mg", "next_range_mg", "ceiling_daily_mg",
                             "regimen"})
DOSE_PLAN_FACT_KEYS = ("daily_dose_fact", "doses_per_day_fact")  # the facts a dose plan is computed from
DOSE_PLAN_KEYS = {"drug": str, "daily_dose_fact": str, "doses_per_day_fact": str, "step_min_mg": float,
                  "step_max_mg": float, "ceiling_daily_mg": float, "max_single_dose_mg": float,
                  "divided_doses": list, "dose_steps_mg": list}
DOSE_LIMIT_KEYS = ("step_max_mg",)
RULE_KEYS = ("id", "title", "status", "version", "rationale", "sources", "when", "then",
             "last_reviewed", "review_by")
THEN_KEYS = ("assert", "recommend", "dose_plan", "limit_dose_plan")
KB_KEYS = ("name", "version", "description", "disclaimer", "exclusions", "safety_limits", "gap_check")
FACT_KEYS = ("type", "origin", "label", "description", "unit", "minimum", "maximum", "exclusive_minimum",
             "values", "case_field", "parse", "product_of", "default", "needed_for_dosing")
OPS_BY_TYPE = {
    "number": ("==", "!=", "<", "<=", ">", ">="),
    "boolean": ("==",),
    "enum": ("==", "!=", "in", "not in"),
    "text": ("==", "!=", "in", "not in"),
    "words": ("has", "lacks"),
}


def default_kb_dir() -> Path:
    """The KB shipped inside the package (clonus.kb)."""
    return Path(__file__).resolve().parent.parent / "kb" if _is_source_tree() else _package_kb()


def _is_source_tree() -> bool:
    return (Path(__file__).resolve().parent.parent / "kb" / "kb.yaml").is_file()


def _package_kb() -> Path:
    import clonus.kb  # the installed package data
    return Path(clonus.kb.__path__[0])


def suggest(name: object, choices) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Collector:
    """Accumulates problems for one KB load so every one is reported."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, file: str, line: int, rule: str | None, field: str | None, message: str) -> None:
        self.problems.append(Problem(file, line, rule, field, message))


def load_kb(root: Path | str | None = None) -> Kb:
    """Load and validate the KB in `root` (the shipped KB when None). Raises KbError with every problem."""
    root = Path(root) if root is not None else default_kb_dir()
    if not (root / "kb.yaml").is_file():
        raise KbError([Problem(_display(root / "kb.yaml"), 0, None, None,
                               "not a clonus KB folder: kb.yaml is missing")])
    out = _Collector()
    digest = hashlib.sha256()
    docs: dict[str, Any] = {}
    rule_files = sorted(p for p in (root / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
    test_files = sorted((root / "rules").glob("*.tests.yaml"))
    core = [root / n for n in ("kb.yaml", "facts.yaml", "codes.yaml", "sources.yaml", "notations.yaml")]
    for path in core + rule_files + test_files:
        display = _display(path)
        try:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
            docs[display] = read_yaml(path, display)
        except OSError as exc:
            out.add(display, 0, None, None, f"cannot read file: {exc}")
        except KbError as exc:
            out.problems.extend(exc.problems)
    if out.problems:
        raise KbError(out.problems)

    meta = _mapping(docs[_display(root / "kb.yaml")], _display(root / "kb.yaml"), out)
    _unknown_keys(meta, KB_KEYS, _display(root / "kb.yaml"), None, out)  # a misspelt exclusions: is not silent
    facts = _load_facts(docs[_display(root / "facts.yaml")], _display(root / "facts.yaml"), out)
    codes, categories = _load_codes(docs[_display(root / "codes.yaml")], _display(root / "codes.yaml"), out)
    sources = _load_sources(docs[_display(root / "sources.yaml")], _display(root / "sources.yaml"), out)
    frequencies, mass_units = _load_notations(docs[_display(root / "notations.yaml")],
                                              _display(root / "notations.yaml"), out)
    rules: list[Rule] = []
    for path in rule_files:
        rules.extend(_load_rules(docs[_display(path)], _display(path), facts, codes, sources, out))
    _check_rule_ids(rules, out)
    _check_cycles(rules, facts, out)
    tests: list[RuleTest] = []
    for path in test_files:
        tests.extend(_load_tests(docs[_display(path)], _display(path), codes, out))
    exclusions = _load_exclusions(meta, _display(root / "kb.yaml"), codes, out)
    limits = _load_safety_limits(meta, _display(root / "kb.yaml"), out)
    gap_population, gap_categories = _load_gap_check(meta, _display(root / "kb.yaml"), facts, categories, out)
    synonyms = _load_synonyms(docs[_display(root / "notations.yaml")], _display(root / "notations.yaml"), facts, out)
    if out.problems:
        raise KbError(out.problems)
    return Kb(
        name=str(meta.get("name", root.name)), version=str(meta.get("version", "0")),
        description=str(meta.get("description", "")), root=str(root),
        facts=MappingProxyType(facts), codes=MappingProxyType(codes), categories=tuple(categories),
        sources=MappingProxyType(sources), rules=tuple(rules), tests=tuple(tests),
        exclusions=tuple(exclusions), frequencies=MappingProxyType(frequencies),
        mass_units=MappingProxyType(mass_units), disclaimer=str(meta.get("disclaimer", "")),
        digest="sha256:" + digest.hexdigest(),
        safety_limits=MappingProxyType(limits),
        synonyms=MappingProxyType({k: MappingProxyType(v) for k, v in synonyms.items()}),
        gap_population=gap_population, gap_categories=gap_categories,
    )


def _display(path: Path) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else str(path)


def _mapping(doc: Any, file: str, out: _Collector, key: str | None = None) -> LineDict:
    node = doc.get(key) if key and isinstance(doc, dict) else doc
    if not isinstance(node, LineDict):
        line = doc.line if isinstance(doc, (LineDict, LineList)) else 1
        out.add(file, line, None, key, "expected a mapping")
        empty = LineDict()
        empty.key_lines = {}
        return empty
    return node


def _unknown_keys(node: LineDict, allowed, file: str, rule: str | None, out: _Collector, where: str = "") -> None:
    for key in node:
        if key not in allowed:
            out.add(file, node.line_of(key), rule, f"{where}{key}",
                    f"unknown field{suggest(key, allowed)}; allowed: {', '.join(allowed)}")


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load_facts(doc: Any, file: str, out: _Collector) -> dict[str, FactDef]:
    facts: dict[str, FactDef] = {}
    for name, spec in _mapping(doc, file, out, "facts").items():
        line = doc["facts"].line_of(name)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, name, "a fact is a mapping of its properties")
            continue
        _unknown_keys(spec, FACT_KEYS, file, None, out, f"{name}.")
        ftype, origin = spec.get("type"), spec.get("origin")
        if ftype not in FACT_TYPES:
            out.add(file, spec.line_of("type"), None, f"{name}.type",
                    f"{ftype!r} is not a fact type{suggest(ftype, FACT_TYPES)}; use one of {', '.join(FACT_TYPES)}")
        if origin not in FACT_ORIGINS:
            out.add(file, spec.line_of("origin"), None, f"{name}.origin", f"{origin!r} is not input or derived")
        values = spec.get("values") or []
        if not isinstance(values, list):
            out.add(file, spec.line_of("values"), None, f"{name}.values", "is a list, like [focal, generalized]")
            values = []
        elif ftype == "enum" and not values:
            out.add(file, line, None, f"{name}.values", "an enum fact lists its values")
        product_of = spec.get("product_of") or []
        if not isinstance(product_of, list):
            out.add(file, spec.line_of("product_of"), None, f"{name}.product_of", "is a list of facts")
            product_of = []
        if origin == "input" and not spec.get("case_field") and not spec.get("product_of"):
            out.add(file, line, None, name, "an input fact needs case_field (or product_of)")
        for bound in ("minimum", "maximum"):
            if bound in spec and not _is_number(spec[bound]):
                out.add(file, spec.line_of(bound), None, f"{name}.{bound}", "must be a number")
        if spec.get("parse") not in (None, "mass", "frequency"):
            out.add(file, spec.line_of("parse"), None, f"{name}.parse", "must be mass or frequency")
        default = spec.get("default")
        if isinstance(default, list):
            default = tuple(default)
        facts[name] = FactDef(
            name=name, type=str(ftype), origin=str(origin), label=str(spec.get("label", name)),
            description=str(spec.get("description", "")), unit=spec.get("unit"),
            minimum=spec.get("minimum"), maximum=spec.get("maximum"),
            exclusive_minimum=bool(spec.get("exclusive_minimum", False)), values=tuple(values),
            case_field=spec.get("case_field"), parse=spec.get("parse"),
            product_of=tuple(product_of), default=default,
            needed_for_dosing=bool(spec.get("needed_for_dosing", False)), file=file, line=line,
        )
    for fact in facts.values():
        for part in fact.product_of:
            if part not in facts:
                out.add(file, fact.line, None, f"{fact.name}.product_of",
                        f"unknown fact {part!r}{suggest(part, facts)}")
    return facts


def _load_codes(doc: Any, file: str, out: _Collector) -> tuple[dict[str, CodeDef], list[str]]:
    codes: dict[str, CodeDef] = {}
    categories = _mapping(doc, file, out, "categories")
    for category, members in categories.items():
        if not isinstance(members, LineDict):
            out.add(file, categories.line_of(category), None, category, "a category maps codes to their definitions")
            continue
        for code, spec in members.items():
            line = members.line_of(code)
            if not isinstance(spec, LineDict):
                out.add(file, line, None, code, "a code is a mapping with severity, title and text")
                continue
            _unknown_keys(spec, ("severity", "title", "text"), file, None, out, f"{code}.")
            if spec.get("severity") not in SEVERITIES:
                out.add(file, spec.line_of("severity"), None, f"{code}.severity",
                        f"{spec.get('severity')!r} is not one of {', '.join(SEVERITIES)}")
            if not spec.get("text"):
                out.add(file, line, None, f"{code}.text", "every code needs clinician-facing text")
            if code in codes:
                out.add(file, line, None, code, "duplicate code")
            codes[code] = CodeDef(code, str(category), str(spec.get("severity")), str(spec.get("text", "")),
                                  str(spec.get("title", code)), file, line)
    return codes, list(categories)


def _load_sources(doc: Any, file: str, out: _Collector) -> dict[str, SourceDef]:
    sources: dict[str, SourceDef] = {}
    for sid, spec in _mapping(doc, file, out, "sources").items():
        line = doc["sources"].line_of(sid)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, sid, "a source is a mapping")
            continue
        _unknown_keys(spec, ("title", "publisher", "year", "url", "grade"), file, None, out, f"{sid}.")
        for key in ("title", "url", "grade"):
            if not spec.get(key):
                out.add(file, line, None, f"{sid}.{key}", "is required")
        if spec.get("grade") and spec["grade"] not in GRADES:
            out.add(file, spec.line_of("grade"), None, f"{sid}.grade", f"must be one of {', '.join(GRADES)}")
        sources[str(sid)] = SourceDef(str(sid), str(spec.get("title", "")), str(spec.get("publisher", "")),
                                      spec.get("year"), str(spec.get("url", "")), str(spec.get("grade", "")),
                                      file, line)
    return sources


def _load_notations(doc: Any, file: str, out: _Collector) -> tuple[dict[str, int], dict[str, float]]:
    freqs: dict[str, int] = {}
    for spelling, per_day in _mapping(doc, file, out, "frequencies").items():
        if not isinstance(per_day, int) or isinstance(per_day, bool) or per_day < 1:
            out.add(file, doc["frequencies"].line_of(spelling), None, str(spelling),
                    "doses per day must be a whole number >= 1")
            continue
        freqs[normalise_frequency(str(spelling))] = per_day
    units: dict[str, float] = {}
    for unit, factor in _mapping(doc, file, out, "mass_units").items():
        if not _is_number(factor) or factor <= 0:
            out.add(file, doc["mass_units"].line_of(unit), None, str(unit),
                    "the factor to mg must be a positive number")
            continue
        units[str(unit).lower()] = factor
    return freqs, units


def normalise_frequency(text: str) -> str:
    """Lower-case and drop dots and white space, so 't.i.d.' == 'TID' and 'q 8 h' == 'q8h'."""
    return re.sub(r"[\s.]+", "", text.lower())


def _load_rules(doc, file, facts, codes, sources, out) -> list[Rule]:
    node = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(node, LineList):
        out.add(file, getattr(doc, "line", 1), None, "rules", "a rule file holds a list under 'rules:'")
        return []
    rules = []
    for index, spec in enumerate(node):
        line = node.line_of(index)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, None, "each rule is a mapping")
            continue
        rule = _load_rule(spec, file, line, facts, codes, sources, out)
        if rule is not None:
            rules.append(rule)
    return rules


def _load_rule(spec: LineDict, file, line, facts, codes, sources, out) -> Rule | None:
    rid = spec.get("id")
    label = str(rid) if rid else f"(rule at line {line})"
    before = len(out.problems)

    def bad(key: str, message: str, at: int | None = None) -> None:
        out.add(file, at or spec.line_of(key), label, key, message)

    _unknown_keys(spec, RULE_KEYS, file, label, out)
    if not isinstance(rid, str) or not RULE_ID_RE.match(rid):
        bad("id", f"{rid!r} is not a dotted lower-case id like 'baclofen.escalate.below-max'")
    for key in ("title", "rationale"):
        text = spec.get(key)
        if not isinstance(text, str) or not text.strip():
            bad(key, "is required (a non-empty text)")
    status = spec.get("status")
    if status not in STATUSES:
        bad("status", f"{status!r} is not one of {', '.join(STATUSES)}{suggest(status, STATUSES)}")
    version = spec.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        bad("version", "must be a whole number >= 1")
    for key in ("last_reviewed", "review_by"):
        if key in spec and not isinstance(spec[key], date) and not _iso_date(spec[key]):
            bad(key, f"{spec[key]!r} is not a date like 2026-11-25")
    rule_sources = spec.get("sources")
    if not isinstance(rule_sources, LineList) or not rule_sources:
        bad("sources", "cite at least one source id")
        rule_sources = LineList()
    for i, sid in enumerate(rule_sources):
        if sid not in sources:
            bad("sources", f"unknown source {sid!r}{suggest(sid, sources)}", rule_sources.line_of(i))
    when, alternatives, condition_lines = _load_when(spec, file, label, facts, out)
    asserts, recommends, dose_plan, limits = _load_then(spec, file, label, facts, codes, out)
    if len(out.problems) > before or not isinstance(rid, str):  # a bad id is one of those problems
        return None
    return Rule(
        id=rid, title=spec["title"].strip(), status=spec["status"], version=spec["version"],
        rationale=" ".join(spec["rationale"].split()), sources=tuple(rule_sources), when=when,
        alternatives=tuple(alternatives), asserts=tuple(asserts), recommends=tuple(recommends),
        dose_plan=MappingProxyType(dose_plan) if dose_plan is not None else None,
        dose_limits=MappingProxyType(limits), last_reviewed=_date_text(spec.get("last_reviewed")),
        review_by=_date_text(spec.get("review_by")), file=file, line=line,
        condition_lines=MappingProxyType(condition_lines),
    )


def _iso_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def _date_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _load_when(spec, file, label, facts, out):
    lines: dict[str, int] = {}

    def build(node: Any, at: int) -> cond.Node:
        if isinstance(node, LineList):
            return cond.All(tuple(build(item, node.line_of(i)) for i, item in enumerate(node)))
        if isinstance(node, LineDict):
            if len(node) != 1 or next(iter(node)) not in ("all", "any", "not"):
                raise cond.ConditionSyntaxError("a block is exactly one of 'all:', 'any:' or 'not:'")
            key, inner = next(iter(node.items()))
            at = node.line_of(key)
            if key == "not":
                return cond.Not(build(inner, at))
            if not isinstance(inner, LineList) or not inner:
                raise cond.ConditionSyntaxError(f"'{key}:' needs a non-empty list of conditions")
            items = tuple(build(item, inner.line_of(i)) for i, item in enumerate(inner))
            return cond.All(items) if key == "all" else cond.Any_(items)
        atom = cond.parse_atom(node)
        lines.setdefault(str(atom), at)
        _check_atom(atom, facts, file, at, label, out)
        return atom

    if "when" not in spec:
        out.add(file, spec.line, label, "when", "is required")
        return cond.All(()), [], lines
    try:
        tree = build(spec["when"], spec.line_of("when"))
        alternatives = cond.to_dnf(tree)
    except cond.ConditionSyntaxError as exc:
        out.add(file, _deepest_line(spec["when"], spec.line_of("when")), label, "when", str(exc))
        return cond.All(()), [], lines
    if not alternatives or alternatives == [()]:
        out.add(file, spec.line_of("when"), label, "when", "needs at least one condition")
    for alt in alternatives:
        for atom in alt:
            lines.setdefault(str(atom), spec.line_of("when"))
    return tree, alternatives, lines


def _deepest_line(node: Any, fallback: int) -> int:
    return getattr(node, "line", fallback) or fallback


def _check_atom(atom: cond.Atom, facts, file, line, label, out) -> None:
    fact = facts.get(atom.fact)
    where = f"when: {atom}"
    if fact is None:
        out.add(file, line, label, "when", f"unknown fact {atom.fact!r}{suggest(atom.fact, facts)}")
        return
    if fact.type not in OPS_BY_TYPE:
        return  # the fact's bad type is reported where the fact is defined
    if atom.op in ("missing", "known"):
        if fact.origin != "input" or fact.default is not None:
            out.add(file, line, label, where, f"'{atom.op}' applies to input facts without a default; "
                    f"{atom.fact!r} is always known")
        return
    if atom.op not in OPS_BY_TYPE[fact.type]:
        out.add(file, line, label, where, f"operator {atom.op!r} does not apply to {fact.type} fact "
                f"{atom.fact!r}; use {', '.join(OPS_BY_TYPE[fact.type])}")
        return
    for value in atom.value if isinstance(atom.value, tuple) else (atom.value,):
        problem = _value_problem(fact, value)
        if problem:
            out.add(file, line, label, where, problem)


def _value_problem(fact: FactDef, value: Any) -> str | None:
    if fact.type == "number":
        if not _is_number(value):
            return f"{fact.name} is a number; {value!r} is not"
        if fact.minimum is not None and value < fact.minimum or fact.maximum is not None and value > fact.maximum:
            return f"{value} is outside {fact.name}'s range {fact.minimum}..{fact.maximum}"
    elif fact.type == "boolean":
        if not isinstance(value, bool):
            return f"{fact.name} is true or false; {value!r} is not"
    elif fact.type == "enum":
        if value not in fact.values:
            return (f"{value!r} is not a value of {fact.name}{suggest(value, fact.values)}; "
                    f"values: {', '.join(fact.values)}")
    elif fact.type in ("words", "text") and not isinstance(value, str):
        return f"{fact.name} holds words; {value!r} is not a word"
    return None


def _load_then(spec, file, label, facts, codes, out):
    then = spec.get("then")
    asserts: list[tuple[str, Any]] = []
    recommends: list[Recommend] = []
    dose_plan: dict | None = None
    limits: dict = {}
    if not isinstance(then, LineDict) or not any(k in then for k in ("assert", "recommend")):
        out.add(file, spec.line_of("then"), label, "then", "needs 'assert:' and/or 'recommend:'")
        return asserts, recommends, dose_plan, limits
    _unknown_keys(then, THEN_KEYS, file, label, out, "then.")
    assert_node = then.get("assert") or LineDict()
    if not isinstance(assert_node, LineDict):
        out.add(file, then.line_of("assert"), label, "then.assert",
                "maps derived facts to values, like {escalating: true}")
        assert_node = LineDict()
    for fact_name, value in assert_node.items():
        at = assert_node.line_of(fact_name)
        fact = facts.get(fact_name)
        if fact is None:
            out.add(file, at, label, "then.assert", f"unknown fact {fact_name!r}{suggest(fact_name, facts)}")
        elif fact.origin != "derived":
            out.add(file, at, label, "then.assert", f"{fact_name!r} is an input fact; rules assert derived facts only")
        elif (problem := _value_problem(fact, value)):
            out.add(file, at, label, "then.assert", problem)
        else:
            asserts.append((fact_name, value))
    items = then.get("recommend") or LineList()
    if not isinstance(items, LineList):
        out.add(file, then.line_of("recommend"), label, "then.recommend", "is a list of codes")
        items = LineList()
    for i, item in enumerate(items):
        code, params = (item, {}) if isinstance(item, str) else (item.get("code"), item.get("params") or {}) \
            if isinstance(item, dict) else (None, {})
        if code is None or code not in codes:  # YAML keys are never null: None is never a code
            out.add(file, items.line_of(i), label, "then.recommend", f"unknown code {code!r}{suggest(code, codes)}")
            continue
        if not isinstance(params, dict):
            out.add(file, items.line_of(i), label, "then.recommend", f"params of {code!r} must be a mapping")
            continue
        recommends.append(Recommend(code, MappingProxyType(dict(params))))
    if "dose_plan" in then:
        dose_plan = _load_dose_plan(then["dose_plan"], file, then.line_of("dose_plan"), label, out)
        for key in DOSE_PLAN_FACT_KEYS:
            name = (dose_plan or {}).get(key)
            if isinstance(name, str) and name and (name not in facts or facts[name].type != "number"):
                out.add(file, then["dose_plan"].line_of(key), label, f"then.dose_plan.{key}",
                        f"{name!r} is not a number fact{suggest(name, facts)}")
    if "limit_dose_plan" in then:
        limit_node = then["limit_dose_plan"] or {}
        if not isinstance(limit_node, dict):
            out.add(file, then.line_of("limit_dose_plan"), label, "then.limit_dose_plan",
                    "is a mapping, like {step_max_mg: 5}")
            limit_node = {}
        limits = dict(limit_node)
        for key, value in limits.items():
            if key not in DOSE_LIMIT_KEYS or not _is_number(value) or value <= 0:
                out.add(file, then.line_of("limit_dose_plan"), label, f"then.limit_dose_plan.{key}",
                        f"allowed: {', '.join(DOSE_LIMIT_KEYS)} with a positive number")
    for rec in recommends:
        available = set(rec.params) | (DOSE_PLAN_SLOTS if dose_plan is not None else set())
        for slot in SLOT_RE.findall(codes[rec.code].text):
            if slot not in available:
                out.add(file, then.line_of("recommend"), label, "then.recommend",
                        f"code {rec.code!r} text needs {{{slot}}}, which this rule does not provide")
    return asserts, recommends, dose_plan, limits


def _load_dose_plan(node, file, line, label, out) -> dict | None:
    if not isinstance(node, LineDict):
        out.add(file, line, label, "then.dose_plan", "is a mapping")
        return None
    plan = dict(node)
    for key, kind in DOSE_PLAN_KEYS.items():
        value = plan.get(key)
        ok = (isinstance(value, str) and value) if kind is str else \
             (_is_number(value) and value > 0) if kind is float else \
             (isinstance(value, list) and value and all(_is_number(v) and v > 0 for v in value))
        if not ok:
            out.add(file, node.line_of(key), label, f"then.dose_plan.{key}", "is required and must be valid")
    _unknown_keys(node, tuple(DOSE_PLAN_KEYS), file, label, out, "then.dose_plan.")
    if (all(_is_number(plan.get(k)) for k in ("step_min_mg", "step_max_mg"))
            and plan["step_min_mg"] > plan["step_max_mg"]):
        out.add(file, line, label, "then.dose_plan", "step_min_mg is above step_max_mg")
    for key in ("divided_doses", "dose_steps_mg"):  # already reported when not a list
        plan[key] = tuple(plan[key]) if isinstance(plan.get(key), list) else ()
    return plan


def _check_rule_ids(rules: list[Rule], out: _Collector) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            out.add(rule.file, rule.line, rule.id, "id", f"duplicate rule id (first at {first.file}:{first.line})")
        seen.setdefault(rule.id, rule)


def _check_cycles(rules: list[Rule], facts, out: _Collector) -> None:
    """Derived facts must not depend on themselves: the runtime evaluates them in strata."""
    edges: dict[str, set[str]] = {}
    for rule in rules:
        for read in rule.reads():
            if facts[read].origin == "derived":
                edges.setdefault(read, set()).update(f for f, _ in rule.asserts)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                culprit = next(r for r in rules if nxt in dict(r.asserts) and node in r.reads())
                out.add(culprit.file, culprit.line, culprit.id, "then.assert",
                        f"derived facts form a cycle: {' -> '.join(cycle)}")
            elif state.get(nxt) is None:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])


def _load_tests(doc, file, codes, out) -> list[RuleTest]:
    node = doc.get("tests") if isinstance(doc, dict) else None
    if not isinstance(node, LineList):
        out.add(file, getattr(doc, "line", 1), None, "tests", "a test file holds a list under 'tests:'")
        return []
    tests = []
    for i, spec in enumerate(node):
        line = node.line_of(i)
        if (not isinstance(spec, LineDict) or not isinstance(spec.get("name"), str)
                or not isinstance(spec.get("case"), dict)):
            out.add(file, line, None, "tests", "each test has a name and a case")
            continue
        _unknown_keys(spec, ("name", "case", "expect", "forbid", "todo"), file, spec["name"], out)
        for key in ("expect", "forbid"):
            listed = spec.get(key) or []
            if not isinstance(listed, list):
                out.add(file, spec.line_of(key), spec["name"], key, "is a list of codes")
                continue
            for j, code in enumerate(listed):
                if code not in codes:
                    out.add(file, spec[key].line_of(j), spec["name"], key,
                            f"unknown code {code!r}{suggest(code, codes)}")
        tests.append(RuleTest(spec["name"], _plain(spec["case"]), tuple(spec.get("expect") or ()),
                              tuple(spec.get("forbid") or ()), bool(spec.get("todo", False)), file, line))
    return tests


def _plain(value: Any) -> Any:
    """LineDict/LineList back to plain containers (cases are handed to intake as ordinary data)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _load_exclusions(meta, file, codes, out) -> list[tuple[str, str]]:
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
                out.add(file, items.line_of(i), None, "exclusions", f"unknown code {code!r}{suggest(code, codes)}")
        pairs.append((pair[0], pair[1]))
    return pairs


def _load_safety_limits(meta, file, out) -> dict[str, float]:
    limits: dict[str, float] = {}
    node = meta.get("safety_limits") or LineDict()
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("safety_limits"), None, "safety_limits", "maps a drug to {max_daily_mg: N}")
        return limits
    for drug, spec in node.items():
        value = spec.get("max_daily_mg") if isinstance(spec, dict) else None
        if not _is_number(value) or value <= 0:
            out.add(file, node.line_of(drug), None, f"safety_limits.{drug}", "needs max_daily_mg, a positive number")
            continue
        limits[str(drug)] = value
    return limits


def _load_synonyms(doc, file, facts, out) -> dict[str, dict[str, str]]:
    """Aliases per fact (brand names, abbreviations), lower-cased; enum targets must be real values."""
    result: dict[str, dict[str, str]] = {}
    node = doc.get("synonyms") if isinstance(doc, dict) else None
    if node is None:
        return result
    if not isinstance(node, LineDict):
        out.add(file, doc.line_of("synonyms"), None, "synonyms", "maps a fact to {alias: value}")
        return result
    for fact_name, aliases in node.items():
        fact = facts.get(fact_name)
        if fact is None or fact.type not in ("enum", "text") or not isinstance(aliases, LineDict):
            out.add(file, node.line_of(fact_name), None, f"synonyms.{fact_name}",
                    f"synonyms apply to enum or text input facts{suggest(fact_name, facts)}")
            continue
        for alias, target in aliases.items():
            if fact.type == "enum" and target not in fact.values:
                out.add(file, aliases.line_of(alias), None, f"synonyms.{fact_name}.{alias}",
                        f"{target!r} is not a value of {fact_name}; values: {', '.join(fact.values)}")
        result[fact_name] = {str(a).lower(): str(t) for a, t in aliases.items()}
    return result


def _load_gap_check(meta, file, facts, categories, out) -> tuple[tuple[cond.Atom, ...], tuple[str, ...]]:
    """kb.yaml `gap_check`: the population lint's gap search covers and the categories that answer it."""
    node = meta.get("gap_check")
    if node is None:
        return (), ()
    if not isinstance(node, LineDict):
        out.add(file, meta.line_of("gap_check"), None, "gap_check", "maps population and next_step_categories")
        return (), ()
    _unknown_keys(node, ("population", "next_step_categories"), file, None, out, "gap_check.")
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
            _check_atom(atom, facts, file, population.line_of(i), None, out)
            atoms.append(atom)
    if not isinstance(wanted, LineList) or not wanted:
        out.add(file, node.line_of("next_step_categories"), None, "gap_check.next_step_categories",
                "a list of code categories")
        return tuple(atoms), ()
    for i, category in enumerate(wanted):
        if category not in categories:
            out.add(file, wanted.line_of(i), None, "gap_check.next_step_categories",
                    f"unknown category {category!r}{suggest(category, categories)}")
    return tuple(atoms), tuple(str(c) for c in wanted)
