"""The case explorer: one offline HTML page of a graph view with the answers for a set of case files
embedded. A student picks a case and sees its path lit, the facts that decided each branch and the advice
that results, side by side (the page itself is engine/graph/export/html.py).

Every case is answered here, by the Advisor, when the page is made: the page holds the answers, it never
computes one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.result import Result
from clonus.engine.errors import CaseError, GraphError
from clonus.engine.explain.report import case_line, render_text
from clonus.engine.graph.export.dot import edge_ids, svg_ids
from clonus.engine.graph.filters import overlay_case
from clonus.engine.knowledge.model import Kb
from clonus.engine.knowledge.wording import number_text, value_text, words


def explorer_html(kb: Kb, g, cases: Iterable[tuple[str, Mapping[str, Any]]], advisor: Advisor) -> bytes:
    """The explorer page of graph `g` for (name, case data) pairs, in the order given."""
    from clonus.engine.graph.export.dot import to_dot
    from clonus.engine.graph.export.formats import render
    from clonus.engine.graph.export.html import to_html

    answers = [case_entry(kb, g, name, _advise(advisor, name, data)) for name, data in cases]
    if not answers:
        raise GraphError("--cases: no case files found (a folder stands for its *.yaml, *.yml and *.json)")
    return to_html(g, render(to_dot(g), "svg").decode(), answers).encode()


def _advise(advisor: Advisor, name: str, data: Mapping[str, Any]) -> Result:
    try:
        return advisor.advise(data)
    except CaseError as exc:
        raise CaseError(exc.field, exc.value, exc.accepted, f"{name}: {exc}") from exc


def case_entry(kb: Kb, g, name: str, result: Result) -> dict[str, Any]:
    """What the page shows of one case: its path (element ids), its decisions and its advice."""
    lit = overlay_case(g, result.trace)
    nodes, edges = svg_ids(g), edge_ids(g)
    return {
        "name": name,
        "summary": case_line(result, kb),
        "nodes": [nodes[n] for n, d in lit.nodes(data=True) if d.get("highlight") == "on"],
        "edges": [edges[u, v] for u, v, d in lit.edges(data=True) if d.get("highlight") == "on"],
        "decisions": decisions(kb, lit, result),
        "advice": render_text(result, kb),
    }


def decisions(kb: Kb, lit, result: Result) -> list[list[str]]:
    """[question, the case's value, the answer taken] for every decision on the case's path (flow and
    overview), or [rule, the facts it matched, what it concluded] for every firing (rules view)."""
    values = {**result.facts, **result.derived}
    if lit.graph["view"] == "rules":
        return [[f.rule, ", ".join(f"{fact} = {value_text(v)}" for fact, v in f.matched),
                 ", ".join([f"{fact} = {value_text(v)}" for fact, v in f.asserted] + list(f.recommended))]
                for f in result.trace]
    rows = []
    for node, data in lit.nodes(data=True):
        if data["kind"] == "question" and data.get("highlight") == "on":
            answers = [d["label"] for _, _, d in lit.out_edges(node, data=True) if d.get("highlight") == "on"]
            rows.append([data["label"], shown(kb, data["fact"], values.get(data["fact"])), "; ".join(answers)])
    return rows


def shown(kb: Kb, fact: str, value: Any) -> str:
    """A case's value as the page shows it: `45 mg/day`, `below max`, `yes`, `none`, `missing`."""
    if value is None:
        return "missing"
    if isinstance(value, (tuple, list)):
        return ", ".join(words(v) for v in value) or "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        unit = kb.facts[fact].unit
        return f"{number_text(value)} {unit}" if unit else number_text(value)
    return words(value)
