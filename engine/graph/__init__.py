"""The KB as graphs: the `rules` view (every fact, rule and recommendation, rules.py), the `flow` teaching
flowchart (flow.py) and its `overview` for one slide (overview.py), derived from the same rules; the deck
of slides (deck.py); filters and the case overlay (filters.py); styles and
exports (style.py, export/). Pure functions of a loaded Kb: the same KB gives the same graph, node for node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clonus.engine.errors import GraphError, shown
from clonus.engine.knowledge.model import Kb
from clonus.engine.suggest import did_you_mean

if TYPE_CHECKING:
    import networkx as nx

VIEWS = ("rules", "flow", "overview")


def build_view(kb: Kb, view: str = "rules") -> nx.DiGraph:
    """The graph of one view: `rules` (the dependency graph), `flow` (the teaching flowchart) or `overview`
    (the flowchart at the level of a lecture, for one slide)."""
    if view == "rules":
        from clonus.engine.graph.rules import build_graph

        return build_graph(kb)
    if view == "flow":
        from clonus.engine.graph.flow import build_flow

        return build_flow(kb)
    if view == "overview":
        from clonus.engine.graph.overview import build_overview

        return build_overview(kb)
    raise GraphError(f"unknown view {shown(view)}{did_you_mean(view, VIEWS)}; use one of {', '.join(VIEWS)}")
