"""engine/explain/explorer.py and `clonus graph --cases`: the case explorer embeds each case's answer (its
path, the facts that decided each branch, its advice) exactly as the Advisor gives it, the teaching
examples ship as docs/graphs/explorer.html (kept current here), and unusable requests exit 2."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from clonus.cli.main import app
from clonus.engine.explain.report import render_text
from clonus.engine.graph import build_view
from clonus.engine.graph.export.dot import svg_ids
from clonus.engine.graph.export.formats import export
from clonus.engine.intake.case import read_case_text

from conftest import EXAMPLES, REPO, engine_blind

DOCS = REPO / "docs" / "graphs"
runner = CliRunner()
# The command the page is made with (tools/regenerate.py runs the same).
EXPLORER_ARGS = ("--view", "flow", "--cases", str(EXAMPLES))


def page_data(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="clonus-data">(.*?)</script>', page, re.S)[1])


@pytest.fixture(scope="module")
def docs_page() -> str:
    return (DOCS / "explorer.html").read_text(encoding="utf-8")


def test_docs_explorer_is_the_shipped_kb_and_examples(tmp_path, docs_page):
    """docs/graphs/explorer.html is made again from the KB and examples/ and must be the same bytes."""
    out = tmp_path / "explorer.html"
    result = runner.invoke(app, ["graph", *EXPLORER_ARGS, "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    made = out.read_text(encoding="utf-8")
    assert engine_blind(made) == engine_blind(docs_page), "the KB or the examples changed: run tools/regenerate.py"


def test_docs_overview_png_is_the_shipped_kb(shipped_kb):
    png = export(build_view(shipped_kb, "overview"), "png")
    assert (DOCS / "overview.png").read_bytes() == png, "the KB changed: run tools/regenerate.py"


def test_explorer_lists_the_teaching_examples_reference_first(docs_page):
    names = [c["name"] for c in page_data(docs_page)["cases"]]
    assert names == sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    assert names[0] == "01-reference.yaml"
    assert re.findall(r'<option value="\d+">([^<]+)</option>', docs_page) == names


def test_each_case_carries_the_advisors_answer(shipped_kb, advisor, docs_page):
    """Every embedded case: its advice is the text `clonus advise` prints, and its path lights the box of
    every rule that fired with a recommendation, and no box of a rule that did not."""
    flow = build_view(shipped_kb, "flow")
    ids = svg_ids(flow)
    for case in page_data(docs_page)["cases"]:
        result = advisor.advise(read_case_text((EXAMPLES / case["name"]).read_text(encoding="utf-8")))
        assert engine_blind(case["advice"]) == engine_blind(render_text(result, shipped_kb)), case["name"]
        fired = {f.rule for f in result.trace}
        boxes = {n: d for n, d in flow.nodes(data=True) if d["kind"] == "outcome"}
        for node, data in boxes.items():
            assert (ids[node] in case["nodes"]) == (data["rules"][0] in fired), (case["name"], node)
        assert case["edges"], case["name"]


def test_reference_case_decisions_name_the_facts_and_answers(docs_page):
    reference = page_data(docs_page)["cases"][0]
    rows = {question: (value, answer) for question, value, answer in reference["decisions"]}
    assert rows["relief?"] == ("inadequate", "inadequate")
    assert rows["daily dose band?"][0] == "below max"
    assert rows["escalation blocked?"] == ("no", "no")
    assert "45 mg/day" in reference["summary"]


def test_explorer_page_is_one_offline_file(docs_page):
    assert not re.search(r"<(script|img|iframe|link|source|embed|object)\b[^>]*\b(src|href)\s*=", docs_page, re.I)
    assert "@import" not in docs_page and "url(" not in docs_page
    assert not re.search(r"(xlink:)?href=\"(https?:)?//", docs_page)


def test_explorer_works_on_the_rules_view_too(tmp_path):
    out = tmp_path / "rules.html"
    result = runner.invoke(app, ["graph", "--cases", str(EXAMPLES / "01-reference.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    (case,) = page_data(out.read_text(encoding="utf-8"))["cases"]
    assert "n_rule_baclofen_escalate_below_max" in case["nodes"]
    assert any(row[0] == "baclofen.escalate.below-max" and "relief = inadequate" in row[1]
               for row in case["decisions"])


@pytest.mark.parametrize("args,message", [
    (["--cases", "EX", "-o", "x.svg"], "--cases makes an HTML page, not svg"),
    (["--cases", "EX", "--case", "EX/01-reference.yaml", "-o", "x.html"], "not both"),
    (["--cases", "EMPTY", "-o", "x.html"], "no case files found"),
    (["--cases", "BAD", "-o", "x.html"], "bad.yaml: patient.age"),
])
def test_cli_cases_refuses_an_unusable_request_with_exit_2(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.yaml").write_text("patient: {age: -3}\n", encoding="utf-8")
    where = {"EX": str(EXAMPLES), "EMPTY": str(tmp_path / "empty"), "BAD": str(tmp_path / "bad")}
    given = [re.sub(r"^(EX|EMPTY|BAD)", lambda m: where[m[1]], a) for a in args]
    given = [str(tmp_path / a) if a.startswith("x.") else a for a in given]
    result = runner.invoke(app, ["graph", *given])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

