"""engine/graph.py and engine/graph_flow.py: the graph is the KB, the flowchart is derived from the rules,
the case overlay lights exactly what fired, and the filters keep what they promise."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import networkx as nx
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from clonus.engine.errors import GraphError
from clonus.engine.graph import build_view
from clonus.engine.graph.filters import filter_categories, focus, overlay_case
from clonus.engine.graph.flow import possible
from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.boundaries import contradiction
from clonus.engine.knowledge.load import load_kb
from clonus.engine.knowledge.model import FactDef
from clonus.engine.knowledge.wording import phrase

from conftest import reference_case

ENGINE = Path(__file__).resolve().parent.parent / "engine"


@pytest.fixture(scope="module")
def rules_view(shipped_kb):
    return build_view(shipped_kb, "rules")


@pytest.fixture(scope="module")
def flow_view(shipped_kb):
    return build_view(shipped_kb, "flow")


# -- the rules view is the KB, exactly as the YAML says ------------------------------------------------

def _yaml_rules(kb_root: Path) -> list[dict]:
    """The rules as written, read straight from the YAML files (not through the loader)."""
    rules = []
    for path in sorted((kb_root / "rules").glob("*.yaml")):
        if not path.name.endswith(".tests.yaml"):
            rules.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["rules"])
    return rules


def _yaml_conditions(node, params, negate: bool = False) -> list[cond.Atom]:
    """Every condition line of a `when:` tree, negated inside `not:` blocks, its named parameters
    (`$max_daily_mg`) bound to the profile's values as the loader binds them."""
    if isinstance(node, list):
        return [a for item in node for a in _yaml_conditions(item, params, negate)]
    if isinstance(node, dict):
        (key, inner), = node.items()
        return _yaml_conditions(inner, params, negate != (key == "not"))
    atom = cond.parse_atom(node, params)
    return [atom.negated() if negate else atom]


def test_rules_view_holds_every_rule_fact_read_and_conclusion_exactly_as_in_the_yaml(shipped_kb, rules_view):
    g = rules_view
    written = _yaml_rules(Path(shipped_kb.root))
    assert sorted(n for n in g if n.startswith("rule:")) == sorted(f"rule:{r['id']}" for r in written)
    for spec in written:
        node = f"rule:{spec['id']}"
        assert g.nodes[node]["title"] == spec["title"].strip()
        assert g.nodes[node]["status"] == spec["status"]
        assert g.nodes[node]["sources"] == tuple(spec["sources"])
        conditions: dict[str, set[str]] = {}
        for atom in _yaml_conditions(spec["when"], shipped_kb.profile.parameters):
            conditions.setdefault(atom.fact, set()).add(str(atom))
        reads = {u.removeprefix("fact:"): set(d["conditions"]) for u, _, d in g.in_edges(node, data=True)}
        assert reads == conditions, spec["id"]
        then = spec["then"]
        asserts = {v.removeprefix("fact:"): d["label"] for _, v, d in g.out_edges(node, data=True)
                   if d["relation"] == "asserts"}
        assert asserts == {f: f"{f} = {cond.format_value(v)}" for f, v in (then.get("assert") or {}).items()}
        recommends = [v.removeprefix("code:") for _, v, d in g.out_edges(node, data=True)
                      if d["relation"] == "recommends"]
        assert recommends == [r if isinstance(r, str) else r["code"] for r in then.get("recommend") or []]


def test_rules_view_node_kinds_and_attributes(shipped_kb, rules_view):
    g = rules_view
    read_or_asserted = {f for r in shipped_kb.rules for f in r.reads()}
    read_or_asserted |= {f for r in shipped_kb.rules for f, _ in r.asserts}
    facts = {n.removeprefix("fact:") for n in g if n.startswith("fact:")}
    assert read_or_asserted <= facts
    for name in facts:
        assert g.nodes[f"fact:{name}"]["kind"] == shipped_kb.facts[name].origin
    for code, definition in shipped_kb.codes.items():
        data = g.nodes[f"code:{code}"]
        assert (data["kind"], data["category"], data["severity"]) == ("recommendation", definition.category,
                                                                     definition.severity)
    for rule in shipped_kb.rules:
        assert g.nodes[f"rule:{rule.id}"]["text"] == rule.rationale
    assert {d["relation"] for _, _, d in g.edges(data=True)} == {"reads", "asserts", "recommends", "computes"}


def test_reads_edge_is_labelled_with_the_condition(shipped_kb, rules_view):
    """`daily_dose_mg < 80`: the conditions on that fact, as written (alternatives joined with `or`)."""
    for rule in shipped_kb.rules:
        for fact in rule.reads():
            parts = [" and ".join(str(a) for a in alt if a.fact == fact) for alt in rule.alternatives]
            expected = " or ".join(dict.fromkeys(p for p in parts if p))
            assert rules_view.edges[f"fact:{fact}", f"rule:{rule.id}"]["label"] == expected
    assert any(re.fullmatch(r"\w+ [<>=!]=? \d+", d["label"]) for _, _, d in rules_view.edges(data=True))


def test_graph_is_a_pure_function_of_the_kb(shipped_kb, kb_copy, rules_view, flow_view):
    """Same KB, same graph, wherever the KB folder is and however often it is built."""
    copy = load_kb(kb_copy)
    for view, built in (("rules", rules_view), ("flow", flow_view)):
        again = build_view(copy, view)
        assert list(again.nodes(data=True)) == list(built.nodes(data=True))
        assert list(again.edges(data=True)) == list(built.edges(data=True))
        assert again.graph == built.graph


def test_unknown_view_is_a_graph_error_with_a_suggestion(shipped_kb):
    with pytest.raises(GraphError, match="did you mean 'flow'"):
        build_view(shipped_kb, "flwo")


# -- the flow view is derived from the rules --------------------------------------------------------------

def _follow(g: nx.DiGraph, node: str, label: str) -> str:
    """The node reached from `node` by the edge whose label starts with `label` (through a branch point)."""
    for _, target, data in g.out_edges(node, data=True):
        if data["label"].startswith(label):
            return target
    raise AssertionError(f"no edge {label!r} from {node}: {[d['label'] for _, _, d in g.out_edges(node, data=True)]}")


def _question(g: nx.DiGraph, node: str, fact: str) -> str:
    """The decision about `fact` at `node` or hanging below it (directly or through a branch point)."""
    if g.nodes[node]["kind"] == "question" and g.nodes[node]["fact"] == fact:
        return node
    for _, target in g.out_edges(node):
        data = g.nodes[target]
        if data["kind"] == "question" and data["fact"] == fact:
            return target
        if data["kind"] == "junction":
            try:
                return _question(g, target, fact)
            except AssertionError:
                continue
    raise AssertionError(f"no question on {fact} below {node}")


def test_flow_runs_from_relief_through_the_dose_band_to_the_dose_increase(shipped_kb, flow_view):
    g = flow_view
    relief = _question(g, "state:adult_on_oral_baclofen", "relief")
    band = _question(g, _follow(g, relief, "inadequate"), "dose_band")
    below = _follow(g, band, "below max (")
    defining = shipped_kb.rule("baclofen.dose.below-max").alternatives[0]
    wording = g.edges[band, below]["label"]
    assert all(phrase(shipped_kb.facts[a.fact], a) in wording for a in defining)  # the rule words the branch
    blocked = g.nodes[below]
    assert blocked["kind"] == "question" and blocked["fact"] == "escalation_blocked"
    assert "intolerable side effects" in blocked["note"]
    unblocked = _follow(g, below, "no")
    under_older_age = _follow(g, _question(g, unblocked, "age"), "<")  # an older adult needs a known eGFR
    apnoea = _question(g, under_older_age, "sleep_apnea")
    # under the older age, chronic kidney disease needs a known eGFR too (asked on each way to the increase)
    no_apnoea = _follow(g, apnoea, "none of")
    assert g.nodes[no_apnoea]["fact"] == "kidney_disease"
    increase = _follow(g, _follow(g, no_apnoea, "no"), "if doses per day known")
    assert increase == "outcome:baclofen.escalate.below-max"
    assessed = _follow(g, _follow(g, _follow(g, apnoea, "suspected"), "no"), "if doses per day known")
    assert assessed == "outcome:baclofen.escalate.after-sleep-assessment"
    kidney = _question(g, _question(g, under_older_age, "egfr"), "kidney_disease")
    assert "outcome:scope.renal-function-missing-kidney-disease" in nx.descendants(g, kidney)
    older = _question(g, _follow(g, _question(g, unblocked, "age"), ">="), "egfr")
    assert _follow(g, _follow(g, older, "missing"), "if no dialysis") == \
        "outcome:scope.renal-function-missing-older-adult"
    adequate = _question(g, _follow(g, relief, "adequate"), "dose_band")
    tolerated = _question(g, _follow(g, adequate, "below max or at max"), "side_effects_intolerable")
    no_red_flags = _question(g, _follow(g, tolerated, "no"), "red_flag_effects")
    assert _follow(g, no_red_flags, "no") == "outcome:baclofen.maintain.adequate-relief"


def test_flow_shows_the_escalating_state_with_every_rule_that_asserts_it(shipped_kb, flow_view):
    """Regression (KB 0.2.0): `escalating` is asserted by two rules and read once as false (a regimen of
    fewer than 3 doses is flagged when not escalating); it stays a state, entered from both boxes, and
    the rule reading it as false carries that as its condition."""
    g = flow_view
    asserting = {r.id for r in shipped_kb.rules if "escalating" in dict(r.asserts)}
    assert len(asserting) == 2
    into = {u.removeprefix("outcome:") for u, _, d in g.in_edges("state:escalating", data=True)}
    assert into == asserting
    assert set(g.nodes["state:escalating"]["rules"]) == asserting
    flag = [(u, d) for u, _, d in g.in_edges("outcome:baclofen.flag.fewer-than-three-doses", data=True)]
    assert [d["relation"] for _, d in flag] == ["if"] and "not escalating" in flag[0][1]["condition"]
    assert flag[0][0] == "state:adult_on_oral_baclofen"  # from the state it starts at, not from escalating


def test_flow_asks_focal_or_generalized_before_the_next_steps(flow_view):
    g = flow_view
    pattern = _question(g, "state:escalating", "spasticity")
    assert _follow(g, pattern, "focal") == "outcome:next.if-escalation-fails.focal"
    assert _follow(g, pattern, "generalized") == "outcome:next.if-escalation-fails.generalized"
    assert _follow(g, _question(g, "state:needs_alternative", "spasticity"), "focal") == \
        "outcome:next.botulinum-toxin.focal"


def test_flow_attaches_precautions_where_they_apply(shipped_kb, flow_view):
    edge = flow_view.edges["state:escalating", "outcome:caution.respiratory"]
    assert (edge["relation"], edge["label"], edge["condition"]) == ("if", "if respiratory compromise",
                                                                    "respiratory_compromise")
    renal = _question(flow_view, "state:adult_on_oral_baclofen", "renal_function")
    branch = flow_view.edges[renal, "outcome:caution.renal"]
    assert (branch["relation"], branch["condition"]) == ("branch", "renal_function in [moderate, severe]")
    for rule_id in ("renal.moderate", "renal.severe"):  # the rules that define the branch word it
        for alt in shipped_kb.rule(rule_id).alternatives:
            assert all(phrase(shipped_kb.facts[a.fact], a) in branch["label"] for a in alt), rule_id


def test_every_rule_alternative_is_a_path_in_the_flow(shipped_kb, flow_view):
    """Each alternative of a recommending rule reaches its box; the other rules reach their states or
    word the branches of the question they define."""
    g = flow_view
    drawn = {key for _, _, paths in g.edges(data="paths") for key in paths}
    for rule in shipped_kb.rules:
        keys = {f"{rule.id}#{i}" for i, alt in enumerate(rule.alternatives) if possible(shipped_kb, alt)}
        if rule.recommends:
            into = {k for _, _, d in g.in_edges(f"outcome:{rule.id}", data=True) for k in d["paths"]}
            assert keys <= into, rule.id
        elif any(f"state:{f}" in g for f, _ in rule.asserts):
            assert keys <= drawn, rule.id
        else:
            assert any(rule.id in d["rules"] for _, _, d in g.edges(data=True)), rule.id


def test_flow_follows_a_new_rule_without_any_code_change(kb_copy):
    """Derived, not drawn: a precaution added to the YAML appears in the flowchart, attached to its state."""
    path = kb_copy / "rules" / "precautions.yaml"
    path.write_text(path.read_text(encoding="utf-8") + """
  - id: caution.epilepsy-escalation
    title: Epilepsy and a dose increase
    status: approved
    version: 1
    sources: [S04]
    rationale: Test rule.
    when:
      - escalating
      - epilepsy
    then:
      recommend: [caution_epilepsy]
""", encoding="utf-8")
    g = build_view(load_kb(kb_copy), "flow")
    edge = g.edges["state:escalating", "outcome:caution.epilepsy-escalation"]
    assert (edge["relation"], edge["label"]) == ("if", "if epilepsy")


GRAPH_CODE = (*sorted((ENGINE / "graph").rglob("*.py")), ENGINE / "explain" / "explorer.py",
              ENGINE / "knowledge" / "load" / "teaching.py")


def test_graph_code_holds_no_clinical_content(shipped_kb):
    """Thresholds, drugs, codes and rule ids live in kb/, never in the graph modules (regression: the check
    globbed engine/graph*.py, which the graph wing no longer matches, so it read no file at all)."""
    assert len(GRAPH_CODE) > 10 and all(p.is_file() for p in GRAPH_CODE)
    text = "\n".join(p.read_text(encoding="utf-8") for p in GRAPH_CODE)
    words = set(shipped_kb.codes) | {r.id for r in shipped_kb.rules} | set(shipped_kb.invariants.max_daily_mg)
    values = {str(v) for f in shipped_kb.facts.values() for v in f.values}
    words |= {v for v in values if "_" in v}  # below_max: a value, whatever the context
    found = sorted(w for w in words if re.search(rf"\b{re.escape(w)}\b", text))
    # a value that is also an English word (renal function `unknown`) only as a literal: `== "unknown"`
    found += sorted(v for v in values if re.search(rf"[\"']{re.escape(v)}[\"']", text))
    assert found == []
    ceilings = {load_kb(profile=name).invariants.max_daily_mg[drug] for name in shipped_kb.profiles
                for drug in shipped_kb.invariants.max_daily_mg}
    assert len(ceilings) == len(shipped_kb.profiles) > 1  # each profile's label maximum (US 80, UK 100)...
    assert not [c for c in ceilings if re.search(rf"\b{c}\b(?!%)", text)]  # ...is never in graph code


# -- the case overlay --------------------------------------------------------------------------------------

def test_case_overlay_highlights_exactly_the_rules_that_fired(advisor, rules_view):
    result = advisor.advise(reference_case())
    g = overlay_case(rules_view, result.trace)
    lit = {n.removeprefix("rule:") for n, d in g.nodes(data=True) if n.startswith("rule:") and d["highlight"] == "on"}
    assert lit == {f.rule for f in result.trace}
    codes = {n.removeprefix("code:") for n, d in g.nodes(data=True) if n.startswith("code:") and d["highlight"] == "on"}
    assert codes == set(result.codes())
    assert g.nodes["fact:daily_dose_mg"]["value"] == "45"
    assert g.nodes["fact:pregnant"]["highlight"] == "off"
    assert g.edges["fact:daily_dose_mg", "rule:baclofen.dose.below-max"]["highlight"] == "on"
    assert g.edges["fact:daily_dose_mg", "rule:baclofen.dose.at-max"]["highlight"] == "off"
    assert "highlight" not in rules_view.nodes["rule:baclofen.dose.below-max"]  # the input graph is untouched


def test_case_overlay_on_the_flow_lights_the_boxes_of_the_rules_that_fired(advisor, flow_view):
    result = advisor.advise(reference_case())
    g = overlay_case(flow_view, result.trace)
    lit = {n.removeprefix("outcome:") for n, d in g.nodes(data=True)
           if d["kind"] == "outcome" and d["highlight"] == "on"}
    assert lit == {f.rule for f in result.trace if advisor.kb.rule(f.rule).recommends}
    states = {n.removeprefix("state:") for n, d in g.nodes(data=True)
              if d["kind"] == "state" and d["highlight"] == "on"}
    assert states == {f for f, v in result.derived.items() if v is True and f"state:{f}" in g}
    assert g.nodes["outcome:baclofen.maintain.adequate-relief"]["highlight"] == "off"


# -- filters -----------------------------------------------------------------------------------------------

def test_focus_keeps_ancestors_and_descendants(rules_view):
    g = focus(rules_view, "dose_band")
    assert "rule:baclofen.dose.below-max" in g and "fact:daily_dose_mg" in g      # ancestors
    assert "rule:baclofen.escalate.below-max" in g and "code:increase_baclofen" in g  # descendants
    assert "rule:caution.pregnancy" not in g
    assert set(g.nodes) == {"fact:dose_band"} | nx.ancestors(rules_view, "fact:dose_band") | \
        nx.descendants(rules_view, "fact:dose_band")


def test_focus_on_a_rule_drawn_only_as_branch_wording(flow_view):
    g = focus(flow_view, "baclofen.dose.below-max")
    assert "outcome:baclofen.escalate.below-max" in g


def test_focus_on_something_unknown_suggests_a_name(rules_view):
    with pytest.raises(GraphError, match="did you mean 'increase_baclofen'"):
        focus(rules_view, "increase_baclofn")


def test_category_keeps_its_recommendations_and_what_leads_to_them(rules_view, flow_view):
    g = filter_categories(rules_view, ["caution"])
    kept = {d["category"] for n, d in g.nodes(data=True) if d["kind"] == "recommendation"}
    assert kept == {"caution"}
    assert "rule:caution.respiratory" in g and "fact:respiratory_compromise" in g
    assert "rule:monitor.adverse-effects" not in g
    flow = filter_categories(flow_view, ["next_step"])
    wanted = {n for n, d in flow_view.nodes(data=True) if d["kind"] == "outcome" and "next_step" in d["categories"]}
    assert wanted <= set(flow)
    upstream = set().union(*(nx.ancestors(flow_view, n) for n in wanted))
    assert set(flow) == wanted | upstream  # other boxes stay only where a path to a next step runs through them
    with pytest.raises(GraphError, match="did you mean 'caution'"):
        filter_categories(rules_view, ["cautoin"])


# -- which conditions exclude each other (a decision) and which do not (a precaution) ----------------------

NUMBER = FactDef(name="x", type="number", origin="input", label="x", description="")
ENUM = FactDef(name="e", type="enum", origin="input", label="e", description="", values=("a", "b", "c"))
TOY = dataclasses.replace(load_kb(), facts={"x": NUMBER, "e": ENUM})


def _excludes(a: cond.Atom, b: cond.Atom) -> bool:
    """What the flow view asks to tell a decision from a precaution: the one satisfiability check."""
    return contradiction(TOY, (a, b)) is not None


@given(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(0, 6),
       st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(0, 6))
def test_number_conditions_exclude_each_other_exactly_when_no_value_meets_both(op1, v1, op2, v2):
    a, b = cond.Atom("x", op1, v1), cond.Atom("x", op2, v2)
    grid = [i / 2 for i in range(-2, 16)]
    both = any(cond.holds(a, x, True) and cond.holds(b, x, True) for x in grid)
    if "!=" not in (op1, op2):
        assert _excludes(a, b) == (not both)
    else:
        assert not _excludes(a, b) or not both


@given(st.sampled_from(["==", "!=", "in", "not in"]), st.sets(st.sampled_from("abc"), min_size=1),
       st.sampled_from(["==", "!=", "in", "not in"]), st.sets(st.sampled_from("abc"), min_size=1))
def test_enum_conditions_exclude_each_other_exactly_when_no_value_meets_both(op1, s1, op2, s2):
    def atom(op, values):
        return cond.Atom("e", op, tuple(sorted(values)) if op in ("in", "not in") else sorted(values)[0])
    a, b = atom(op1, s1), atom(op2, s2)
    both = any(cond.holds(a, v, True) and cond.holds(b, v, True) for v in ENUM.values)
    assert _excludes(a, b) == (not both)


def test_an_alternative_that_can_never_hold_is_not_drawn(shipped_kb, kb_copy):
    path = kb_copy / "rules" / "safety.yaml"
    path.write_text(path.read_text(encoding="utf-8") + """
  - id: safety.impossible
    title: Never fires
    status: approved
    version: 1
    sources: [S02]
    rationale: Test rule.
    when:
      any:
        - all: [drug == baclofen, missing drug]
        - epilepsy
    then:
      recommend: [caution_epilepsy]
""", encoding="utf-8")
    g = build_view(load_kb(kb_copy), "flow")
    paths = {k for _, _, d in g.in_edges("outcome:safety.impossible", data=True) for k in d["paths"]}
    assert paths == {"safety.impossible#1"}
    assert not possible(shipped_kb, (cond.Atom("drug", "==", "x"), cond.Atom("drug", "missing")))
    assert possible(shipped_kb, (cond.Atom("age", ">=", 18), cond.Atom("age", "<", 65)))


def test_missing_excludes_every_test_of_a_value():
    assert _excludes(cond.Atom("x", "missing"), cond.Atom("x", ">=", 18))
    assert not _excludes(cond.Atom("x", "known"), cond.Atom("x", ">=", 18))
