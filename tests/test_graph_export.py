"""engine/graph_export.py and `clonus graph`: every format exports from the shipped KB, is parsed back where
a parser exists, is deterministic, and DOT and Mermaid match their goldens.

Goldens are regenerated only on purpose, by `python tools/regenerate.py`; these tests only compare.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pydot
import pytest
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.graph import build_view
from clonus.engine.graph.export.dot import LEGEND_ID, svg_ids, to_dot
from clonus.engine.graph.export.formats import FORMATS, PNG_DPI, export, flatten, to_mermaid
from clonus.engine.graph.filters import overlay_case
from clonus.engine.graph.style import FRAME_PX
from clonus.engine.knowledge.load import load_kb

from conftest import EXAMPLES, reference_case

GOLDEN = Path(__file__).resolve().parent / "golden" / "graph"
DOCS_FLOWCHART = Path(__file__).resolve().parent.parent / "docs" / "graphs" / "flow.png"
SVG_NS = "{http://www.w3.org/2000/svg}"
runner = CliRunner()


@pytest.fixture(scope="module", params=["rules", "flow", "overview"])
def view(request, shipped_kb):
    return build_view(shipped_kb, request.param)


@pytest.fixture(scope="module")
def exported(view):
    """Every format of one view, exported twice (to check determinism)."""
    return {fmt: (export(view, fmt), export(view, fmt)) for fmt in FORMATS}


def _plain(value):
    """Tuples as lists, the way JSON gives them back."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


# -- goldens and determinism -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,suffix", [("dot", "dot"), ("mermaid", "mmd")])
def test_shipped_kb_matches_golden(view, fmt, suffix):
    out = export(view, fmt).decode()
    golden = GOLDEN / f"{view.graph['view']}.{suffix}"
    assert golden.is_file(), f"no golden {golden.name}; generate it with tools/regenerate.py"
    assert out == golden.read_text(encoding="utf-8")


def test_flowchart_in_the_docs_is_the_shipped_kb(shipped_kb):
    """docs/graphs/flow.png (embedded in the README) is redrawn whenever the rules change, never by hand."""
    png = export(build_view(shipped_kb, "flow"), "png")
    assert DOCS_FLOWCHART.is_file(), "no docs/graphs/flow.png; generate it with tools/regenerate.py"
    assert png == DOCS_FLOWCHART.read_bytes(), "the KB changed: regenerate with tools/regenerate.py"


def test_every_format_is_deterministic(exported):
    for fmt, (first, second) in exported.items():
        assert first, fmt
        assert first == second, fmt


def test_a_rebuilt_graph_gives_the_same_bytes(shipped_kb, view, exported):
    again = build_view(shipped_kb, view.graph["view"])
    for fmt in ("dot", "mermaid", "graphml", "json", "svg"):
        assert export(again, fmt) == exported[fmt][0], fmt


# -- parsed back -------------------------------------------------------------------------------------------

# pydot 4.0.1 still calls pyparsing names that pyparsing 3.3 deprecates (setParseAction ...).
@pytest.mark.filterwarnings("ignore::pyparsing.warnings.PyparsingDeprecationWarning")
def test_dot_parses_back_to_the_same_nodes_edges_and_kinds(view, exported):
    parsed = pydot.graph_from_dot_data(exported["dot"][0].decode())[0]
    unquote = lambda s: json.loads(s) if s.startswith('"') else s  # noqa: E731 (DOT and JSON quote alike)
    nodes = {unquote(n.get_name()): n for n in parsed.get_nodes() if n.get_name() not in ("node", "edge", "graph")}
    assert set(nodes) == set(view.nodes) | _legend_node(view)
    for name, data in view.nodes(data=True):
        assert unquote(nodes[name].get("kind")) == data["kind"]
        assert unquote(nodes[name].get("id")) == svg_ids(view)[name]
    edges = [(unquote(e.get_source()), unquote(e.get_destination()), unquote(e.get("relation")))
             for e in parsed.get_edges()]
    assert edges == [(u, v, d["relation"]) for u, v, d in view.edges(data=True)]


def test_graphml_parses_back_through_networkx(view, exported):
    back = nx.parse_graphml(exported["graphml"][0].decode())
    assert list(back.nodes) == list(view.nodes)
    assert list(back.edges) == list(view.edges)
    for node, data in view.nodes(data=True):
        assert back.nodes[node] == flatten(data)
    for u, v, data in view.edges(data=True):
        assert back.edges[u, v] == flatten(data)
    assert json.loads(back.graph["sources"]) == view.graph["sources"]


def test_json_node_link_parses_back_through_networkx(view, exported):
    back = nx.node_link_graph(json.loads(exported["json"][0]), edges="edges")
    assert isinstance(back, nx.DiGraph)
    assert list(back.nodes) == list(view.nodes)
    assert [(u, v) for u, v in back.edges] == list(view.edges)
    for node, data in view.nodes(data=True):
        assert back.nodes[node] == _plain(data)
    for u, v, data in view.edges(data=True):
        assert back.edges[u, v] == _plain(data)


def _svg(exported) -> ET.Element:
    return ET.fromstring(exported["svg"][0])


def _legend_node(view) -> set[str]:
    """The legend is a node of the drawing, except on a slide (the overview), where it is in the title."""
    return set() if view.graph.get("slide") else {LEGEND_ID}


def _viewbox(root: ET.Element) -> tuple[float, float]:
    _x, _y, width, height = (float(v) for v in root.get("viewBox").split())
    return width, height


def test_svg_opens_scaled_to_the_window(exported):
    """Regression (issue 13): the SVG's size was in points, so a browser showed its top-left corner only."""
    root = _svg(exported)
    assert (root.get("width"), root.get("height")) == ("100%", "100%")
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    width, height = _viewbox(root)
    assert width > 1000 and height > 600


def test_svg_is_xml_with_every_node_and_the_legend(view, exported):
    root = _svg(exported)
    assert root.tag == f"{SVG_NS}svg"
    groups = {g.get("id"): g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "node"}
    assert set(groups) == set(svg_ids(view).values()) | _legend_node(view)
    edges = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "edge"]
    assert len(edges) == view.number_of_edges()
    text = " ".join(t.text or "" for t in root.iter(f"{SVG_NS}text"))
    assert "Legend" in text
    for _, data in view.nodes(data=True):
        if data["kind"] in ("rule", "recommendation", "input", "derived"):
            assert data["label"] in text


def test_png_has_a_png_header_and_the_svg_size_at_its_dpi(view, exported):
    png = exported["png"][0]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    if view.graph.get("slide"):  # a slide: exactly the frame (tests/test_graph_slides.py measures its text)
        assert (width, height) == FRAME_PX
        return
    points = _viewbox(_svg(exported))
    expected = [p * PNG_DPI / 72 for p in points]
    assert abs(width - expected[0]) <= 2 and abs(height - expected[1]) <= 2
    assert width > 1000 and height > 600  # the whole KB, not an empty page


def test_html_is_self_contained(view, exported):
    page = exported["html"][0].decode()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|img|iframe|link|source|embed|object)\b[^>]*\b(src|href)\s*=", page, re.I)
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"(xlink:)?href=\"(https?:)?//", page)
    data = json.loads(re.search(r'<script type="application/json" id="clonus-data">(.*?)</script>', page, re.S)[1])
    assert set(data["nodes"]) == set(svg_ids(view).values())
    assert all(f'id="{i}"' in page for i in data["nodes"])


# -- Mermaid ------------------------------------------------------------------------------------------------

def test_mermaid_declares_every_node_before_its_edges_and_escapes_text(view, exported):
    text = exported["mermaid"][0].decode()
    lines = text.splitlines()
    assert lines[2] in ("flowchart LR", "flowchart TB")
    ids = svg_ids(view)
    declared = {m[1] for m in (re.match(r"  (n_\w+)[\[({]", line) for line in lines) if m}
    assert declared == set(ids.values())
    edges = [re.match(r"  (n_\w+) (-->|-\.->|==>)(\|\"[^\"]*\"\|)? (n_\w+)$", line) for line in lines
             if re.match(r"  n_\w+ [-=]", line)]
    assert all(edges) and len(edges) == view.number_of_edges()
    assert not re.search(r"<(?!br/>)[A-Za-z/!?]", text)  # no text that HTML could read as a tag
    assert not re.search(r"#\w+;", text)  # Mermaid 11 leaves entity codes undecoded in edge labels
    assert "< 80 mg/day" in text or view.graph["view"] == "rules"


def test_mermaid_marks_the_case_path(shipped_kb, advisor):
    g = overlay_case(build_view(shipped_kb, "flow"), advisor.advise(reference_case()).trace)
    text = to_mermaid(g)
    assert re.search(r"^  class .*n_outcome_baclofen_escalate_below_max.* on$", text, re.M)
    assert re.search(r"^  linkStyle [\d,]+ stroke:#d3d3d3$", text, re.M)


# -- the command ---------------------------------------------------------------------------------------------

def test_cli_format_follows_the_output_suffix(tmp_path):
    out = tmp_path / "flow.svg"
    result = runner.invoke(app, ["graph", "--view", "flow", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"<?xml")
    assert "wrote" in result.stderr and result.stdout == ""


def test_cli_writes_dot_to_standard_output_by_default(shipped_kb):
    result = runner.invoke(app, ["graph"])
    assert result.exit_code == 0
    assert result.stdout == to_dot(build_view(shipped_kb, "rules"))


def test_cli_case_focus_and_category(tmp_path):
    result = runner.invoke(app, ["graph", "--view", "flow", "-f", "json", "--case", str(EXAMPLES / "01-reference.yaml"),
                                 "--category", "escalation"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    lit = {n["id"] for n in data["nodes"] if n["highlight"] == "on" and n["kind"] == "outcome"}
    assert lit == {"outcome:baclofen.escalate.below-max"}
    result = runner.invoke(app, ["graph", "-f", "json", "--focus", "caution.respiratory"])
    ids = {n["id"] for n in json.loads(result.stdout)["nodes"]}
    assert "rule:caution.respiratory" in ids and "rule:caution.pregnancy" not in ids


def test_cli_draws_the_kb_bound_to_the_profile(shipped_kb):
    """`clonus graph --profile uk` (or $CLONUS_PROFILE, as for advise) draws the UK-bound KB: its numbers in
    the branches and its name in the title."""
    uk = load_kb(profile="uk")
    assert uk.profile.parameters["max_daily_mg"] != shipped_kb.profile.parameters["max_daily_mg"]
    drawn = to_dot(build_view(uk, "overview"))
    for args, env in ((["--profile", "uk"], {}), ([], {"CLONUS_PROFILE": "uk"})):
        result = runner.invoke(app, ["graph", "--view", "overview", *args], env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == drawn
    assert ", profile uk, overview" in drawn and f"< {uk.profile.parameters['max_daily_mg']}" in drawn
    assert drawn != to_dot(build_view(shipped_kb, "overview"))


@pytest.mark.parametrize("args,message", [
    (["--profile", "eu"], "'eu' is not a profile of this KB; use one of uk, us"),
    (["--focus", "increase_baclofn"], "did you mean 'increase_baclofen'"),
    (["--category", "sefety"], "did you mean 'safety'"),
    (["--view", "both"], "Invalid value"),
    (["--format", "jpeg"], "Invalid value"),
])
def test_cli_refuses_an_unusable_request_with_exit_2(args, message):
    result = runner.invoke(app, ["graph", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_refuses_a_bad_case_with_exit_2(tmp_path):
    case = tmp_path / "case.yaml"
    case.write_text("patient: {age: -3}\n", encoding="utf-8")
    result = runner.invoke(app, ["graph", "--case", str(case)])
    assert result.exit_code == 2
    assert "age" in result.stderr


def test_reference_case_example_is_the_conftest_reference_case():
    """The README's --case example file and the tests' reference case are the same patient."""
    import yaml

    example = yaml.safe_load((EXAMPLES / "01-reference.yaml").read_text(encoding="utf-8"))
    for section, values in reference_case().items():
        for key, value in values.items():
            assert example[section][key] == value
