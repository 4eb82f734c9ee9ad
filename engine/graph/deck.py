"""The deck a teacher puts on slides: the overview, then one page per teaching section (teaching.yaml) of
the flow, each a slide that fits FRAME_PX with no text under FLOOR_PX. A page that cannot fit is split
along the flow's decision trees, never shrunk.

A section's page is cut from the flow: the boxes of its rules, the decisions that lead to them back to
the state (or Start) they hang from, the states they lead to, and how those states are reached (one step
back, through decisions; the scope's own tree stays on the page of the rules that hang from it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clonus.engine.decide.result import TraceEntry
from clonus.engine.graph.export.slide import Fit
from clonus.engine.graph.filters import overlay_case, subgraph
from clonus.engine.graph.flow import START
from clonus.engine.graph.paging import ANCHORS, STEPS, paginate, spliced
from clonus.engine.knowledge.model import Kb

if TYPE_CHECKING:
    import networkx as nx



@dataclass(frozen=True)
class Page:
    """One slide of the deck: its file stem (`03-escalation-and-its-limits`), title, graph and drawing."""

    stem: str
    title: str
    graph: nx.DiGraph
    svg: bytes  # as Graphviz drew it (sized in points), for the PDF; export's svg is the scalable one
    fit: Fit


def build_deck(kb: Kb, trace: Iterable[TraceEntry] | None = None) -> list[Page]:
    """The overview and every section's page, in teaching.yaml's order, split where they do not fit; with
    a case's trace, its path lit on every page."""
    from clonus.engine.graph.flow import build_flow
    from clonus.engine.graph.overview import build_overview

    overview, flow = build_overview(kb), build_flow(kb)
    if trace is not None:
        firings = tuple(trace)
        overview, flow = overlay_case(overview, firings), overlay_case(flow, firings)
    overview.graph["page"] = "overview: the decision at a glance"
    pieces = _fitted("Overview", overview)
    for section in kb.teaching.sections:
        g = section_graph(flow, section.title)
        if g is not None:
            pieces.extend(_fitted(section.title, g))
    return [Page(f"{n:02d}-{_slug(title)}", title, g, svg, fit)
            for n, (title, g, svg, fit) in enumerate(pieces, start=1)]


def section_graph(flow: nx.DiGraph, section: str) -> nx.DiGraph | None:
    """The flow's page for one section (see the module docstring); None if no rule of it is drawn."""
    boxes = [n for n, d in flow.nodes(data=True) if d["kind"] == "outcome" and d.get("section") == section]
    if not boxes:
        return None
    keep = set(boxes)
    for box in boxes:
        keep |= _back_to_anchor(flow, box)
        keep |= {v for _, v, d in flow.out_edges(box, data=True) if d["relation"] == "asserts"}
    for state in [n for n in keep if flow.nodes[n]["kind"] == "state"]:
        keep |= _ways_in(flow, state)
    page = spliced(subgraph(flow, keep))
    page.graph.update(slide=True, page=section)
    for node, data in page.nodes(data=True):  # a box of another section, as the way in: its first line only
        if data["kind"] == "outcome" and node not in boxes:
            data.update(context=True, summary=data["items"][:1])
    return page


def _back_to_anchor(g: nx.DiGraph, node: str) -> set[str]:
    """Every decision on the way to `node` from the state or Start whose tree it hangs from, and that anchor."""
    seen: set[str] = set()
    todo = [node]
    while todo:
        for before in g.predecessors(todo.pop()):
            if before not in seen and g.nodes[before]["kind"] in (*ANCHORS, *STEPS):
                seen.add(before)
                if g.nodes[before]["kind"] in STEPS:
                    todo.append(before)
    return seen


def _ways_in(g: nx.DiGraph, state: str) -> set[str]:
    """How a state is reached: the decisions into it back to the previous state, or the box that asserts it
    (as a box of context); the Start's tree (the scope) is left to its own page."""
    seen: set[str] = set()
    for before in g.predecessors(state):
        kind = g.nodes[before]["kind"]
        if kind in STEPS and not before.startswith(("q:start:", "j:start:")):
            seen |= {before} | {n for n in _back_to_anchor(g, before) if not n.startswith(("q:start:", "j:start:"))}
        elif kind in ("state", "outcome"):
            seen.add(before)
    seen.discard(START)
    return seen


# -- fitting ------------------------------------------------------------------------------------------------

def _fitted(title: str, g: nx.DiGraph) -> list[tuple[str, nx.DiGraph, bytes, Fit]]:
    """The page, or the pages it is cut into where it does not fit (paging.py), numbered `(i of n)`."""
    parts = paginate(g)
    if len(parts) > 1:
        for i, (part, _) in enumerate(parts, start=1):
            part.graph["page"] = f"{g.graph['page']} ({i} of {len(parts)})"
    return [(f"{title} ({i} of {len(parts)})" if len(parts) > 1 else title, part, *drawing)
            for i, (part, drawing) in enumerate(parts, start=1)]


def deck_files(pages: list[Page], title: str) -> dict[str, bytes]:
    """What `clonus graph --deck DIR` writes: each page as SVG and PNG, index.html stepping through them
    offline, and handout.pdf with a page each."""
    from clonus.engine.graph.export.deck_html import to_deck_html
    from clonus.engine.graph.export.dot import to_dot
    from clonus.engine.graph.export.formats import render, scalable
    from clonus.engine.graph.export.pdf import to_pdf
    from clonus.engine.graph.export.slide import framed_png

    files: dict[str, bytes] = {}
    for page in pages:
        files[f"{page.stem}.svg"] = scalable(page.svg)
        files[f"{page.stem}.png"] = framed_png(render, to_dot(page.graph))
    files["index.html"] = to_deck_html([(p.stem, p.title, p.svg) for p in pages], title).encode()
    files["handout.pdf"] = to_pdf([p.svg for p in pages], title)
    return files


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
