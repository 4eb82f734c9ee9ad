"""The HTML pages in a real headless Chromium (tests/browser.py), with the network off: the graph page loads
and a real mouse click on a node shows its rule, rationale and sources; the case explorer lights the path
of the case chosen from its list; the deck steps through its pages with the arrow keys; an exported SVG
opens showing the whole picture; no page fetches anything or logs an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clonus.engine.graph import build_view
from clonus.engine.graph.export.dot import svg_ids
from clonus.engine.graph.export.formats import export
from clonus.engine.graph.filters import overlay_case

from browser import Browser, Page, require_chromium
from conftest import reference_case


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_chromium()
    chrome = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


@pytest.fixture
def page_of(browser, tmp_path):
    def open_page(graph) -> Page:
        path = tmp_path / "graph.html"
        path.write_bytes(export(graph, "html"))
        browser.events.clear()
        return Page(browser, path.as_uri())
    return open_page


def test_clicking_a_rule_shows_its_rationale_and_sources_offline(shipped_kb, page_of):
    g = build_view(shipped_kb, "rules")
    page = page_of(g)
    assert "Click a node" in page.eval("document.getElementById('details').innerText")
    node = svg_ids(g)["rule:baclofen.escalate.below-max"]
    page.click(f"#{node}")
    rule = shipped_kb.rule("baclofen.escalate.below-max")
    details = page.eval("document.getElementById('details').innerText")
    assert rule.title in details
    assert rule.rationale[:60] in details
    for source in rule.sources:
        assert shipped_kb.sources[source].title in details
    assert page.eval("document.getElementById('details').dataset.node") == "rule:baclofen.escalate.below-max"
    assert page.eval(f"document.getElementById('{node}').classList.contains('selected')")
    assert all(url.startswith("file:") for url in page.requests()), page.requests()
    assert page.errors() == []


def test_flow_page_with_a_case_shows_a_decision_and_zooms(shipped_kb, advisor, page_of):
    g = overlay_case(build_view(shipped_kb, "flow"), advisor.advise(reference_case()).trace)
    page = page_of(g)
    outcome = svg_ids(g)["outcome:baclofen.escalate.below-max"]
    page.click(f"#{outcome}")
    details = page.eval("document.getElementById('details').innerText")
    assert "Increase oral baclofen when relief is inadequate below the maximum" in details
    assert "On this case's path." in details
    assert "increase_baclofen" in details
    before = page.eval("document.getElementById('graph').getAttribute('viewBox')")
    page.click("#zoom-in")
    after = page.eval("document.getElementById('graph').getAttribute('viewBox')")
    width = lambda box: float(box.split()[2])  # noqa: E731 - a one-line helper for the two asserts below
    assert width(after) < width(before)
    assert all(url.startswith("file:") for url in page.requests()), page.requests()
    assert page.errors() == []


# -- the case explorer, the deck and a plain SVG, as a student and a teacher open them ------------------------

def _console_errors(browser) -> list[dict]:
    return [e["params"] for e in browser.events
            if e.get("method") == "Runtime.consoleAPICalled" and e["params"].get("type") == "error"]


def _lit(page: Page) -> list[str]:
    return page.eval("Array.from(document.querySelectorAll('#graph g.lit')).map(g => g.id)")


def test_explorer_case_list_lights_the_chosen_cases_path(browser):
    """docs/graphs/explorer.html: the reference case is shown first; choosing another case from the list
    (keyboard on the real <select>) lights exactly its path and shows its decisions and advice."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "graphs" / "explorer.html"
    browser.events.clear()
    page = Page(browser, docs.as_uri())
    cases = page.eval("JSON.parse(document.getElementById('clonus-data').textContent).cases")
    assert page.eval("document.getElementById('case').options.length") == len(cases) > 3
    assert page.eval("document.getElementById('case-panel').dataset.case") == "01-reference.yaml"
    assert sorted(_lit(page)) == sorted(cases[0]["nodes"] + cases[0]["edges"])
    page.eval("document.getElementById('case').focus()")
    for _ in range(2):
        for kind in ("keyDown", "keyUp"):
            page.send("Input.dispatchKeyEvent", {"type": kind, "key": "ArrowDown", "code": "ArrowDown",
                                                 "windowsVirtualKeyCode": 40})
    chosen = cases[2]
    assert page.eval("document.getElementById('case-panel').dataset.case") == chosen["name"]
    assert sorted(_lit(page)) == sorted(chosen["nodes"] + chosen["edges"])
    assert set(_lit(page)) != set(cases[0]["nodes"] + cases[0]["edges"])
    panel = page.eval("document.getElementById('case-panel').innerText")
    assert chosen["advice"].splitlines()[3] in panel  # the advice, beside the drawing
    assert all(row[0] in panel for row in chosen["decisions"])
    assert all(url.startswith("file:") for url in page.requests()), page.requests()
    assert page.errors() == [] and _console_errors(browser) == []


def test_deck_index_steps_through_the_pages_with_the_arrow_keys(browser, tmp_path):
    from typer.testing import CliRunner

    from clonus.cli.main import app

    folder = tmp_path / "deck"
    assert CliRunner().invoke(app, ["graph", "--deck", str(folder)]).exit_code == 0
    stems = sorted(p.stem for p in folder.glob("*.svg"))
    browser.events.clear()
    page = Page(browser, (folder / "index.html").as_uri())

    def key(name: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            page.send("Input.dispatchKeyEvent", {"type": kind, "key": name, "code": name,
                                                 "windowsVirtualKeyCode": code})

    def shown() -> str:
        return page.eval("document.querySelector('section.slide.current').id")

    assert shown() == stems[0] and page.eval("document.getElementById('counter').textContent") == f"1 / {len(stems)}"
    key("ArrowRight", 39)
    assert shown() == stems[1]
    key("ArrowRight", 39)
    key("ArrowLeft", 37)
    assert shown() == stems[1] and page.eval("document.getElementById('counter').textContent") == f"2 / {len(stems)}"
    key("End", 35)
    assert shown() == stems[-1]
    box = page.eval("(() => { const r = document.querySelector('section.slide.current svg').getBoundingClientRect();"
                    " return [r.width, r.height, innerWidth, innerHeight]; })()")
    assert 0 < box[0] <= box[2] and 0 < box[1] <= box[3]
    assert all(url.startswith("file:") for url in page.requests()), page.requests()
    assert page.errors() == [] and _console_errors(browser) == []


def test_an_exported_svg_opens_showing_the_whole_picture(browser, shipped_kb, tmp_path):
    """Regression (issue 13): the flow's SVG opened at 100 % showing only its title on white."""
    path = tmp_path / "flow.svg"
    path.write_bytes(export(build_view(shipped_kb, "flow"), "svg"))
    browser.events.clear()
    page = Page(browser, path.as_uri())
    box = page.eval("(() => { const r = document.getElementById('graph0').getBoundingClientRect();"
                    " return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight]; })()")
    left, top, right, bottom, width, height = box
    assert left >= -1 and top >= -1 and right <= width + 1 and bottom <= height + 1
    assert right - left > 0.9 * width or bottom - top > 0.9 * height  # fitted, not a corner of it
