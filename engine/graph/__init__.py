"""The KB as graphs: the `rules` view (every fact, rule and recommendation, rules.py) and the `flow` teaching
flowchart (flow.py), derived from the same rules; filters and the case overlay (filters.py); styles and
exports (style.py, export/). Pure functions of a loaded Kb: the same KB gives the same graph, node for node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clonus.engine.errors import GraphError, shown
from clonus.engine.knowledge.model import Kb
from clonus.engine.suggest import did_you_mean

if TYPE_CHECKING:
    import networkx as nx

VIEWS = ("rules", "flow")


def build_view(kb: Kb, view: str = "rules") -> nx.DiGraph:
    """The graph of one view: `rules` (the dependency graph) or `flow` (the teaching flowchart)."""
    if view == "rules":
        from clonus.engine.graph.rules import build_graph

        return build_graph(kb)
    if view == "flow":
        from clonus.engine.graph.flow import build_flow

        return build_flow(kb)
    raise GraphError(f"unknown view {shown(view)}{did_you_mean(view, VIEWS)}; use one of {', '.join(VIEWS)}")
