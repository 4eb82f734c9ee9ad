"""How graphs look: colours by category, severity marks, dimming for the case overlay, wrapping, the legend.

Shared by the DOT (and so SVG, PNG, HTML) and Mermaid writers. Colour is never the only cue, so that a
greyscale print still reads: every recommendation also names its category in capitals and marks its
severity (!! critical, ! warning), the kinds of node differ by shape, and precautions by a dashed edge.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

# Assigned to categories in the KB's order (codes.yaml); light enough for black text.
PALETTE = ("#a6cee3", "#fb9a99", "#b2df8a", "#fdbf6f", "#ffff99", "#cab2d6",
           "#8dd3c7", "#e5c494", "#ccebc5", "#d9d9d9", "#fccde5", "#bc80bd")
SEVERITY_MARK = {"critical": "!!", "warning": "!", "info": ""}
SEVERITY_PENWIDTH = {"critical": "2.5", "warning": "1.5", "info": "0.8"}
FONT = "Helvetica"

# Text sizes in points: for a page read on a screen (rules, flow) and for a slide (the overview and the
# deck), where no text is smaller than FLOOR_PX once the page is fitted into FRAME_PX (deck.py checks).
TEXT_PT = {
    "screen": {"title": 16, "node": 10, "detail": 8, "tag": 7, "value": 9, "edge": 8, "branch": 9},
    "slide": {"title": 20, "node": 15, "detail": 14, "tag": 14, "value": 14, "edge": 14, "branch": 14},
}
FRAME_PX = (1920, 1080)
FLOOR_PX = 14

INK = "#1a1a1a"
ON = "#0b3d91"          # the case's path: thick dark border
DIM_FILL = "#f3f3f3"    # not on the case's path
DIM_INK = "#a8a8a8"
DIM_LINE = "#d3d3d3"
STATE_FILL = "#e6e6e6"
DERIVED_FILL = "#eeeeee"

KIND_TEXT = {
    "rules": (("ellipse", "input fact (from the case)"), ("double ellipse", "derived fact (asserted by rules)"),
              ("rounded box", "rule"), ("box", "recommendation, coloured by category")),
    "flow": (("diamond", "decision: one branch per answer"), ("grey box", "state reached (a derived fact)"),
             ("table", "what a rule recommends"), ("dashed edge", "precaution: applies if ...")),
    "overview": (("diamond", "decision: one branch per answer"), ("grey box", "state reached (a derived fact)"),
                 ("table", "what the rules recommend there"), ("dashed edge", "applies if ...")),
}


def text_pt(g) -> dict[str, int]:
    """The text sizes of a graph: a slide's when it is to be shown on one (g.graph["slide"])."""
    return TEXT_PT["slide" if g.graph.get("slide") else "screen"]


# The legend of a slide, one row: the same kinds in fewer words.
SHORT_KIND_TEXT = (("diamond", "decision"), ("grey box", "state reached"), ("table", "what the rules recommend"),
                   ("dashed edge", "applies if ..."))


def category_colours(categories: Iterable[str]) -> dict[str, str]:
    return {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(categories)}


def tag(category: str) -> str:
    """The category as printed on a recommendation: NON ESCALATION."""
    return category.replace("_", " ").upper()


def wrap(text: str, width: int) -> list[str]:
    """Wrap each line of `text` at `width` characters, never splitting words or condition operators."""
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""])
    return out


def is_dim(data: dict[str, Any]) -> bool:
    return data.get("highlight") == "off"


def is_on(data: dict[str, Any]) -> bool:
    return data.get("highlight") == "on"


def legend_rows(g) -> dict[str, Any]:
    """What the legend shows for this graph: node kinds, the categories present, severity, the overlay."""
    present = [c for c in g.graph["categories"]
               if any(c in (d.get("categories") or ()) for _, d in g.nodes(data=True)
                      if d["kind"] in ("recommendation", "outcome"))]
    colours = category_colours(g.graph["categories"])
    return {
        "kinds": KIND_TEXT[g.graph["view"]],
        "short": SHORT_KIND_TEXT,
        "categories": [(c, tag(c), colours[c]) for c in present],
        "severity": "!! critical    ! warning",
        "case": bool(g.graph.get("case")),
        "omitted": tuple(g.graph.get("omitted") or ()),
    }


def title(g) -> str:
    """What every picture says it was drawn from: the KB, its version and profile, and the view."""
    view = {"rules": "rules: every fact, rule and recommendation", "flow": "flow: the decision, step by step",
            "overview": "overview: the decision at a glance"}
    profile = f", profile {g.graph['profile']}" if g.graph.get("profile") else ""
    shown = g.graph.get("page") or view[g.graph["view"]]
    text = f"{g.graph['name']} {g.graph['kb_version']}{profile}, {shown}"
    return text + (" (highlighted: the case's path)" if g.graph.get("case") else "")
