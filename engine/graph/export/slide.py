"""A drawing as a slide: how it fits the frame (FRAME_PX, style.py), and its PNG at exactly that size.

The measure is the one a teacher sees: the SVG fitted into 1920 x 1080 px, every text's height there in
pixels. Graphviz shrinks a drawing that `compress` cannot fit into its size (the transform's scale); a
page that comes out smaller than FLOOR_PX is not a slide (deck.py splits it, never shrinks it).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

from clonus.engine.graph.style import FLOOR_PX, FRAME_PX


@dataclass(frozen=True)
class Fit:
    """A drawing fitted into the frame: its size (SVG units), the scale to the frame and the smallest text."""

    width: float
    height: float
    scale: float        # frame pixels per SVG unit, the drawing's own transform included
    smallest_pt: float  # the smallest font size written in the SVG
    smallest_px: float  # that text's height once fitted into the frame

    @property
    def fits(self) -> bool:
        return self.smallest_px >= FLOOR_PX


def measure(svg: bytes) -> Fit:
    """How an SVG drawn by Graphviz fits FRAME_PX."""
    text = svg.decode()
    box = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"', text)
    if box is None:
        raise ValueError("an SVG without a viewBox")
    width, height = float(box[3]), float(box[4])
    shrink = re.search(r'class="graph" transform="scale\(([\d.]+)', text)
    scale = min(FRAME_PX[0] / width, FRAME_PX[1] / height) * (float(shrink[1]) if shrink else 1.0)
    smallest = min(float(size) for size in re.findall(r'font-size="([\d.]+)"', text))
    return Fit(width, height, scale, smallest, smallest * scale)


def framed_png(render, dot: str) -> bytes:
    """The drawing as a PNG of exactly FRAME_PX: drawn at the resolution that fits it, centred on white.
    `render(dot, fmt, dpi)` draws DOT text (formats.render)."""
    from PIL import Image

    fit = measure(render(dot, "svg", None))
    frame_per_unit = min(FRAME_PX[0] / fit.width, FRAME_PX[1] / fit.height)
    dpi = math.floor(72 * frame_per_unit * 1e2) / 1e2  # rounded down to 0.01: never a pixel over the frame
    drawn = Image.open(io.BytesIO(render(dot, "png", dpi))).convert("RGBA")
    if drawn.width > FRAME_PX[0] or drawn.height > FRAME_PX[1]:
        drawn.thumbnail(FRAME_PX)
    page = Image.new("RGBA", FRAME_PX, "white")
    page.alpha_composite(drawn, ((FRAME_PX[0] - drawn.width) // 2, (FRAME_PX[1] - drawn.height) // 2))
    out = io.BytesIO()
    page.convert("RGB").save(out, format="PNG", optimize=False)
    return out.getvalue()
