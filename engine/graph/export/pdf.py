"""PDF: Graphviz's SVG drawings as vector pages, one drawing a page (`-o x.pdf`, and the deck's handout).

graphviz-pure draws no PDF, so its SVG is read by svglib into a ReportLab drawing and written by ReportLab
(both pure Python wheels: no system library such as Cairo). Text stays text, in the PDF's own Helvetica,
the font the layout was measured with. Pages are 16:9 slides (13.333 x 7.5 in, the size presentation
programs use), each drawing fitted and centred; `invariant` keeps the bytes the same for the same input.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from clonus.engine.errors import RenderError

PAGE_PT = (960.0, 540.0)
MARGIN_PT = 18.0


def to_pdf(svgs: Sequence[bytes], title: str) -> bytes:
    """One page per SVG (as Graphviz wrote it, sized in points), in order."""
    from reportlab.graphics import renderPDF
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=PAGE_PT, invariant=True, pageCompression=1)
    pdf.setTitle(title)
    pdf.setCreator("clonus graph")
    for svg in svgs:
        drawing = _drawing(svg)
        room_w, room_h = PAGE_PT[0] - 2 * MARGIN_PT, PAGE_PT[1] - 2 * MARGIN_PT
        scale = min(room_w / drawing.width, room_h / drawing.height)
        drawing.scale(scale, scale)
        x = (PAGE_PT[0] - drawing.width * scale) / 2
        y = (PAGE_PT[1] - drawing.height * scale) / 2
        renderPDF.draw(drawing, pdf, x, y)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _drawing(svg: bytes):
    """The SVG as a ReportLab drawing; RenderError if svglib cannot read it."""
    from svglib.svglib import svg2rlg

    drawing = svg2rlg(io.BytesIO(svg))
    if drawing is None or not drawing.width or not drawing.height:
        raise RenderError("cannot write the PDF: svglib could not read the drawing Graphviz made")
    return drawing
