"""Pages that fit a slide: a deck page too big for FRAME_PX at FLOOR_PX is cut along the flow's decision
trees into pieces, and the pieces, taken in the flow's order, are packed first-fit (each onto the first
slide it still fits on) into as few slides as keep the floor.
Never shrunk: a piece that cannot be cut further and still does not fit stays one page, and its Fit says
so (`clonus graph --deck` prints it).

A piece is a branch of a decision tree: an edge out of a state (or Start) with everything below it, the
boxes it ends at and the states those lead to. A branch too big for a slide is cut again at its first
question: one piece per answer, each keeping the way down from its state (the spine), so every piece still
reads from a state to its boxes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clonus.engine.graph.export.slide import Fit, measure
from clonus.engine.graph.filters import subgraph

if TYPE_CHECKING:
    import networkx as nx

ANCHORS = ("start", "state")
STEPS = ("question", "junction")

Drawn = tuple[bytes, Fit]


def drawn(g: nx.DiGraph) -> Drawn:
    """The graph drawn as Graphviz lays it out (SVG in points) and how it fits the frame."""
    from clonus.engine.graph.export.dot import to_dot
    from clonus.engine.graph.export.formats import render

    svg = render(to_dot(g), "svg")
    return svg, measure(svg)


def paginate(g: nx.DiGraph) -> list[tuple[nx.DiGraph, Drawn]]:
    """`g` whole if it fits, else its pieces packed into pages that fit, each with its drawing."""
    whole = drawn(g)
    if whole[1].fits:
        return [(g, whole)]
    pieces = [piece for unit in units(g) for piece in _cut(g, unit)]
    if len(pieces) < 2:
        return [(g, whole)]
    pages: list[tuple[set[str], Drawn]] = []
    for piece in pieces:  # first fit: onto the first page it still fits on, else a page of its own
        for i, (nodes, _) in enumerate(pages):
            tried = _drawn_piece(g, nodes | piece)
            if tried[1].fits:
                pages[i] = (nodes | piece, tried)
                break
        else:
            pages.append((piece, _drawn_piece(g, piece)))
    return [(spliced(subgraph(g, nodes)), drawing) for nodes, drawing in pages]


def _drawn_piece(g: nx.DiGraph, nodes: set[str]) -> Drawn:
    return drawn(spliced(subgraph(g, nodes)))


def units(g: nx.DiGraph) -> list[set[str]]:
    """The branches of a page, in its order: per state (and Start), each edge out of it with what is below."""
    return [{anchor} | below(g, child) for anchor in [n for n, d in g.nodes(data=True) if d["kind"] in ANCHORS]
            for child in g.successors(anchor)]


def below(g: nx.DiGraph, node: str) -> set[str]:
    """`node`, every question and branch point under it, the boxes they end at and the states those lead to."""
    found = {node}
    todo = [node] if g.nodes[node]["kind"] in STEPS else []
    while todo:
        for after in g.successors(todo.pop()):
            if after not in found:
                found.add(after)
                if g.nodes[after]["kind"] in STEPS:
                    todo.append(after)
    for box in [n for n in found if g.nodes[n]["kind"] == "outcome"]:
        found |= set(g.successors(box))
    return found


def _cut(g: nx.DiGraph, unit: set[str]) -> list[set[str]]:
    """A branch as pieces that fit: itself, or cut at its first step with more than one way on, one piece per
    way on, each keeping the spine down to the cut (and cut again where still too big)."""
    if _drawn_piece(g, unit)[1].fits:
        return [unit]
    spine, node = _spine(g, unit)
    if node is None:
        return [unit]  # a single path: nothing left to cut
    pieces = []
    for child in g.successors(node):
        if child in unit:
            pieces.extend(_cut(g, spine | {node} | below(g, child)))
    return pieces


def _spine(g: nx.DiGraph, unit: set[str]) -> tuple[set[str], str | None]:
    """The way down from a branch's state to its first step with more than one way on (None: no such step)."""
    anchor = next(n for n in unit if g.nodes[n]["kind"] in ANCHORS and not set(g.predecessors(n)) & unit)
    spine = {anchor}
    node = next(iter(n for n in g.successors(anchor) if n in unit), None)
    while node is not None and g.nodes[node]["kind"] in STEPS:
        ahead = [n for n in g.successors(node) if n in unit]
        if len(ahead) > 1:
            return spine, node
        spine.add(node)
        node = ahead[0] if ahead else None
    return spine, None


def spliced(page: nx.DiGraph) -> nx.DiGraph:
    """A branch point left with one way in and one way out once a page is cut is one edge (`a, b`): nothing
    is decided there, and it is a rank less to draw. The out edge's paths light it for a case."""
    for node in [n for n, d in page.nodes(data=True) if d["kind"] == "junction"]:
        if page.in_degree(node) != 1 or page.out_degree(node) != 1:
            continue
        (u, _, into), = page.in_edges(node, data=True)
        (_, v, out), = page.out_edges(node, data=True)
        if page.has_edge(u, v):
            continue
        page.remove_node(node)
        relation = "if" if "if" in (into["relation"], out["relation"]) else into["relation"]
        page.add_edge(u, v, **{**out, "relation": relation,
                               "label": ", ".join(t for t in (into["label"], out["label"]) if t),
                               "condition": " and ".join(t for t in (into["condition"], out["condition"]) if t),
                               "rules": tuple(dict.fromkeys(into["rules"] + out["rules"]))})
    return page
