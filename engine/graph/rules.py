"""The `rules` view: every fact, rule and recommendation, and what links them.

A pure function of a loaded Kb: the same KB gives the same graph, node for node and in the same order.

    node ids      fact:<name>, rule:<rule id>, code:<code>
    node `kind`   input | derived | rule | recommendation
    edge relation reads (fact -> rule, labelled with the condition), asserts (rule -> derived fact),
                  recommends (rule -> recommendation), computes (fact -> the fact that is its product)

Every node carries `refs` (the KB names it stands for: a fact name, a rule id, a code), which `focus`
resolves. The teaching flowchart (the `flow` view) is derived from the same rules in flow.py and
follows the same conventions, so the filters, the overlay and every export work on both views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clonus.engine.graph.nodes import fact_attrs, graph_attrs, reads_label, rule_attrs
from clonus.engine.knowledge.conditions import format_value
from clonus.engine.knowledge.model import Kb

if TYPE_CHECKING:
    import networkx as nx


def build_graph(kb: Kb) -> nx.DiGraph:
    """Every fact a rule reads or asserts, every rule and every recommendation, with what links them."""
    import networkx as nx

    g: nx.DiGraph[str] = nx.DiGraph()
    g.graph.update(graph_attrs(kb, "rules"))
    used = _used_facts(kb)
    for name, fact in kb.facts.items():
        if name in used:
            g.add_node(f"fact:{name}", **fact_attrs(fact))
    for rule in kb.rules:
        g.add_node(f"rule:{rule.id}", **rule_attrs(kb, rule))
    recommended = {rec.code for rule in kb.rules for rec in rule.recommends}
    for code, definition in kb.codes.items():
        if code in recommended:
            g.add_node(f"code:{code}", kind="recommendation", label=code, refs=(code,), title=definition.title,
                       text=definition.text, category=definition.category, categories=(definition.category,),
                       severity=definition.severity)
    for name in kb.facts:
        for part in kb.facts[name].product_of if name in used else ():
            g.add_edge(f"fact:{part}", f"fact:{name}", relation="computes",
                       label=" x ".join(kb.facts[name].product_of), rules=())
    for rule in kb.rules:
        for read in rule.reads():
            conditions = tuple(dict.fromkeys(str(a) for alt in rule.alternatives for a in alt if a.fact == read))
            g.add_edge(f"fact:{read}", f"rule:{rule.id}", relation="reads", label=reads_label(rule, read),
                       conditions=conditions, rules=(rule.id,))
        for asserted, value in rule.asserts:
            g.add_edge(f"rule:{rule.id}", f"fact:{asserted}", relation="asserts",
                       label=f"{asserted} = {format_value(value)}", value=format_value(value), rules=(rule.id,))
        for rec in rule.recommends:
            g.add_edge(f"rule:{rule.id}", f"code:{rec.code}", relation="recommends", label="", rules=(rule.id,))
    return g


def _used_facts(kb: Kb) -> set[str]:
    used = {f for rule in kb.rules for f in rule.reads()} | {f for rule in kb.rules for f, _ in rule.asserts}
    return used | {part for name in used for part in kb.facts[name].product_of}
