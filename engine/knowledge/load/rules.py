"""rules/*.yaml: each rule's metadata, its `when` (parsed, never evaluated as Python) and its `then`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.model import (
    DOSE_LIMIT_KEYS,
    DOSE_PLAN_FACT_KEYS,
    DOSE_PLAN_KEYS,
    DOSE_PLAN_SLOTS,
    SEVERITIES,
    STATUSES,
    FactDef,
    Recommend,
    Rule,
)
from clonus.engine.knowledge.wording import SLOT_RE
from clonus.engine.suggest import did_you_mean

from .common import Collector, bind, is_number, unknown_keys
from .shapes import schema, shape_problems
from .yamlsource import LineDict, LineList

RULE_ID_RE = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)+$")


RULE_KEYS = ("id", "title", "status", "version", "rationale", "sources", "when", "then",
             "last_reviewed", "review_by")


THEN_KEYS = ("assert", "recommend", "dose_plan", "limit_dose_plan")


OPS_BY_TYPE = {
    "number": ("==", "!=", "<", "<=", ">", ">="),
    "boolean": ("==",),
    "enum": ("==", "!=", "in", "not in"),
    "text": ("==", "!=", "in", "not in"),
    "words": ("has", "lacks"),
}


@dataclass(frozen=True)
class RuleContext:
    """What a rule is checked against: the facts, codes and sources, the parameters and named dose plans."""

    facts: Mapping[str, FactDef]
    codes: Mapping[str, Any]
    sources: Mapping[str, Any]
    params: Mapping[str, Any]
    dose_plans: Mapping[str, dict]


def load_rules(doc, file, ctx: RuleContext, out) -> list[Rule]:
    node = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(node, LineList):
        out.add(file, getattr(doc, "line", 1), None, "rules", "a rule file holds a list under 'rules:'")
        return []
    rules = []
    file_schema = schema("rules.schema.json")
    for index, spec in enumerate(node):
        line = node.line_of(index)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, None, "each rule is a mapping")
            continue
        misshapen = list(shape_problems(spec, file_schema["$defs"]["rule"], file_schema, "", line))
        if misshapen:  # no other check reads a value of the wrong shape
            label = str(spec["id"]) if isinstance(spec.get("id"), str) else f"(rule at line {line})"
            for field, at, message in misshapen:
                out.add(file, at, label, field, message)
            continue
        rule = _load_rule(spec, file, line, ctx, out)
        if rule is not None:
            rules.append(rule)
    return rules


def _load_rule(spec: LineDict, file, line, ctx: RuleContext, out) -> Rule | None:
    sources = ctx.sources
    rid = spec.get("id")
    label = str(rid) if rid else f"(rule at line {line})"
    before = len(out.problems)

    def bad(key: str, message: str, at: int | None = None) -> None:
        out.add(file, at or spec.line_of(key), label, key, message)

    unknown_keys(spec, RULE_KEYS, file, label, out)
    if not isinstance(rid, str) or not RULE_ID_RE.match(rid):
        bad("id", f"{shown(rid)} is not a dotted lower-case id like 'baclofen.escalate.below-max'")
    for key in ("title", "rationale"):
        text = spec.get(key)
        if not isinstance(text, str) or not text.strip():
            bad(key, "is required (a non-empty text)")
    status = spec.get("status")
    if status not in STATUSES:
        bad("status", f"{shown(status)} is not one of {', '.join(STATUSES)}{did_you_mean(status, STATUSES)}")
    version = spec.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        bad("version", "must be a whole number >= 1")
    for key in ("last_reviewed", "review_by"):
        if key in spec and not isinstance(spec[key], date) and not _iso_date(spec[key]):
            bad(key, f"{shown(spec[key])} is not a date like 2026-11-25")
    rule_sources = spec.get("sources")
    if not isinstance(rule_sources, LineList) or not rule_sources:
        bad("sources", "cite at least one source id")
        rule_sources = LineList()
    for i, sid in enumerate(rule_sources):
        if sid not in sources:
            bad("sources", f"unknown source {shown(sid)}{did_you_mean(sid, sources)}", rule_sources.line_of(i))
    when, alternatives, condition_lines = _load_when(spec, file, label, ctx, out)
    asserts, recommends, dose_plan, limits = _load_then(spec, file, label, ctx, out)
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


def _load_when(spec, file, label, ctx: RuleContext, out):
    facts = ctx.facts
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
        atom = cond.parse_atom(node, ctx.params)
        lines.setdefault(str(atom), at)
        check_atom(atom, facts, file, at, label, out)
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


def check_atom(atom: cond.Atom, facts, file, line, label, out) -> None:
    fact = facts.get(atom.fact)
    where = f"when: {atom}"
    if fact is None:
        out.add(file, line, label, "when", f"unknown fact {shown(atom.fact)}{did_you_mean(atom.fact, facts)}")
        return
    if fact.type not in OPS_BY_TYPE:
        return  # the fact's bad type is reported where the fact is defined
    if atom.op in ("missing", "known"):
        if fact.origin != "input" or fact.default is not None:
            out.add(file, line, label, where, f"'{atom.op}' applies to input facts without a default; "
                    f"{shown(atom.fact)} is always known")
        return
    if atom.op not in OPS_BY_TYPE[fact.type]:
        out.add(file, line, label, where, f"operator {shown(atom.op)} does not apply to {fact.type} fact "
                f"{shown(atom.fact)}; use {', '.join(OPS_BY_TYPE[fact.type])}")
        return
    for value in atom.value if isinstance(atom.value, tuple) else (atom.value,):
        problem = value_problem(fact, value)
        if problem:
            out.add(file, line, label, where, problem)


def value_problem(fact: FactDef, value: Any) -> str | None:
    if fact.type == "number":
        if not is_number(value):
            return f"{fact.name} is a number; {shown(value)} is not"
        if fact.minimum is not None and value < fact.minimum or fact.maximum is not None and value > fact.maximum:
            return f"{value} is outside {fact.name}'s range {fact.minimum}..{fact.maximum}"
    elif fact.type == "boolean":
        if not isinstance(value, bool):
            return f"{fact.name} is true or false; {shown(value)} is not"
    elif fact.type == "enum":
        if value not in fact.values:
            return (f"{shown(value)} is not a value of {fact.name}{did_you_mean(value, fact.values)}; "
                    f"values: {', '.join(fact.values)}")
    elif fact.type in ("words", "text") and not isinstance(value, str):
        return f"{fact.name} holds words; {shown(value)} is not a word"
    return None


def _load_then(spec, file, label, ctx: RuleContext, out):
    then = spec.get("then")
    facts, codes = ctx.facts, ctx.codes
    asserts: list[tuple[str, Any]] = []
    recommends: list[Recommend] = []
    dose_plan: dict | None = None
    limits: dict = {}
    if not isinstance(then, LineDict) or not any(k in then for k in ("assert", "recommend")):
        out.add(file, spec.line_of("then"), label, "then", "needs 'assert:' and/or 'recommend:'")
        return asserts, recommends, dose_plan, limits
    unknown_keys(then, THEN_KEYS, file, label, out, "then.")
    assert_node = then.get("assert") or LineDict()
    if not isinstance(assert_node, LineDict):
        out.add(file, then.line_of("assert"), label, "then.assert",
                "maps derived facts to values, like {escalating: true}")
        assert_node = LineDict()
    for fact_name, value in assert_node.items():
        at = assert_node.line_of(fact_name)
        fact = facts.get(fact_name)
        if fact is None:
            out.add(file, at, label, "then.assert", f"unknown fact {shown(fact_name)}{did_you_mean(fact_name, facts)}")
        elif fact.origin != "derived":
            out.add(file, at, label, "then.assert",
                    f"{shown(fact_name)} is an input fact; rules assert derived facts only")
        elif (problem := value_problem(fact, value)):
            out.add(file, at, label, "then.assert", problem)
        else:
            asserts.append((fact_name, value))
    recommends = _recommends(then, file, label, ctx, out)
    if "dose_plan" in then:
        dose_plan = _rule_dose_plan(then, file, label, ctx, out)
    if "limit_dose_plan" in then:
        limits = _limits(then, file, label, ctx, out)
    for rec in recommends:
        planned = dose_plan is not None or "dose_plan" in then  # a broken plan is its own problem
        available = set(rec.params) | (DOSE_PLAN_SLOTS if planned else set())
        for slot in SLOT_RE.findall(codes[rec.code].text):
            if slot not in available:
                out.add(file, then.line_of("recommend"), label, "then.recommend",
                        f"code {shown(rec.code)} text needs {{{slot}}}, which this rule does not provide")
    return asserts, recommends, dose_plan, limits


def _recommends(then: LineDict, file: str, label: str, ctx: RuleContext, out: Collector) -> list[Recommend]:
    """`recommend:` items: a code, or {code, params, severity}; params may name $parameters."""
    items = then.get("recommend") or LineList()
    if not isinstance(items, LineList):
        out.add(file, then.line_of("recommend"), label, "then.recommend", "is a list of codes")
        return []
    recommends = []
    for i, item in enumerate(items):
        at = items.line_of(i)
        if isinstance(item, LineDict):
            unknown_keys(item, ("code", "params", "severity"), file, label, out, "then.recommend.")
        code, params, severity = (item, {}, None) if isinstance(item, str) else \
            (item.get("code"), item.get("params") or {}, item.get("severity")) if isinstance(item, dict) else \
            (None, {}, None)
        if not isinstance(code, str) or code not in ctx.codes:  # YAML keys are never null: None is never a code
            out.add(file, at, label, "then.recommend", f"unknown code {shown(code)}{did_you_mean(code, ctx.codes)}")
            continue
        if not isinstance(params, dict):
            out.add(file, at, label, "then.recommend", f"params of {shown(code)} must be a mapping")
            continue
        if severity is not None and severity not in SEVERITIES:
            out.add(file, at, label, "then.recommend",
                    f"severity {shown(severity)} is not one of {', '.join(SEVERITIES)}")
            continue
        bound = {k: bind(v, ctx.params, file, at, label, f"then.recommend.{code}.params.{k}", out)
                 for k, v in params.items()}
        recommends.append(Recommend(code, MappingProxyType(bound), severity))
    return recommends


def _rule_dose_plan(then: LineDict, file: str, label: str, ctx: RuleContext, out: Collector) -> dict | None:
    """A rule's dose plan: the name of one of kb.yaml's `dose_plans`, or a plan written in place."""
    node, at = then["dose_plan"], then.line_of("dose_plan")
    if isinstance(node, str):
        if node not in ctx.dose_plans:
            out.add(file, at, label, "then.dose_plan",
                    f"unknown dose plan {shown(node)}{did_you_mean(node, ctx.dose_plans)}; "
                    "kb.yaml dose_plans names them")
            return None
        plan: dict | None = ctx.dose_plans[node]
    else:
        plan = load_dose_plan(node, file, at, "then.dose_plan", ctx.params, out, label)
    for key in DOSE_PLAN_FACT_KEYS:
        name = (plan or {}).get(key)
        if isinstance(name, str) and name and (name not in ctx.facts or ctx.facts[name].type != "number"):
            out.add(file, at, label, f"then.dose_plan.{key}", f"{shown(name)} is not a number fact"
                    f"{did_you_mean(name, ctx.facts)}")
    return plan


def _limits(then: LineDict, file: str, label: str, ctx: RuleContext, out: Collector) -> dict:
    """`limit_dose_plan:` the named limits a precaution sets on any dose plan made for the case."""
    node, at = then["limit_dose_plan"] or {}, then.line_of("limit_dose_plan")
    if not isinstance(node, dict):
        out.add(file, at, label, "then.limit_dose_plan", "is a mapping, like {step_max_mg: 5}")
        return {}
    limits = {}
    for key, value in node.items():
        value = bind(value, ctx.params, file, at, label, f"then.limit_dose_plan.{key}", out)
        if key not in DOSE_LIMIT_KEYS or not is_number(value) or value <= 0:
            out.add(file, at, label, f"then.limit_dose_plan.{key}",
                    f"allowed: {', '.join(DOSE_LIMIT_KEYS)}, each a positive number (or $parameter)")
            continue
        limits[key] = value
    return limits


def load_dose_plan(node, file, line, where: str, params: Mapping[str, Any], out, label: str | None = None
                   ) -> dict | None:
    """A dose plan's parameters (numbers or $parameters), every one required and valid."""
    if not isinstance(node, LineDict):
        out.add(file, line, label, where, "is a mapping")
        return None
    plan = {key: bind(value, params, file, node.line_of(key), label, f"{where}.{key}", out)
            for key, value in node.items()}
    unbound = {k for k, v in node.items() if isinstance(v, str) and v.startswith("$") and plan[k] is None}
    for key, kind in DOSE_PLAN_KEYS.items():
        if key in unbound:
            continue  # its unknown parameter is the problem, already reported
        value = plan.get(key)
        ok = (isinstance(value, str) and value) if kind is str else \
             (is_number(value) and value > 0) if kind is float else \
             (isinstance(value, list) and value and all(is_number(v) and v > 0 for v in value))
        if not ok:
            out.add(file, node.line_of(key), label, f"{where}.{key}", "is required and must be valid")
    unknown_keys(node, tuple(DOSE_PLAN_KEYS), file, label, out, f"{where}.")
    for low, high in (("step_min_mg", "step_max_mg"), ("interval_min_h", "interval_max_h")):
        if all(is_number(plan.get(k)) for k in (low, high)) and plan[low] > plan[high]:
            out.add(file, line, label, where, f"{low} is above {high}")
    for key in ("divided_doses", "dose_steps_mg"):  # already reported when not a list
        plan[key] = tuple(plan[key]) if isinstance(plan.get(key), list) else ()
    return plan


def check_rule_ids(rules: list[Rule], out: Collector) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            out.add(rule.file, rule.line, rule.id, "id", f"duplicate rule id (first at {first.file}:{first.line})")
        seen.setdefault(rule.id, rule)


def check_cycles(rules: list[Rule], facts, out: Collector) -> None:
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
