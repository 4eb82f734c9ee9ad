"""Node and graph attributes both views share: the KB's identity, facts, rules and their conditions."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from clonus.engine.knowledge.conditions import format_value
from clonus.engine.knowledge.model import FactDef, Kb, Rule


def graph_attrs(kb: Kb, view: str) -> dict[str, Any]:
    """Graph-level attributes: the view, the KB's identity (never its path) and what exports need to show."""
    cited = dict.fromkeys(s for rule in kb.rules for s in rule.sources)
    return {
        "name": kb.name, "kb_version": kb.version, "view": view, "categories": tuple(kb.categories),
        "profile": kb.profile.name,  # the title names the profile a picture was drawn from
        "profile_title": kb.profile.title,
        "sources": {sid: {"title": s.title, "publisher": s.publisher, "year": s.year, "grade": s.grade,
                          "url": s.url} for sid, s in kb.sources.items() if sid in cited},
    }


def fact_attrs(fact: FactDef) -> dict[str, Any]:
    return {"kind": fact.origin, "label": fact.name, "refs": (fact.name,), "title": fact.label,
            "text": fact.description, "type": fact.type, "unit": fact.unit or "",
            "values": tuple(str(v) for v in fact.values)}


def rule_attrs(kb: Kb, rule: Rule) -> dict[str, Any]:
    categories = tuple(c for c in kb.categories if any(kb.codes[r.code].category == c for r in rule.recommends))
    return {
        "kind": "rule", "label": rule.id, "refs": (rule.id,), "title": rule.title, "text": rule.rationale,
        "status": rule.status, "version": rule.version, "sources": rule.sources,
        "group": PurePath(rule.file).stem, "categories": categories, "condition": condition_text(rule),
        "asserts": tuple(f"{fact} = {format_value(value)}" for fact, value in rule.asserts),
        "recommends": tuple(rec.code for rec in rule.recommends),
        "limits": tuple(f"{key} {format_value(value)}" for key, value in rule.dose_limits.items()),
    }


def section_index(kb: Kb, rule: Rule) -> int:
    """The teaching section (teaching.yaml) a rule belongs to: the one listing its first recommendation's
    code, else the one listing that code's category."""
    code = kb.codes[rule.recommends[0].code]
    return kb.teaching.sections.index(kb.teaching.section_of(code.category, code.code))


def condition_text(rule: Rule) -> str:
    """The whole condition in disjunctive form: `a and b or c`."""
    return " or ".join(" and ".join(str(a) for a in alt) for alt in rule.alternatives)


def reads_label(rule: Rule, fact: str) -> str:
    """What a rule tests of one fact: per alternative the conditions on it (`and`), alternatives joined `or`."""
    parts = (" and ".join(str(a) for a in alt if a.fact == fact) for alt in rule.alternatives)
    return " or ".join(dict.fromkeys(p for p in parts if p))


# -- wording for people (the flow view and the legend) ------------------------------------------------
