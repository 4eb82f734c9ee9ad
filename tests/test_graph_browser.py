"""The HTML graph in a real headless Chromium (tests/browser.py), with the network off: the page loads, a
real mouse click on a node shows its rule, rationale and sources, and the page fetches nothing.
"""

from __future__ import annotations

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
