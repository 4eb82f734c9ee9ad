"""One self-contained HTML page for a graph: the SVG drawing inline, pan and zoom, and a click on a node
shows its rule, rationale and sources; with cases, a case explorer (pick a case: its path lit, its
decisions and its advice beside the drawing). No script, style or font is fetched: it works offline.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from clonus.engine.graph.export.dot import svg_ids
from clonus.engine.graph.style import title


def to_html(g, svg: str, cases: Sequence[Mapping[str, Any]] = ()) -> str:
    """The page: `svg` is the drawing of `g` (from graph_dot.to_dot, rendered), whose node ids are svg_ids(g)
    and edge ids edge_ids(g). With `cases` it is a case explorer: a list to pick a case from, its path lit
    and, beside the drawing, its decisions and advice. Each case (engine/explain/explorer.py makes them):
    name, summary, nodes and edges (the element ids on its path), decisions ([question, value, answer])
    and advice (text)."""
    data = {"nodes": _details(g), "sources": g.graph["sources"], "view": g.graph["view"], "cases": list(cases)}
    payload = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":")).replace("<", "\\u003c")
    page = _TEMPLATE.replace("@@TITLE@@", html.escape(title(g) + (" - case explorer" if cases else "")))
    page = page.replace("@@PICKER@@", _picker(cases) if cases else "")
    page = page.replace("@@SVG@@", _inline_svg(svg))
    return page.replace("@@DATA@@", payload)


def _picker(cases: Sequence[Mapping[str, Any]]) -> str:
    options = "".join(f'<option value="{i}">{html.escape(c["name"])}</option>' for i, c in enumerate(cases))
    return (f'<label for="case">Case</label> <select id="case">{options}</select>')


def _inline_svg(svg: str) -> str:
    """The SVG without its XML prolog and comments, sized by the page instead of in points."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg id="graph" width="100%" height="100%"', svg, count=1)


def _details(g) -> dict[str, dict[str, Any]]:
    """What the details panel shows for each node, keyed by the node's SVG element id."""
    ids = svg_ids(g)
    out: dict[str, dict[str, Any]] = {}
    for node, data in g.nodes(data=True):
        entry = {key: value for key, value in data.items() if key not in ("paths", "refs")}
        entry["id"] = node
        entry["incoming"] = [[_name(g, u), d["label"]] for u, _, d in g.in_edges(node, data=True) if _name(g, u)]
        entry["outgoing"] = [[_name(g, v), d["label"]] for _, v, d in g.out_edges(node, data=True) if _name(g, v)]
        out[ids[node]] = entry
    return out


def _name(g, node: str) -> str:
    data = g.nodes[node]
    return data.get("title") or data["label"] if data["kind"] != "junction" else ""


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
  html, body { margin: 0; height: 100%; font: 14px/1.45 Helvetica, Arial, sans-serif; color: #1a1a1a; }
  body { display: flex; flex-direction: column; }
  header { display: flex; align-items: center; gap: 12px; padding: 8px 14px; border-bottom: 1px solid #ccc; }
  header h1 { font-size: 15px; margin: 0; flex: 1; font-weight: 600; }
  header button { font: inherit; min-width: 34px; padding: 3px 8px; cursor: pointer; }
  main { flex: 1; display: flex; min-height: 0; }
  #canvas { flex: 1; overflow: hidden; cursor: grab; background: #fff; touch-action: none; }
  #canvas.dragging { cursor: grabbing; }
  #canvas svg { display: block; user-select: none; }
  #canvas g.node { cursor: pointer; }
  #canvas g.node.selected polygon, #canvas g.node.selected ellipse, #canvas g.node.selected path {
    stroke: #d95f02; stroke-width: 4px; }
  aside { width: 380px; overflow-y: auto; border-left: 1px solid #ccc; padding: 12px 16px; background: #fafafa; }
  aside h2 { font-size: 17px; margin: 4px 0 2px; }
  aside .kind { color: #555; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  aside h3 { font-size: 13px; margin: 14px 0 4px; text-transform: uppercase; color: #444; }
  aside ul { padding-left: 18px; margin: 4px 0; }
  aside code { font-size: 12px; background: #eee; padding: 0 3px; }
  aside .hint { color: #555; }
  header select { font: inherit; max-width: 340px; }
  #canvas svg.has-case g.node:not(.lit), #canvas svg.has-case g.edge:not(.lit) { opacity: 0.22; }
  #canvas svg.has-case g.edge.lit path { stroke: #0b3d91; stroke-width: 3px; }
  #canvas svg.has-case g.edge.lit polygon { stroke: #0b3d91; fill: #0b3d91; }
  #canvas svg.has-case g.node.lit polygon, #canvas svg.has-case g.node.lit ellipse,
  #canvas svg.has-case g.node.lit path { stroke: #0b3d91; stroke-width: 3px; }
  #case-panel { border-bottom: 1px solid #ccc; padding-bottom: 8px; margin-bottom: 8px; }
  #case-panel table { border-collapse: collapse; font-size: 13px; width: 100%; }
  #case-panel td { border-top: 1px solid #ddd; padding: 3px 4px; vertical-align: top; }
  #case-panel pre { white-space: pre; overflow-x: auto; font: 11px/1.4 Menlo, Consolas, monospace;
    background: #fff; border: 1px solid #ddd; padding: 6px; }
  aside.wide { width: 600px; }
</style>
</head>
<body>
<header>
  <h1>@@TITLE@@</h1>
  @@PICKER@@
  <button id="zoom-in" title="Zoom in (+)">+</button>
  <button id="zoom-out" title="Zoom out (-)">-</button>
  <button id="fit" title="Fit (0)">Fit</button>
</header>
<main>
  <div id="canvas">@@SVG@@</div>
  <aside id="side">
  <div id="case-panel" hidden></div>
  <div id="details" aria-live="polite">
    <p class="hint">Drag to pan, scroll or use + and - to zoom. Click a node to see its rule, rationale
    and sources.</p>
  </div>
  </aside>
</main>
<script type="application/json" id="clonus-data">@@DATA@@</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("clonus-data").textContent);
  var canvas = document.getElementById("canvas");
  var svg = document.getElementById("graph");
  var details = document.getElementById("details");
  var home = svg.viewBox.baseVal;
  var view = { x: home.x, y: home.y, w: home.width, h: home.height };
  var full = { x: home.x, y: home.y, w: home.width, h: home.height };

  function apply() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    view.x = cx - (cx - view.x) * factor; view.y = cy - (cy - view.y) * factor;
    view.w *= factor; view.h *= factor; apply();
  }
  function toGraph(clientX, clientY) {
    var r = svg.getBoundingClientRect();
    var scale = Math.max(view.w / r.width, view.h / r.height);
    var ox = (r.width * scale - view.w) / 2, oy = (r.height * scale - view.h) / 2;
    return { x: view.x - ox + (clientX - r.left) * scale, y: view.y - oy + (clientY - r.top) * scale, s: scale };
  }
  function fit() { view = { x: full.x, y: full.y, w: full.w, h: full.h }; apply(); }

  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var p = toGraph(e.clientX, e.clientY);
    zoom(e.deltaY < 0 ? 0.85 : 1 / 0.85, p.x, p.y);
  }, { passive: false });
  var drag = null;
  canvas.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, s: toGraph(0, 0).s, moved: false };
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
    view.x = drag.vx - dx * drag.s; view.y = drag.vy - dy * drag.s; apply();
  });
  window.addEventListener("pointerup", function () {
    canvas.classList.remove("dragging");
    setTimeout(function () { drag = null; }, 0);
  });
  document.getElementById("zoom-in").addEventListener("click", function () { zoom(0.8); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoom(1.25); });
  document.getElementById("fit").addEventListener("click", fit);
  document.addEventListener("keydown", function (e) {
    if (e.key === "+" || e.key === "=") { zoom(0.8); }
    else if (e.key === "-") { zoom(1.25); }
    else if (e.key === "0") { fit(); }
  });

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function section(title, items) {
    if (!items || !items.length) { return; }
    details.appendChild(el("h3", title));
    var list = el("ul");
    items.forEach(function (item) { list.appendChild(item instanceof Node ? item : el("li", item)); });
    details.appendChild(list);
  }
  function sourceItem(id) {
    var s = data.sources[id], li = el("li");
    li.className = "source";
    if (!s) { li.textContent = id; return li; }
    li.appendChild(el("strong", id + " "));
    li.appendChild(document.createTextNode(s.title + " (" + s.publisher + (s.year ? ", " + s.year : "") +
      "; grade " + s.grade + ") "));
    var a = el("a", "link"); a.href = s.url; a.target = "_blank"; a.rel = "noopener noreferrer";
    li.appendChild(a);
    return li;
  }
  var KIND = { input: "input fact", derived: "derived fact", rule: "rule", recommendation: "recommendation",
               start: "start", state: "state reached", question: "decision", outcome: "rule and its recommendations",
               junction: "branch point" };

  function show(id) {
    var d = data.nodes[id];
    if (!d) { return; }
    Array.prototype.forEach.call(svg.querySelectorAll("g.node.selected"), function (g) {
      g.classList.remove("selected");
    });
    var g = document.getElementById(id);
    if (g) { g.classList.add("selected"); }
    details.innerHTML = "";
    details.dataset.node = d.id;
    details.appendChild(el("div", KIND[d.kind] || d.kind, "kind"));
    details.appendChild(el("h2", d.title || d.label, "title"));
    if (d.kind === "rule" || d.kind === "outcome") {
      details.appendChild(el("div", "rule " + (d.kind === "rule" ? d.label : d.rules[0]) + " - " + d.status +
        (d.version ? ", version " + d.version : ""), "rule-id"));
    } else if (d.label && d.label !== d.title) {
      details.appendChild(el("code", d.label));
    }
    if (d.value !== undefined) { details.appendChild(el("p", "In this case: " + d.value, "value")); }
    if (d.highlight) { details.appendChild(el("p", d.highlight === "on" ? "On this case's path." :
      "Not on this case's path.", "highlight")); }
    if (d.condition) { section("When", [d.condition]); }
    if (d.items) {
      section("Recommends", d.items.map(function (it) {
        return it[1] + " (" + it[0] + "; " + it[2].replace(/_/g, " ") + ", " + it[3] + ")"; }));
    }
    if (d.sets && d.sets.length) { section("Sets", d.sets); }
    if (d.asserts && d.asserts.length) { section("Asserts", d.asserts); }
    if (d.recommends && d.recommends.length) { section("Recommends", d.recommends); }
    if (d.kind === "recommendation") {
      section("Text", [d.text]);
      section("Category and severity", [d.category.replace(/_/g, " ") + ", " + d.severity]);
    } else if (d.text) {
      details.appendChild(el("h3", d.kind === "rule" || d.kind === "outcome" ? "Rationale" : "Description"));
      details.appendChild(el("p", d.text, d.kind === "rule" || d.kind === "outcome" ? "rationale" : "description"));
    }
    if (d.note) { section("Note", [d.note]); }
    if (d.limits && d.limits.length) { section("Limits the dose plan", d.limits); }
    if (d.sources && d.sources.length) { section("Sources", d.sources.map(sourceItem)); }
    if (d.rules && d.rules.length && d.kind !== "outcome") { section("Rules", d.rules); }
    section("From", d.incoming.map(function (e) { return e[0] + (e[1] ? ": " + e[1] : ""); }));
    section("To", d.outgoing.map(function (e) { return e[0] + (e[1] ? ": " + e[1] : ""); }));
  }

  var casePanel = document.getElementById("case-panel");
  function showCase(index) {
    var c = data.cases[index];
    svg.classList.add("has-case");
    var lit = {};
    c.nodes.concat(c.edges).forEach(function (id) { lit[id] = true; });
    Array.prototype.forEach.call(svg.querySelectorAll("g.node, g.edge"), function (g) {
      g.classList.toggle("lit", lit[g.id] === true);
    });
    casePanel.hidden = false;
    casePanel.innerHTML = "";
    casePanel.dataset.case = c.name;
    casePanel.appendChild(el("div", "case", "kind"));
    casePanel.appendChild(el("h2", c.name, "title"));
    casePanel.appendChild(el("p", c.summary, "summary"));
    casePanel.appendChild(el("h3", "The facts that decided each branch"));
    var table = el("table", undefined, "decisions");
    c.decisions.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell) { tr.appendChild(el("td", cell)); });
      table.appendChild(tr);
    });
    casePanel.appendChild(table);
    casePanel.appendChild(el("h3", "The advice"));
    casePanel.appendChild(el("pre", c.advice, "advice"));
  }
  var picker = document.getElementById("case");
  if (picker) {
    document.getElementById("side").classList.add("wide");
    picker.addEventListener("change", function () { showCase(Number(picker.value)); });
    showCase(0);
  }

  svg.addEventListener("click", function (e) {
    if (drag && drag.moved) { return; }
    var g = e.target.closest ? e.target.closest("g.node") : null;
    if (g && data.nodes[g.id]) { show(g.id); }
  });
  apply();
}());
</script>
</body>
</html>
"""
