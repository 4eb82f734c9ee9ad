"""The deck's index.html: every page's drawing inline, one at a time, fitted to the window; arrow keys (or
the buttons) step through them. One file, no script, style or font fetched: it works offline.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence


def to_deck_html(pages: Sequence[tuple[str, str, bytes]], title: str) -> str:
    """The page for (stem, title, SVG as Graphviz drew it) in order; the same pages give the same bytes."""
    slides = "\n".join(
        f'<section class="slide" id="{stem}" data-title="{html.escape(name)}">{_inline(svg, stem)}</section>'
        for stem, name, svg in pages)
    page = _TEMPLATE.replace("@@TITLE@@", html.escape(title)).replace("@@COUNT@@", str(len(pages)))
    return page.replace("@@SLIDES@@", slides)


def _inline(svg: bytes, stem: str) -> str:
    """One drawing for inside the page: no XML prolog or comments, sized by its slide, its element ids
    prefixed with the page's stem (every page has a `graph0`)."""
    text = svg.decode()
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->\n?", "", text, flags=re.S)
    text = re.sub(r' id="([^"]*)"', lambda m: f' id="{stem}-{m[1]}"', text)
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg width="100%" height="100%" '
                  'preserveAspectRatio="xMidYMid meet"', text, count=1)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
  html, body { margin: 0; height: 100%; background: #fff; color: #1a1a1a; font: 16px/1.4 Helvetica, Arial,
    sans-serif; }
  body { display: flex; flex-direction: column; }
  header { display: flex; align-items: center; gap: 12px; padding: 6px 14px; border-bottom: 1px solid #ccc; }
  header h1 { flex: 1; font-size: 16px; margin: 0; font-weight: 600; }
  header button { font: inherit; min-width: 40px; padding: 2px 10px; cursor: pointer; }
  #counter { min-width: 70px; text-align: center; }
  main { flex: 1; min-height: 0; position: relative; }
  section.slide { position: absolute; inset: 8px; display: none; }
  section.slide.current { display: block; }
  section.slide svg { display: block; }
  .hint { color: #555; font-size: 14px; }
</style>
</head>
<body>
<header>
  <h1 id="slide-title">@@TITLE@@</h1>
  <span class="hint">arrow keys or the buttons</span>
  <button id="prev" title="Previous page (left arrow)">&larr;</button>
  <span id="counter">1 / @@COUNT@@</span>
  <button id="next" title="Next page (right arrow)">&rarr;</button>
</header>
<main>
@@SLIDES@@
</main>
<script>
(function () {
  "use strict";
  var slides = Array.prototype.slice.call(document.querySelectorAll("section.slide"));
  var current = 0;
  function show(index) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach(function (s, i) { s.classList.toggle("current", i === current); });
    document.getElementById("counter").textContent = (current + 1) + " / " + slides.length;
    document.getElementById("slide-title").textContent = slides[current].dataset.title;
    if (location.hash !== "#" + slides[current].id) { history.replaceState(null, "", "#" + slides[current].id); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight" || e.key === "PageDown" || e.key === " ") { e.preventDefault(); show(current + 1); }
    else if (e.key === "ArrowLeft" || e.key === "PageUp") { e.preventDefault(); show(current - 1); }
    else if (e.key === "Home") { show(0); }
    else if (e.key === "End") { show(slides.length - 1); }
  });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  var start = slides.findIndex(function (s) { return "#" + s.id === location.hash; });
  show(start < 0 ? 0 : start);
}());
</script>
</body>
</html>
"""
