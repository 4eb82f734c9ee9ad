"""Write a graph (either view) as Graphviz DOT: styled for reading, with the graph's data kept as attributes.

Besides the drawing attributes, every node keeps `kind` (and category, severity, status, sources where
they apply) and every edge `relation` and `condition`, so the DOT file is data as well as a picture. The
SVG element id of a node is `id` (see svg_ids), which the HTML view uses to find a clicked node, and of an
edge `e_<n>` (edge_ids), by which the case explorer lights a case's path.
"""

from __future__ import annotations

import html
import re
from typing import Any

from clonus.engine.graph.style import (
    DERIVED_FILL,
    DIM_FILL,
    DIM_INK,
    DIM_LINE,
    FONT,
    FRAME_PX,
    INK,
    ON,
    SEVERITY_MARK,
    SEVERITY_PENWIDTH,
    STATE_FILL,
    category_colours,
    is_dim,
    is_on,
    legend_rows,
    tag,
    text_pt,
    title,
    wrap,
)

LEGEND_ID = "clonus_legend"
SUMMARY_WIDTH = 44
NOTE_WRAP = 48  # characters a line of a slide's side note holds
_EM = 0.48  # the width of an average character of Helvetica, in font sizes (to lay out a slide's title)
EDGE_WRAP = {"rules": 26, "flow": 30, "overview": 40}  # characters a line of an edge label holds
_LAYOUT = {
    "rules": {"rankdir": "LR", "ranksep": "1.1", "nodesep": "0.14"},
    "flow": {"rankdir": "TB", "ranksep": "0.42", "nodesep": "0.28"},
    "overview": {"rankdir": "TB", "ranksep": "0.15", "nodesep": "0.1"},
}
# A slide is laid out to fit FRAME_PX at one point a pixel: `compress` packs it into that size, and a
# drawing that still does not fit comes out scaled down (deck.py then splits the page: never shrunk).
SLIDE_LAYOUT = {"size": f"{FRAME_PX[0] / 72:.3f},{FRAME_PX[1] / 72:.3f}", "ratio": "compress", "pad": "0.1"}


class Html(str):
    """A Graphviz HTML-like label, written between < and > instead of quotes."""


def svg_ids(g) -> dict[str, str]:
    """A stable, unique element id for every node (SVG, HTML and Mermaid): `n_` and the node id with every
    character but letters, digits and _ as _ (Graphviz would write - as an entity in SVG)."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for node in g.nodes:
        base = "n_" + re.sub(r"[^A-Za-z0-9_]", "_", node)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}_{n}"
        ids[node] = candidate
        taken.add(candidate)
    return ids


def edge_ids(g) -> dict[tuple[str, str], str]:
    """A stable element id for every edge (`e_<n>`, in the graph's edge order): the HTML page lights a
    case's path by them."""
    return {(u, v): f"e_{i}" for i, (u, v) in enumerate(g.edges)}


def to_dot(g) -> str:
    """The graph as DOT text; the same graph gives the same bytes."""
    view = g.graph["view"]
    colours = category_colours(g.graph["categories"])
    ids = svg_ids(g)
    pt = text_pt(g)
    graph = {**_LAYOUT[view], "fontname": FONT, "fontsize": pt["title"], "labelloc": "t", "labeljust": "l",
             "label": title(g), "pad": "0.3", "bgcolor": "white", "outputorder": "edgesfirst"}
    if g.graph.get("slide"):  # the legend goes in the title: one row above the drawing, not a node in it
        graph.update(SLIDE_LAYOUT, label=_slide_title(g, pt))
    out = [f"digraph {_q('clonus_' + view)} {{",
           f"  graph [{_attrs(graph.items())}];",
           f'  node [fontname="{FONT}", fontsize="{pt["node"]}", color="{INK}", fontcolor="{INK}", '
           'margin="0.08,0.04"];',
           f'  edge [fontname="{FONT}", fontsize="{pt["edge"]}", color="#555555", fontcolor="#333333", '
           'arrowsize="0.7"];']
    slide = bool(g.graph.get("slide"))
    for node, data in g.nodes(data=True):
        style = _NODE_STYLES[data["kind"]](data if not slide else {**data, "note": ""}, colours, pt)
        if is_on(data):
            style.update(penwidth="3", color=ON)
        out.append(f"  {_q(node)} [{_attrs([*style.items(), ('id', ids[node]), *_data(data)])}];")
        if slide and data.get("note"):
            out.extend(_side_note(node, ids[node], data, pt))
    edges = edge_ids(g)
    for u, v, data in g.edges(data=True):
        style = _edge_style(view, data, g.nodes[u]["label"], pt)
        meta = [("relation", data["relation"])] + ([("condition", data["condition"])] if data.get("condition") else [])
        out.append(f"  {_q(u)} -> {_q(v)} [{_attrs([*style.items(), ('id', edges[u, v]), *meta])}];")
    if not g.graph.get("slide"):
        out.append(f"  {_q(LEGEND_ID)} [{_attrs([('shape', 'plain'), ('id', LEGEND_ID), ('label', _legend(g, pt))])}];")
    out.append("}")
    return "\n".join(out) + "\n"


# -- nodes ----------------------------------------------------------------------------------------------

def _fact(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    lines = [html.escape(data["label"])]
    if data.get("value") is not None:
        lines.append(f'<FONT POINT-SIZE="{pt["value"]}"><B>= {html.escape(str(data["value"]))}</B></FONT>')
    style = {"shape": "ellipse", "style": "filled", "fillcolor": "white", "label": Html("<BR/>".join(lines))}
    if data["kind"] == "derived":
        style.update(peripheries="2", fillcolor=DERIVED_FILL)
    return _dimmed(style, data)


def _rule(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    title_lines = "<BR/>".join(html.escape(t) for t in wrap(data["title"], 34))
    small = f'<FONT POINT-SIZE="{pt["detail"]}">'
    status = "" if data["status"] == "approved" else f'<BR/>{small}<I>{data["status"]}</I></FONT>'
    label = f'<B>{html.escape(data["label"])}</B><BR/>{small}{title_lines}</FONT>{status}'
    style = {"shape": "box", "style": "rounded,filled" + ("" if data["status"] == "approved" else ",dashed"),
             "fillcolor": "white", "label": Html(label), "tooltip": data["title"]}
    return _dimmed(style, data)


def _recommendation(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    mark = SEVERITY_MARK[data["severity"]]
    label = (f'<B>{html.escape(data["label"])}</B><BR/>'
             f'<FONT POINT-SIZE="{pt["tag"]}">{tag(data["category"])}{" " + mark if mark else ""}</FONT>')
    style = {"shape": "box", "style": "filled", "fillcolor": colours[data["category"]],
             "penwidth": SEVERITY_PENWIDTH[data["severity"]], "label": Html(label), "tooltip": data["title"]}
    return _dimmed(style, data)


def _start(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    style = {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#333333", "fontcolor": "white",
             "label": Html(f"<B>{html.escape(data['label'])}</B>")}
    return style


def _state(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    style = {"shape": "box", "style": "rounded,filled,bold", "fillcolor": STATE_FILL, "penwidth": "1.5",
             "label": Html(f"<B>{html.escape(data['label'])}</B>"), "tooltip": data["text"]}
    return _dimmed(style, data)


def _question(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    label = f"<B>{html.escape(data['label'])}</B>"
    if data.get("note"):
        note = "<BR/>".join(html.escape(t) for t in wrap(data["note"], 30))
        label += f'<BR/><FONT POINT-SIZE="{pt["detail"]}">{note}</FONT>'
    style = {"shape": "diamond", "style": "filled", "fillcolor": "white", "margin": "0.02,0.02",
             "label": Html(label), "tooltip": data["text"]}
    return _dimmed(style, data)


def _side_note(node: str, node_id: str, data: dict, pt: dict[str, int]) -> list[str]:
    """A slide's question note (`set by: ...`) as a note beside its diamond, on the same rank and tied to it
    by a dotted line: inside the diamond it would make the diamond grow in both directions."""
    note = f"{node}#note"
    text = "<BR ALIGN=\"LEFT\"/>".join(html.escape(t) for t in wrap(data["note"], NOTE_WRAP)) + '<BR ALIGN="LEFT"/>'
    ink = DIM_INK if is_dim(data) else INK
    style = {"shape": "note", "style": "filled", "fillcolor": "white", "color": DIM_LINE if is_dim(data) else INK,
             "label": Html(f'<FONT POINT-SIZE="{pt["detail"]}" COLOR="{ink}">{text}</FONT>'), "id": f"{node_id}_note"}
    tie = {"style": "dotted", "arrowhead": "none", "weight": "10", "id": f"{node_id}_note_tie"}
    return [f"  {_q(note)} [{_attrs(style.items())}];",
            f"  {{ rank=same; {_q(node)}; {_q(note)}; }}",
            f"  {_q(node)} -> {_q(note)} [{_attrs(tie.items())}];"]


def _junction(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    return _dimmed({"shape": "point", "width": "0.07", "label": ""}, data)


def _outcome(data: dict, colours: dict, pt: dict[str, int]) -> dict[str, Any]:
    """A rule's box: a table of what it recommends (in the overview: each rule's first recommendation,
    under the section's name when the section is grouped), then the facts it sets."""
    dim = is_dim(data)
    ink = DIM_INK if dim else INK
    rows = []
    if data.get("grouped"):
        rows.append(f'<TR><TD COLSPAN="3" ALIGN="LEFT"><FONT COLOR="{ink}"><B>{html.escape(data["label"])}</B>'
                    '</FONT></TD></TR>')
    if data.get("summary"):
        rows.extend(_summary_rows(data["summary"], colours, pt, ink, dim))
    for _code, item_title, category, severity in () if data.get("summary") else data["items"]:
        fill = DIM_FILL if dim else colours[category]
        mark = SEVERITY_MARK[severity]
        mark_cell = f'<FONT COLOR="{ink}"><B>{mark}</B></FONT>' if mark else ""
        text = "<BR ALIGN=\"LEFT\"/>".join(html.escape(t) for t in wrap(item_title, 30))
        text = f"<B>{text}</B>" if severity == "critical" else text
        rows.append(f'<TR><TD BGCOLOR="{fill}" ALIGN="LEFT"><FONT POINT-SIZE="{pt["tag"]}" COLOR="{ink}">'
                    f'{tag(category)}'
                    f'</FONT></TD><TD BGCOLOR="{fill}" ALIGN="LEFT" BALIGN="LEFT"><FONT COLOR="{ink}">{text}</FONT>'
                    f'</TD><TD BGCOLOR="{fill}">{mark_cell}</TD></TR>')
    for fact in data["sets"]:
        rows.append(f'<TR><TD COLSPAN="3" ALIGN="LEFT"><FONT POINT-SIZE="{pt["detail"]}" COLOR="{ink}"><I>sets: '
                    f'{html.escape(fact)}'
                    f'</I></FONT></TD></TR>')
    border = DIM_LINE if dim else (ON if is_on(data) else INK)
    width = "3" if is_on(data) else "1"
    dashed = "" if data["status"] == "approved" else ' STYLE="dashed"'
    table = (f'<TABLE BORDER="{width}" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="{border}"'
             f' BGCOLOR="white"{dashed}>{"".join(rows)}</TABLE>')
    return {"shape": "plain", "label": Html(table), "tooltip": data["title"]}


def _summary_rows(summary, colours: dict, pt: dict[str, int], ink: str, dim: bool) -> list[str]:
    """The overview's box: one row per category, its recommendations in a paragraph (`, ` between them,
    lines filled up to SUMMARY_WIDTH characters), critical ones in bold, each with its severity mark."""
    by_category: dict[str, list[tuple[str, str]]] = {}
    for _code, item_title, category, severity in summary:
        by_category.setdefault(category, []).append((item_title, severity))
    rows = []
    for category, items in by_category.items():
        lines: list[list[str]] = [[]]
        used = 0
        for item_title, severity in items:
            mark = SEVERITY_MARK[severity]
            words = f"{item_title} {mark}".strip()
            if lines[-1] and used + 2 + len(words) > SUMMARY_WIDTH:
                lines.append([])
                used = 0
            used += len(words) + (2 if lines[-1] else 0)
            shown = html.escape(item_title) + (f" <B>{mark}</B>" if mark else "")
            lines[-1].append(f"<B>{shown}</B>" if severity == "critical" else shown)
        text = '<BR ALIGN="LEFT"/>'.join(", ".join(line) for line in lines)
        fill = DIM_FILL if dim else colours[category]
        rows.append(f'<TR><TD BGCOLOR="{fill}" ALIGN="LEFT" VALIGN="TOP"><FONT POINT-SIZE="{pt["tag"]}" '
                    f'COLOR="{ink}">{tag(category)}</FONT></TD><TD COLSPAN="2" BGCOLOR="{fill}" ALIGN="LEFT" '
                    f'BALIGN="LEFT"><FONT COLOR="{ink}">{text}</FONT></TD></TR>')
    return rows


_NODE_STYLES = {"input": _fact, "derived": _fact, "rule": _rule, "recommendation": _recommendation,
                "start": _start, "state": _state, "question": _question, "junction": _junction,
                "outcome": _outcome}


def _dimmed(style: dict[str, Any], data: dict) -> dict[str, Any]:
    if is_dim(data):
        style.update(fillcolor=DIM_FILL, color=DIM_LINE, fontcolor=DIM_INK)
        if isinstance(style.get("label"), Html):
            style["label"] = Html(f'<FONT COLOR="{DIM_INK}">{style["label"]}</FONT>')
    return style


def _data(data: dict) -> list[tuple[str, str]]:
    """The node's data, kept in the DOT file next to its drawing."""
    out = [("kind", data["kind"])]
    for key in ("category", "severity", "status"):
        if data.get(key):
            out.append((key, str(data[key])))
    if data.get("sources"):
        out.append(("sources", " ".join(data["sources"])))
    return out


# -- edges ----------------------------------------------------------------------------------------------

def _edge_style(view: str, data: dict, source: str, pt: dict[str, int]) -> dict[str, Any]:
    """Line style by relation; a label that only repeats the fact it comes from (a bare yes) is not drawn."""
    relation = data["relation"]
    shown = data["label"] if data["label"] != source else ""
    label = "\n".join(wrap(shown, EDGE_WRAP.get(view, 30))) if shown else ""
    style: dict[str, Any] = {"label": label} if label else {}
    if relation == "reads":
        style.update(color="#7a7a7a", fontcolor="#444444")
    elif relation == "asserts":
        style.update(color=INK, penwidth="1.6")
    elif relation == "recommends":
        style.update(color="#9a9a9a", arrowhead="vee")
    elif relation == "computes":
        style.update(style="dotted")
    elif relation == "if":
        style.update(style="dashed")
    elif relation == "branch":
        style.update(color=INK, fontcolor=INK, fontsize=pt["branch"])
    if is_on(data):
        style.update(color=ON, penwidth="2.6", fontcolor=ON)
    elif is_dim(data):
        style.update(color=DIM_LINE, fontcolor=DIM_INK)
    return style


# -- legend ---------------------------------------------------------------------------------------------

def _slide_title(g, pt: dict[str, int]) -> Html:
    """A slide's title: what it was drawn from, and the legend beside it, or under it (in as many rows as
    it needs) when the two would be wider than the frame."""
    name = title(g)
    cells = _slide_legend_cells(legend_rows(g))
    room = FRAME_PX[0] * 0.95 / (pt["detail"] * _EM)  # characters of legend text a row holds
    rows: list[list[tuple[str, str]]] = [[]]
    for cell in cells:
        if rows[-1] and sum(len(text) for _, text in rows[-1]) + len(cell[1]) > room:
            rows.append([])
        rows[-1].append(cell)
    legend = "".join(f'<TR>{"".join(markup for markup, _ in row)}</TR>' for row in rows)
    legend = (f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{pt["detail"]}"><TABLE BORDER="1" CELLBORDER="0" '
              f'CELLSPACING="0" CELLPADDING="2" COLOR="{INK}">{legend}</TABLE></FONT></TD>')
    head = f'<TD ALIGN="LEFT"><FONT POINT-SIZE="{pt["title"]}">{html.escape(name)}</FONT></TD>'
    wide = len(name) * pt["title"] * _EM + sum(len(t) for _, t in cells) * pt["detail"] * _EM
    layout = f"<TR>{head}{legend}</TR>" if len(rows) == 1 and wide <= FRAME_PX[0] * 0.95 else \
        f"<TR>{head}</TR><TR>{legend}</TR>"
    return Html(f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2">{layout}</TABLE>')


def _legend(g, pt: dict[str, int]) -> Html:
    rows = _legend_rows(legend_rows(g), pt)
    return Html(f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" BGCOLOR="white" COLOR="{INK}">'
                f'{"".join(rows)}</TABLE>')


def _slide_legend_cells(legend: dict) -> list[tuple[str, str]]:
    """A slide's legend, as cells (markup, text): the kinds of node and the marks (every box names its
    category)."""
    cells = [("<TD><B>Legend</B></TD>", "Legend")]
    cells += [(f"<TD><I>{shape}</I>: {html.escape(meaning)}</TD>", f"{shape}: {meaning}")
              for shape, meaning in legend["short"]]
    cells.append(("<TD><B>!!</B> critical, <B>!</B> warning</TD>", "!! critical, ! warning"))
    if legend["case"]:
        cells.append((f'<TD><FONT COLOR="{ON}"><B>thick, dark</B></FONT>: the case\'s path</TD>',
                      "thick, dark: the case's path"))
    if legend["omitted"]:
        shown = ", ".join(legend["omitted"])
        cells.append((f"<TD>not shown: {html.escape(shown)}</TD>", f"not shown: {shown}"))
    return cells


def _legend_rows(legend: dict, pt: dict[str, int]) -> list[str]:
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    for shape, meaning in legend["kinds"]:
        rows.append(f'<TR><TD ALIGN="LEFT"><I>{shape}</I></TD><TD ALIGN="LEFT">{html.escape(meaning)}</TD></TR>')
    if legend["categories"]:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Recommendation categories</B></TD></TR>')
        for _category, label, colour in legend["categories"]:
            rows.append(f'<TR><TD COLSPAN="2" BGCOLOR="{colour}" ALIGN="LEFT">'
                        f'<FONT POINT-SIZE="{pt["detail"]}">{label}</FONT></TD></TR>')
        rows.append('<TR><TD ALIGN="LEFT"><B>!! / !</B></TD><TD ALIGN="LEFT">critical / warning</TD></TR>')
    if legend["case"]:
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{ON}"><B>thick, dark</B></FONT></TD>'
                    f'<TD ALIGN="LEFT">on the case\'s path</TD></TR>')
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT COLOR="{DIM_INK}">grey</FONT></TD>'
                    f'<TD ALIGN="LEFT">not on it</TD></TR>')
    return rows


# -- DOT syntax -----------------------------------------------------------------------------------------

def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(items) -> str:
    return ", ".join(f"{key}=<{value}>" if isinstance(value, Html) else f"{key}={_q(str(value))}"
                     for key, value in items)
