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
}


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
        "categories": [(c, tag(c), colours[c]) for c in present],
        "severity": "!! critical    ! warning",
        "case": bool(g.graph.get("case")),
    }


def title(g) -> str:
    view = {"rules": "rules: every fact, rule and recommendation", "flow": "flow: the decision, step by step"}
    text = f"{g.graph['name']} {g.graph['kb_version']}, {view[g.graph['view']]}"
    return text + (" (highlighted: the case's path)" if g.graph.get("case") else "")
