"""The KB as a graph: the `rules` view (every fact, rule and recommendation), its filters and the case overlay.

A pure function of a loaded Kb: the same KB gives the same graph, node for node and in the same order.

    node ids      fact:<name>, rule:<rule id>, code:<code>
    node `kind`   input | derived | rule | recommendation
    edge relation reads (fact -> rule, labelled with the condition), asserts (rule -> derived fact),
                  recommends (rule -> recommendation), computes (fact -> the fact that is its product)

Every node carries `refs` (the KB names it stands for: a fact name, a rule id, a code), which `focus`
resolves. The teaching flowchart (the `flow` view) is derived from the same rules in graph_flow.py and
follows the same conventions, so the filters, the overlay and every export work on both views.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from .conditions import Atom, format_value
from .errors import ClonusError
from .model import FactDef, Kb, Rule

if TYPE_CHECKING:
    import networkx as nx

    from .result import TraceEntry

VIEWS = ("rules", "flow")


class GraphError(ClonusError):
    """A graph request names something the KB or the view does not have (a view, a focus, a category)."""


def build_view(kb: Kb, view: str = "rules") -> nx.DiGraph:
    """The graph of one view: `rules` (the dependency graph) or `flow` (the teaching flowchart)."""
    if view == "rules":
        return build_graph(kb)
    if view == "flow":
        from .graph_flow import build_flow

        return build_flow(kb)
    raise GraphError(f"unknown view {view!r}{_suggest(view, VIEWS)}; use one of {', '.join(VIEWS)}")


def build_graph(kb: Kb) -> nx.DiGraph:
    """Every fact a rule reads or asserts, every rule and every recommendation, with what links them."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.graph.update(graph_attrs(kb, "rules"))
    used = _used_facts(kb)
    for name, fact in kb.facts.items():
        if name in used:
            g.add_node(f"fact:{name}", **fact_attrs(fact))
    for rule in kb.rules:
        g.add_node(f"rule:{rule.id}", **rule_attrs(kb, rule))
    recommended = {rec.code for rule in kb.rules for rec in rule.recommends}
    for code, definition in kb.codes.items():
        if code in recommended:
            g.add_node(f"code:{code}", kind="recommendation", label=code, refs=(code,), title=definition.title,
                       text=definition.text, category=definition.category, categories=(definition.category,),
                       severity=definition.severity)
    for name in kb.facts:
        for part in kb.facts[name].product_of if name in used else ():
            g.add_edge(f"fact:{part}", f"fact:{name}", relation="computes",
                       label=" x ".join(kb.facts[name].product_of), rules=())
    for rule in kb.rules:
        for read in rule.reads():
            conditions = tuple(dict.fromkeys(str(a) for alt in rule.alternatives for a in alt if a.fact == read))
            g.add_edge(f"fact:{read}", f"rule:{rule.id}", relation="reads", label=reads_label(rule, read),
                       conditions=conditions, rules=(rule.id,))
        for asserted, value in rule.asserts:
            g.add_edge(f"rule:{rule.id}", f"fact:{asserted}", relation="asserts",
                       label=f"{asserted} = {format_value(value)}", value=format_value(value), rules=(rule.id,))
        for rec in rule.recommends:
            g.add_edge(f"rule:{rule.id}", f"code:{rec.code}", relation="recommends", label="", rules=(rule.id,))
    return g


def graph_attrs(kb: Kb, view: str) -> dict[str, Any]:
    """Graph-level attributes: the view, the KB's identity (never its path) and what exports need to show."""
    cited = dict.fromkeys(s for rule in kb.rules for s in rule.sources)
    return {
        "name": kb.name, "kb_version": kb.version, "view": view, "categories": tuple(kb.categories),
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


def _used_facts(kb: Kb) -> set[str]:
    used = {f for rule in kb.rules for f in rule.reads()} | {f for rule in kb.rules for f, _ in rule.asserts}
    return used | {part for name in used for part in kb.facts[name].product_of}


def condition_text(rule: Rule) -> str:
    """The whole condition in disjunctive form: `a and b or c`."""
    return " or ".join(" and ".join(str(a) for a in alt) for alt in rule.alternatives)


def reads_label(rule: Rule, fact: str) -> str:
    """What a rule tests of one fact: per alternative the conditions on it (`and`), alternatives joined `or`."""
    parts = (" and ".join(str(a) for a in alt if a.fact == fact) for alt in rule.alternatives)
    return " or ".join(dict.fromkeys(p for p in parts if p))


# -- wording for people (the flow view and the legend) ------------------------------------------------

_NUMBER_OPS = {"==": "="}


def words(value: Any) -> str:
    """A KB value as people read it: some_value -> some value, true -> yes, [a, b] -> a or b."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        items = [words(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return format_value(value).replace("_", " ")


def values_of(atom: Atom) -> tuple:
    """The values an atom names: its list for in / not in, else its one value."""
    return atom.value if isinstance(atom.value, tuple) else (atom.value,)


def branch_text(fact: FactDef, atom: Atom) -> str:
    """One condition as the branch of a question that already names the fact: `yes`, `missing`, `< N mg`."""
    if atom.op in ("missing", "known"):
        return atom.op
    if fact.type == "boolean":
        return words(bool(atom.value))
    if fact.type == "number":
        unit = f" {fact.unit}" if fact.unit else ""
        return f"{_NUMBER_OPS.get(atom.op, atom.op)} {format_value(atom.value)}{unit}"
    if atom.op in ("==", "in"):
        return words(atom.value)
    if atom.op == "!=":
        return f"not {words(atom.value)}"
    if atom.op == "not in":
        return f"none of {', '.join(words(v) for v in values_of(atom))}"
    return f"{'include' if atom.op == 'has' else 'no'} {words(atom.value)}"


def atom_text(fact: FactDef, atom: Atom) -> str:
    """One condition as a phrase that names the fact: `respiratory compromise`, `eGFR < 60 mL/min/1.73 m2`."""
    if fact.type == "boolean" and atom.op == "==":
        return fact.label if atom.value else f"no {fact.label}"
    if atom.op in ("missing", "known"):
        return f"{fact.label} {atom.op}"
    if fact.type == "number":
        return f"{fact.label} {branch_text(fact, atom)}"
    if atom.op in ("has", "lacks"):
        verb = "include" if atom.op == "has" else "do not include"
        return f"{fact.label} {verb} {words(atom.value)}"
    return f"{fact.label} is {branch_text(fact, atom)}"


# -- filters --------------------------------------------------------------------------------------------

def focus(g: nx.DiGraph, target: str) -> nx.DiGraph:
    """Keep the nodes that stand for `target` (a rule id, a code or a fact), their ancestors and descendants."""
    import networkx as nx

    seeds = [n for n, refs in g.nodes(data="refs") if target in (refs or ())]
    if not seeds:  # a rule drawn only as the wording of some branches (flow view)
        seeds = list(dict.fromkeys(n for u, v, d in g.edges(data=True)
                                   if target in (d.get("rules") or ()) for n in (u, v)))
    if not seeds:
        known = sorted({r for _, refs in g.nodes(data="refs") for r in refs or ()})
        raise GraphError(f"--focus: {target!r} is not a rule, code or fact of the {g.graph['view']} view"
                         f"{_suggest(target, known)}")
    keep = set(seeds)
    for node in seeds:
        keep |= nx.ancestors(g, node) | nx.descendants(g, node)
    return _subgraph(g, keep)


def filter_categories(g: nx.DiGraph, categories: Iterable[str]) -> nx.DiGraph:
    """Keep the recommendations of these categories and everything that leads to them."""
    import networkx as nx

    wanted = tuple(categories)
    for category in wanted:
        if category not in g.graph["categories"]:
            raise GraphError(f"--category: unknown category {category!r}{_suggest(category, g.graph['categories'])}; "
                             f"use one of {', '.join(g.graph['categories'])}")
    seeds = [n for n, d in g.nodes(data=True)
             if d["kind"] in ("recommendation", "outcome") and set(d.get("categories", ())) & set(wanted)]
    keep = set(seeds)
    for node in seeds:
        keep |= nx.ancestors(g, node)
    return _subgraph(g, keep)


def _subgraph(g: nx.DiGraph, keep: set) -> nx.DiGraph:
    """The induced subgraph, in the original node and edge order (so output stays deterministic)."""
    import networkx as nx

    out: nx.DiGraph[str] = nx.DiGraph()
    out.graph.update(g.graph)
    out.add_nodes_from((n, d) for n, d in g.nodes(data=True) if n in keep)
    out.add_edges_from((u, v, d) for u, v, d in g.edges(data=True) if u in keep and v in keep)
    return out


# -- the path of one case -------------------------------------------------------------------------------

def overlay_case(g: nx.DiGraph, trace: Iterable[TraceEntry]) -> nx.DiGraph:
    """Mark what a case's firings touched `highlight = on` and everything else `off` (drawn dimmed).

    Rules view: the fired rules, the facts they matched (with the case's value), what they asserted and
    recommended. Flow view: every node and edge on the path of a fired rule alternative.
    """
    firings = tuple(trace)
    out = _subgraph(g, set(g.nodes))
    out.graph["case"] = True
    if g.graph["view"] == "rules":
        on_nodes, on_edges = _rules_path(out, firings)
    else:
        fired = {f"{f.rule}#{f.alternative}" for f in firings}
        on_nodes = {n for n, paths in out.nodes(data="paths") if set(paths or ()) & fired}
        on_nodes |= {n for n, d in out.nodes(data=True) if d.get("kind") == "start"}
        on_edges = {(u, v) for u, v, d in out.edges(data=True) if set(d.get("paths") or ()) & fired}
    for node, data in out.nodes(data=True):
        data["highlight"] = "on" if node in on_nodes else "off"
    for u, v, data in out.edges(data=True):
        data["highlight"] = "on" if (u, v) in on_edges else "off"
    return out


def _rules_path(g: nx.DiGraph, firings: tuple[TraceEntry, ...]) -> tuple[set, set]:
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for firing in firings:
        rule = f"rule:{firing.rule}"
        nodes.add(rule)
        for fact, value in firing.matched:
            g.nodes[f"fact:{fact}"]["value"] = "missing" if value is None else format_value(value)
            nodes.add(f"fact:{fact}")
            edges.add((f"fact:{fact}", rule))
        for fact, _ in firing.asserted:
            nodes.add(f"fact:{fact}")
            edges.add((rule, f"fact:{fact}"))
        for code in firing.recommended:
            nodes.add(f"code:{code}")
            edges.add((rule, f"code:{code}"))
    edges |= {(u, v) for u, v, d in g.edges(data=True)
              if d.get("relation") == "computes" and u in nodes and v in nodes}
    return nodes, edges


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
