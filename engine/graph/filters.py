"""Filters of either view (a focus, some categories) and the overlay of one case's path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from clonus.engine.decide.result import TraceEntry
from clonus.engine.errors import GraphError, shown
from clonus.engine.knowledge.conditions import format_value
from clonus.engine.suggest import did_you_mean

if TYPE_CHECKING:
    import networkx as nx


def focus(g: nx.DiGraph, target: str) -> nx.DiGraph:
    """Keep the nodes that stand for `target` (a rule id, a code or a fact), their ancestors and descendants."""
    import networkx as nx

    seeds = [n for n, refs in g.nodes(data="refs") if target in (refs or ())]
    if not seeds:  # a rule drawn only as the wording of some branches (flow view)
        seeds = list(dict.fromkeys(n for u, v, d in g.edges(data=True)
                                   if target in (d.get("rules") or ()) for n in (u, v)))
    if not seeds:
        known = sorted({r for _, refs in g.nodes(data="refs") for r in refs or ()})
        raise GraphError(f"--focus: {shown(target)} is not a rule, code or fact of the {g.graph['view']} view"
                         f"{did_you_mean(target, known)}")
    keep = set(seeds)
    for node in seeds:
        keep |= nx.ancestors(g, node) | nx.descendants(g, node)
    return subgraph(g, keep)


def filter_categories(g: nx.DiGraph, categories: Iterable[str]) -> nx.DiGraph:
    """Keep the recommendations of these categories and everything that leads to them."""
    import networkx as nx

    wanted = tuple(categories)
    for category in wanted:
        if category not in g.graph["categories"]:
            known = g.graph["categories"]
            raise GraphError(f"--category: unknown category {shown(category)}{did_you_mean(category, known)}; "
                             f"use one of {', '.join(known)}")
    seeds = [n for n, d in g.nodes(data=True)
             if d["kind"] in ("recommendation", "outcome") and set(d.get("categories", ())) & set(wanted)]
    keep = set(seeds)
    for node in seeds:
        keep |= nx.ancestors(g, node)
    return subgraph(g, keep)


def subgraph(g: nx.DiGraph, keep: set) -> nx.DiGraph:
    """The induced subgraph, in the original node and edge order (so output stays deterministic), with a
    copy of every attribute mapping (a page's changes never reach the graph it was cut from)."""
    import networkx as nx

    out: nx.DiGraph[str] = nx.DiGraph()
    out.graph.update(g.graph)
    out.add_nodes_from((n, dict(d)) for n, d in g.nodes(data=True) if n in keep)
    out.add_edges_from((u, v, dict(d)) for u, v, d in g.edges(data=True) if u in keep and v in keep)
    return out


# -- the path of one case -------------------------------------------------------------------------------


def overlay_case(g: nx.DiGraph, trace: Iterable[TraceEntry]) -> nx.DiGraph:
    """Mark what a case's firings touched `highlight = on` and everything else `off` (drawn dimmed).

    Rules view: the fired rules, the facts they matched (with the case's value), what they asserted and
    recommended. Flow view: every node and edge on the path of a fired rule alternative.
    """
    firings = tuple(trace)
    out = subgraph(g, set(g.nodes))
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
