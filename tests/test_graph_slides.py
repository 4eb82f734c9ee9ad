"""Slides a teacher can use: the overview and every page of `clonus graph --deck` fit a 16:9 slide at
1920 x 1080 with no text under 14 px (measured here on the exported SVG, at the page's own scale), their
PNGs are 1920 x 1080, a page too big is split and never shrunk, and the handout and `-o x.pdf` are real
PDFs (parsed back)."""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.graph import build_view
from clonus.engine.graph.deck import build_deck, section_graph
from clonus.engine.graph.export.dot import to_dot
from clonus.engine.graph.export.formats import export
from clonus.engine.knowledge.load import load_kb

SVG_NS = "{http://www.w3.org/2000/svg}"
FRAME = (1920, 1080)
FLOOR_PX = 14
runner = CliRunner()


def smallest_text_px(svg: bytes) -> float:
    """The smallest text's height in pixels once the SVG is fitted into the frame (its viewBox scaled to
    1920 x 1080, the drawing's own transform included)."""
    root = ET.fromstring(svg)
    _x, _y, width, height = (float(v) for v in root.get("viewBox").split())
    graph = next(g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "graph")
    shrink = re.search(r"scale\(([\d.]+)", graph.get("transform") or "")
    scale = min(FRAME[0] / width, FRAME[1] / height) * (float(shrink[1]) if shrink else 1.0)
    sizes = [float(t.get("font-size")) for t in root.iter(f"{SVG_NS}text")]
    assert sizes, "a drawing with no text"
    return min(sizes) * scale


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def drawn_pixels(png: bytes) -> float:
    """The share of the frame that is not white: a slide with a picture on it, not a blank page."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return 1 - histogram[255] / (image.width * image.height)


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("deck")
    result = runner.invoke(app, ["graph", "--deck", str(folder)])
    assert result.exit_code == 0, result.stderr
    return folder


def _pages(deck: Path) -> list[str]:
    return sorted(p.stem for p in deck.glob("*.svg"))


# -- the overview ------------------------------------------------------------------------------------------

def test_overview_fits_a_slide_with_every_label_at_least_14_px(shipped_kb):
    g = build_view(shipped_kb, "overview")
    assert smallest_text_px(export(g, "svg")) >= FLOOR_PX
    png = export(g, "png")
    assert png_size(png) == FRAME
    assert drawn_pixels(png) > 0.05


def test_cli_overview_png_is_a_slide(tmp_path):
    out = tmp_path / "overview.png"
    result = runner.invoke(app, ["graph", "--view", "overview", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert png_size(out.read_bytes()) == FRAME


# -- the deck ----------------------------------------------------------------------------------------------

def test_deck_holds_the_overview_and_a_page_per_section(deck, shipped_kb):
    stems = _pages(deck)
    assert stems[0] == "01-overview"
    titles = [s.title.lower().replace(" ", "-") for s in shipped_kb.teaching.sections]
    for title in titles:
        assert any(title in stem for stem in stems), title
    assert {p.name for p in deck.iterdir()} == {f"{s}.{ext}" for s in stems for ext in ("svg", "png")} | {
        "index.html", "handout.pdf"}


def test_every_deck_page_fits_1920_by_1080_at_14_px_or_more(deck):
    for stem in _pages(deck):
        assert smallest_text_px((deck / f"{stem}.svg").read_bytes()) >= FLOOR_PX, stem
        png = (deck / f"{stem}.png").read_bytes()
        assert png_size(png) == FRAME, stem
        assert drawn_pixels(png) > 0.01, stem


def test_handout_has_one_16_by_9_page_per_slide_with_its_text(deck):
    reader = PdfReader(deck / "handout.pdf")
    stems = _pages(deck)
    assert len(reader.pages) == len(stems)
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width / height - 16 / 9) < 0.01
    assert "overview: the decision at a glance" in reader.pages[0].extract_text()  # vector text, not an image
    assert "Precautions" in " ".join(p.extract_text() for p in reader.pages)


def test_deck_index_steps_through_every_page_offline(deck):
    page = (deck / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<section class="slide" id="([^"]+)"', page) == _pages(deck)
    assert not re.search(r"<(script|img|iframe|link)\b[^>]*\b(src|href)\s*=", page, re.I)
    assert "url(" not in page and "@import" not in page
    assert "ArrowRight" in page and "ArrowLeft" in page


def test_deck_is_deterministic(tmp_path, deck):
    again = tmp_path / "again"
    assert runner.invoke(app, ["graph", "--deck", str(again)]).exit_code == 0
    for path in deck.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_page_too_big_for_a_slide_is_split_never_shrunk(kb_copy):
    """One section holding every category: the whole flowchart, far too big for one slide. The deck splits
    it into pages that each keep the floor, and together they show every box of the flow."""
    kb = load_kb(kb_copy)
    (kb_copy / "teaching.yaml").write_text(
        f"sections:\n  - title: Everything\n    categories: [{', '.join(kb.categories)}]\n", encoding="utf-8")
    kb = load_kb(kb_copy)
    pages = [p for p in build_deck(kb) if p.title.startswith("Everything")]
    assert len(pages) > 1
    assert [p.title for p in pages] == [f"Everything ({i} of {len(pages)})" for i in range(1, len(pages) + 1)]
    for page in pages:
        assert smallest_text_px(page.svg) >= FLOOR_PX, page.title
    boxes = {n for n, d in build_view(kb, "flow").nodes(data=True) if d["kind"] == "outcome"}
    assert boxes <= {n for p in pages for n in p.graph.nodes}


def test_a_deck_page_keeps_no_branch_point_where_nothing_branches(shipped_kb):
    """A page cut from the flow leaves branch points with one way in and one out: each is one edge there
    (the flow keeps them), a rank less on the slide, and the edge still lit by the paths through it."""
    flow = build_view(shipped_kb, "flow")
    for section in shipped_kb.teaching.sections:
        page = section_graph(flow, section.title)
        assert page is not None, section.title
        lone = [n for n, d in page.nodes(data=True)
                if d["kind"] == "junction" and page.in_degree(n) == 1 and page.out_degree(n) == 1]
        assert lone == [], section.title
        assert all(d["paths"] for _, _, d in page.edges(data=True)), section.title


def test_a_slides_question_note_is_beside_its_diamond(shipped_kb):
    """Regression (KB 0.2.0): `escalation blocked?` is set by eight rules; its note inside the diamond made
    the diamond taller than a slide. On a slide the note is a note of its own, on the diamond's rank."""
    flow = build_view(shipped_kb, "flow")
    page = section_graph(flow, shipped_kb.teaching.sections[1].title)
    (node, data), *_ = [(n, d) for n, d in page.nodes(data=True) if d["kind"] == "question" and d["note"]]
    dot = to_dot(page)
    diamond = next(line for line in dot.splitlines() if line.startswith(f'  "{node}" ['))
    assert "set by" not in diamond
    assert f'{{ rank=same; "{node}"; "{node}#note"; }}' in dot
    assert "set by" in next(line for line in dot.splitlines() if line.startswith(f'  "{node}#note" ['))
    assert "set by" in next(line for line in to_dot(flow).splitlines() if line.startswith(f'  "{node}" ['))


def test_deck_with_a_case_lights_its_path_on_every_page(tmp_path):
    folder = tmp_path / "deck"
    case = Path(__file__).resolve().parent.parent / "examples" / "01-reference.yaml"
    result = runner.invoke(app, ["graph", "--deck", str(folder), "--case", str(case)])
    assert result.exit_code == 0, result.stderr
    assert "highlighted: the case" in (folder / "01-overview.svg").read_text(encoding="utf-8")


def test_deck_of_another_profile_keeps_the_floor_and_names_it(tmp_path):
    """`--deck --profile uk`: the UK-bound KB's pages (its numbers make other labels), each still a slide."""
    folder = tmp_path / "uk"
    result = runner.invoke(app, ["graph", "--deck", str(folder), "--profile", "uk"])
    assert result.exit_code == 0, result.stderr
    assert _pages(folder)[0] == "01-overview"
    for stem in _pages(folder):
        svg = (folder / f"{stem}.svg").read_bytes()
        assert b", profile uk, " in svg and smallest_text_px(svg) >= FLOOR_PX, stem


# -- PDF and suffixes --------------------------------------------------------------------------------------

def test_cli_pdf_is_a_real_pdf(tmp_path, shipped_kb):
    """Regression (issue 13): -o x.pdf wrote DOT text into a file named .pdf."""
    out = tmp_path / "flow.pdf"
    result = runner.invoke(app, ["graph", "--view", "flow", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    assert f"{shipped_kb.name} {shipped_kb.version}" in reader.pages[0].extract_text()


@pytest.mark.parametrize("args,message", [
    (["-o", "x.unknown"], "use one of .dot, .graphml, .gv, .htm, .html, .json, .mermaid, .mmd, .pdf, .png, .svg"),
    (["--deck", "d", "-o", "x.svg"], "--deck DIR writes its own files"),
    (["--deck", "d", "--format", "svg"], "--deck DIR writes its own files"),
    (["--deck", "d", "--focus", "caution.respiratory"], "--deck DIR writes its own files, of the whole KB"),
])
def test_cli_refuses_with_exit_2_naming_what_is_accepted(tmp_path, args, message):
    result = runner.invoke(app, ["graph", *[str(tmp_path / a) if a in ("x.unknown", "d") else a for a in args]])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- the commands the docs show ------------------------------------------------------------------------------

def _documented_commands() -> list[str]:
    """Every `clonus graph ...` line in a shell block of the README and docs/graphs.md."""
    repo = Path(__file__).resolve().parent.parent
    commands = []
    for doc in (repo / "README.md", repo / "docs" / "graphs.md"):
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            commands += [line.split("  #")[0].strip() for line in block.splitlines()
                         if line.startswith("clonus graph")]
    return commands


@pytest.mark.parametrize("command", _documented_commands())
def test_every_documented_graph_command_runs(command, tmp_path, monkeypatch):
    examples = Path(__file__).resolve().parent.parent / "examples"
    monkeypatch.chdir(tmp_path)
    args = [a.replace("examples/", f"{examples}/") if a.startswith("examples/") else a
            for a in command.split()[1:]]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "-o" not in args or (tmp_path / args[args.index("-o") + 1]).stat().st_size > 0
