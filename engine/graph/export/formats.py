"""Export a graph: DOT, Mermaid, GraphML, JSON node-link, SVG, PNG, PDF and a self-contained HTML page.

SVG and PNG (and the drawing inside the HTML page and the PDF) are laid out by Graphviz `dot`, run as
the `graphviz-pure` program that the graphviz-pure wheel installs beside Python: a static build with its
own fonts, so rendering needs no system package and gives the same bytes on every machine. It draws no
PDF: pdf.py turns its SVG into vector PDF pages (svglib and ReportLab, pure Python). A slide (the
overview, a deck page) is a PNG of exactly the frame (slide.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from clonus.engine.errors import GraphError, RenderError, shown
from clonus.engine.graph.style import (
    DIM_FILL,
    DIM_INK,
    DIM_LINE,
    INK,
    ON,
    SEVERITY_MARK,
    category_colours,
    is_dim,
    is_on,
    legend_rows,
    tag,
    title,
)

FORMATS = ("dot", "mermaid", "graphml", "json", "svg", "png", "pdf", "html")
SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".graphml": "graphml",
            ".json": "json", ".svg": "svg", ".png": "png", ".pdf": "pdf", ".html": "html", ".htm": "html"}
PNG_DPI = 110


RENDER_TIMEOUT_S = 120


def export(g, fmt: str) -> bytes:
    """The graph in one format, as the bytes to write."""
    from clonus.engine.graph.export.dot import to_dot

    if fmt == "dot":
        return to_dot(g).encode()
    if fmt == "mermaid":
        return to_mermaid(g).encode()
    if fmt == "graphml":
        return to_graphml(g).encode()
    if fmt == "json":
        return to_json(g).encode()
    if fmt == "svg":
        return scalable(render(to_dot(g), "svg"))
    if fmt == "png":
        if g.graph.get("slide"):
            from clonus.engine.graph.export.slide import framed_png

            return framed_png(render, to_dot(g))
        return render(to_dot(g), "png")
    if fmt == "pdf":
        from clonus.engine.graph.export.pdf import to_pdf

        return to_pdf([render(to_dot(g), "svg")], title(g))
    if fmt == "html":
        from clonus.engine.graph.export.html import to_html

        return to_html(g, render(to_dot(g), "svg").decode()).encode()
    raise GraphError(f"unknown format {shown(fmt)}; use one of {', '.join(FORMATS)}")


# -- rendering --------------------------------------------------------------------------------------------

def renderer() -> str:
    """The graphviz-pure program: beside this Python first (a venv that is not activated), then on PATH."""
    name = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found:
        return found
    raise RenderError("cannot draw SVG or PNG: the graphviz-pure program is missing; it comes with clonus "
                     "(pip install clonus, or pip install graphviz-pure)")


def render(dot: str, fmt: str, dpi: float | None = PNG_DPI) -> bytes:
    """Lay out DOT text with Graphviz dot and draw it as svg or png (at `dpi`)."""
    args = [renderer(), "-Kdot", f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" and dpi else [])
    try:
        proc = subprocess.run(args, input=dot.encode(), capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"graphviz-pure could not draw the graph: {exc}") from exc
    if proc.returncode != 0 or not proc.stdout:
        raise RenderError(f"graphviz-pure could not draw the graph: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def scalable(svg: bytes) -> bytes:
    """The SVG sized by the window it opens in: width and height 100% of it, the drawing fitted by its
    viewBox (Graphviz writes its size in points, so a browser showed only the top-left corner)."""
    return re.sub(rb'<svg width="[^"]*" height="[^"]*"', b'<svg width="100%" height="100%" '
                  b'preserveAspectRatio="xMidYMid meet"', svg, count=1)


# -- data formats -----------------------------------------------------------------------------------------

def to_json(g) -> str:
    """Node-link JSON (Cytoscape, D3); read back with networkx.node_link_graph(data, edges="edges")."""
    import networkx as nx

    data = nx.node_link_data(g, edges="edges")
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def to_graphml(g) -> str:
    """GraphML (Gephi, yEd). GraphML holds scalars only: lists and mappings are written as JSON text."""
    import networkx as nx

    flat: nx.DiGraph[str] = nx.DiGraph()
    flat.graph.update(flatten(g.graph))
    flat.add_nodes_from((n, flatten(d)) for n, d in g.nodes(data=True))
    flat.add_edges_from((u, v, flatten(d)) for u, v, d in g.edges(data=True))
    return "\n".join(nx.generate_graphml(flat, prettyprint=True)) + "\n"


def flatten(attrs: dict[str, Any]) -> dict[str, Any]:
    """Attributes as GraphML stores them: str, int, float and bool as they are, others as JSON, None dropped."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        scalar = isinstance(value, (str, bool, int, float))
        out[key] = value if scalar else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return out


# -- Mermaid ----------------------------------------------------------------------------------------------

_MERMAID_SHAPES = {"input": ('(["', '"])'), "derived": ('{{"', '"}}'), "rule": ('("', '")'),
                   "recommendation": ('["', '"]'), "start": ('(["', '"])'), "state": ('[["', '"]]'),
                   "question": ('{"', '"}'), "junction": ('(("', '"))'), "outcome": ('["', '"]')}


def to_mermaid(g) -> str:
    """A Mermaid flowchart (renders in GitHub Markdown), with the legend as a subgraph."""
    from clonus.engine.graph.export.dot import svg_ids

    ids = svg_ids(g)
    colours = category_colours(g.graph["categories"])
    lines = [f"%% {_mm_comment(title(g))}", "%% generated by clonus graph from the KB: do not edit by hand",
             f"flowchart {'LR' if g.graph['view'] == 'rules' else 'TB'}"]
    classes: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        opening, closing = _MERMAID_SHAPES[data["kind"]]
        lines.append(f"  {ids[node]}{opening}{_mm_text(_mm_label(data))}{closing}")
        for cls in _mm_classes(data):
            classes.setdefault(cls, []).append(ids[node])
    styles: dict[str, list[str]] = {}
    for index, (u, v, data) in enumerate(g.edges(data=True)):
        arrow = "-.->" if data["relation"] in ("if", "computes") else "==>" if data["relation"] == "asserts" else "-->"
        label = f'|"{_mm_text(data["label"])}"|' if data["label"] else ""
        lines.append(f"  {ids[u]} {arrow}{label} {ids[v]}")
        if is_on(data) or is_dim(data):
            style = f"stroke:{ON},stroke-width:3px" if is_on(data) else f"stroke:{DIM_LINE}"
            styles.setdefault(style, []).append(str(index))
    lines.extend(_mm_legend(g, colours))
    lines.extend(_mm_class_defs(g, colours, classes))
    lines.extend(f"  linkStyle {','.join(indexes)} {style}" for style, indexes in styles.items())
    return "\n".join(lines) + "\n"


def _mm_label(data: dict) -> str:
    kind = data["kind"]
    if kind == "junction":
        return " "
    if kind == "rule":
        status = "" if data["status"] == "approved" else f"\n({data['status']})"
        return f"{data['label']}\n{data['title']}{status}"
    if kind == "recommendation":
        mark = SEVERITY_MARK[data["severity"]]
        return f"{data['label']}\n{tag(data['category'])}{' ' + mark if mark else ''}"
    if kind == "outcome":  # the overview's boxes show their summary, a grouped section under its name
        rows = [data["label"]] if data.get("grouped") else []
        rows += [f"{tag(cat)}: {text}{' ' + SEVERITY_MARK[sev] if SEVERITY_MARK[sev] else ''}"
                 for _code, text, cat, sev in data.get("summary") or data["items"]]
        return "\n".join(rows + [f"sets: {fact}" for fact in data["sets"]])
    if kind == "question" and data.get("note"):
        return f"{data['label']}\n{data['note']}"
    if data.get("value") is not None:
        return f"{data['label']}\n= {data['value']}"
    return data["label"]


def _mm_classes(data: dict) -> list[str]:
    kind = data["kind"]
    out = [f"k_{kind}"]
    if kind in ("recommendation", "outcome"):
        out.append("cat_" + (data["categories"][0] if kind == "outcome" else data["category"]))
        if data["severity"] == "critical":
            out.append("critical")
    if data.get("status") not in (None, "approved"):
        out.append("draft")
    if is_on(data) or is_dim(data):
        out.append("on" if is_on(data) else "dim")
    return out


def _mm_class_defs(g, colours: dict[str, str], classes: dict[str, list[str]]) -> list[str]:
    defs = {"k_input": f"fill:#ffffff,stroke:{INK}", "k_derived": f"fill:#eeeeee,stroke:{INK},stroke-width:2px",
            "k_rule": f"fill:#ffffff,stroke:{INK}", "k_start": "fill:#333333,stroke:#333333,color:#ffffff",
            "k_state": f"fill:#e6e6e6,stroke:{INK},stroke-width:2px", "k_question": f"fill:#ffffff,stroke:{INK}",
            "k_junction": f"fill:{INK},stroke:{INK}", "k_recommendation": f"stroke:{INK}", "k_outcome": f"stroke:{INK}",
            "critical": "stroke-width:3px", "draft": "stroke-dasharray:5 3",
            "on": f"stroke:{ON},stroke-width:3px", "dim": f"fill:{DIM_FILL},stroke:{DIM_LINE},color:{DIM_INK}"}
    defs.update({f"cat_{c}": f"fill:{colour},color:{INK}" for c, colour in colours.items()})
    lines = [f"  classDef {name} {style}" for name, style in defs.items() if name in classes]
    lines += [f"  class {','.join(members)} {name}" for name, members in classes.items() if name in defs]
    return lines


def _mm_legend(g, colours: dict[str, str]) -> list[str]:
    legend = legend_rows(g)
    lines = ['  subgraph legend["Legend"]', "    direction TB"]
    for i, (shape, meaning) in enumerate(legend["kinds"]):
        lines.append(f'    legend_kind_{i}["{_mm_text(f"{shape}: {meaning}")}"]')
    for category, label, _colour in legend["categories"]:
        lines.append(f'    legend_cat_{re.sub(r"[^A-Za-z0-9]", "_", category)}["{_mm_text(label)}"]')
    lines.append(f'    legend_severity["{_mm_text("!! critical, ! warning")}"]')
    lines.append("  end")
    lines += [f"  style legend_cat_{re.sub(r'[^A-Za-z0-9]', '_', c)} fill:{colour}"
              for c, _label, colour in legend["categories"]]
    return lines


def _mm_text(text: str) -> str:
    """Text for inside Mermaid quotes, <br/> for new lines. Mermaid 11 leaves its #name; entity codes
    undecoded in edge labels, so none are used: `<` and `>` stay as they are (a `<` that could open an
    HTML tag gets a space), `"` becomes `'`, and a `#` that would read as an entity code gets a space."""
    text = re.sub(r"<(?=[A-Za-z/!?])", "< ", text.replace('"', "'"))
    text = re.sub(r"#(?=\w+;)", "# ", text)
    return text.replace("\n", "<br/>")


def _mm_comment(text: str) -> str:
    return text.replace("\n", " ")
