"""engine/graph/overview.py and kb/teaching.yaml: the overview is derived from the rules at the level the KB
declares (its questions, its grouped and omitted sections), follows a rule change with no code change, and
teaching.yaml is checked at load like every KB file."""

from __future__ import annotations

import pytest

from clonus.engine.errors import KbError
from clonus.engine.graph import build_view
from clonus.engine.graph.filters import overlay_case
from clonus.engine.graph.nodes import section_index
from clonus.engine.knowledge.load import load_kb

from conftest import reference_case


@pytest.fixture(scope="module")
def overview(shipped_kb):
    return build_view(shipped_kb, "overview")


@pytest.fixture(scope="module")
def flow(shipped_kb):
    return build_view(shipped_kb, "flow")


def _boxes(g):
    return {n: d for n, d in g.nodes(data=True) if d["kind"] == "outcome"}


def test_overview_asks_only_the_declared_questions(shipped_kb, overview):
    asked = {d["fact"] for _, d in overview.nodes(data=True) if d["kind"] == "question"}
    assert asked and asked <= set(shipped_kb.teaching.questions)


def test_every_rule_of_a_drawn_section_is_in_the_overview_and_an_omitted_one_is_named(shipped_kb, overview, flow):
    """Nothing is lost without saying so: each rule the flow draws is in an overview box, unless its
    section is omitted, and then the overview's legend names the section."""
    drawn = {r for d in _boxes(flow).values() for r in d["rules"]}
    shown = {r for d in _boxes(overview).values() for r in d["rules"]}
    sections = shipped_kb.teaching.sections
    for rule_id in drawn:
        section = sections[section_index(shipped_kb, shipped_kb.rule(rule_id))]
        assert (rule_id in shown) == (section.overview != "omitted"), rule_id
    assert overview.graph["omitted"] == tuple(s.title for s in sections if s.overview == "omitted")


def test_a_grouped_section_is_one_node_listing_each_rules_first_recommendation(shipped_kb, overview):
    for index, section in enumerate(shipped_kb.teaching.sections):
        groups = [d for d in _boxes(overview).values() if d.get("section") == section.title]
        if section.overview != "grouped":
            assert not any(d["grouped"] for d in groups), section.title
            continue
        (group,) = groups
        assert group["label"] == section.title and group["grouped"]
        firsts = {shipped_kb.rule(r).recommends[0].code for r in group["rules"]}
        assert {code for code, *_ in group["summary"]} == firsts
        assert overview.has_node(f"group:{index}")


def test_overview_draws_no_state_that_leads_to_no_box_of_a_shown_section(shipped_kb, overview, flow):
    """Regression (KB 0.2.0): red-flag and CNS effects, and the reduction, were states leading only to
    grouped or omitted sections: a dead end on the slide. They are folded into the groups they lead to."""
    import networkx as nx

    shown = {n for n, d in _boxes(overview).items() if not d["grouped"]}
    states = [n for n, d in overview.nodes(data=True) if d["kind"] == "state"]
    assert states and all(nx.descendants(overview, s) & shown for s in states)
    folded = {n for n, d in flow.nodes(data=True) if d["kind"] == "state"} - set(states)
    assert "state:red_flag_effects" in folded and "state:reducing" in folded
    # where CNS effects were entered (from the case), the grouped node they led to is reached instead, and
    # lit when the rule that starts from them fires
    (toxicity,) = [r.id for r in shipped_kb.rules
                   if any(a.fact == "cns_effects" for alt in r.alternatives for a in alt)]
    assert f"{toxicity}#0" in overview.edges["start", "group:0"]["paths"]


def test_overview_edges_say_what_holds_on_every_path_along_them(shipped_kb, overview):
    g = overview
    fallback = [n for n, d in _boxes(g).items() if "next.if-escalation-fails.oral-agents" in d["rules"]]
    (box,) = fallback
    assert len(g.nodes[box]["rules"]) == 4  # one box for the four wordings of the fallback
    edge = g.edges["state:escalating", box]
    assert (edge["relation"], edge["label"]) == ("if", "")  # their contraindications share nothing
    assert edge["condition"].count(" or ") == 3  # the data keeps every alternative
    (hold,) = [n for n, d in _boxes(g).items() if "baclofen.hold.intolerable-side-effects" in d["rules"]]
    assert g.edges["state:adult_on_oral_baclofen", hold]["label"] == \
        "if intolerable side effects or red-flag adverse effects"  # one condition each: both are said


def test_overview_words_the_dose_band_by_its_range(shipped_kb, overview):
    """The plausibility bound every band shares (doses per day) tells no branch apart and is left out."""
    below = [d["label"] for _, _, d in overview.edges(data=True) if d["label"].startswith("below max (")]
    assert below
    limit = next(a for a in shipped_kb.rule("baclofen.dose.below-max").alternatives[0] if a.op == "<")
    assert all(f"< {limit.value} mg/day)" in label and "doses per day" not in label for label in below)


def test_overview_follows_a_new_precaution_without_any_code_change(kb_copy):
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
    kb = load_kb(kb_copy)
    g = build_view(kb, "overview")
    (group,) = [d for d in _boxes(g).values() if "caution.epilepsy-escalation" in d["rules"]]
    assert group["grouped"]
    assert any(u == "state:escalating" and d["relation"] == "if" for u, _, d in g.in_edges(
        [n for n, d in g.nodes(data=True) if d is group][0], data=True))


def test_the_reference_case_lights_the_increase_on_the_overview(advisor, overview):
    lit = overlay_case(overview, advisor.advise(reference_case()).trace)
    on = {n for n, d in lit.nodes(data=True) if d["highlight"] == "on"}
    assert "outcome:baclofen.escalate.below-max" in on and "state:escalating" in on
    assert "outcome:baclofen.hold.at-or-above-max" not in on


def test_every_picture_says_its_kb_version_and_profile(shipped_kb, overview):
    from clonus.engine.graph.style import title

    us = f"{shipped_kb.name} {shipped_kb.version}, profile {shipped_kb.profile.name}, overview"
    assert title(overview).startswith(us)
    uk = load_kb(profile="uk")
    for view in ("rules", "flow", "overview"):
        assert title(build_view(uk, view)).startswith(f"{uk.name} {uk.version}, profile uk, {view}")


def test_a_kb_without_teaching_yaml_gets_a_section_per_category(kb_copy):
    (kb_copy / "teaching.yaml").unlink()
    kb = load_kb(kb_copy)
    assert [s.categories for s in kb.teaching.sections] == [(c,) for c in kb.categories]
    assert kb.teaching.questions is None
    assert build_view(kb, "overview").number_of_nodes() > 10


@pytest.mark.parametrize("change,message", [
    (("[scope, safety]", "[scope, safty]"), "unknown category 'safty' (did you mean 'safety'?)"),
    (("[caution]", "[caution, scope]"), "'scope' is already in section 'Scope and safety'"),
    (("[monitoring, adjunct]", "[monitoring]"), "category 'adjunct' is in no section"),
    (("overview: omitted", "overview: hidden"), "'hidden' is not one of shown, grouped, omitted"),
    (("questions: [relief,", "questions: [releif,"), "unknown fact 'releif' (did you mean 'relief'?)"),
    (("\nsections:\n", "\nsection:\n"), "section: unknown field (did you mean 'sections'?)"),
    (("codes: [refer_pump_catheter_assessment]", "codes: [refer_pump_catheter_assesment]"),
     "unknown code 'refer_pump_catheter_assesment' (did you mean 'refer_pump_catheter_assessment'?)"),
    (("codes: [refer_pump_catheter_assessment]", "codes: [refer_pump_catheter_assessment, use_lowest_effective_dose]"),
     "'use_lowest_effective_dose' is already in section 'Scope and safety'"),
    (("codes: [refer_pump_catheter_assessment]", "codes: refer_pump_catheter_assessment"),
     "sections.codes: a list of code names"),
])
def test_teaching_yaml_problems_are_load_errors_with_their_line(kb_copy, change, message):
    path = kb_copy / "teaching.yaml"
    old, new = change
    assert old in path.read_text(encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KbError) as caught:
        load_kb(kb_copy)
    problems = [str(p) for p in caught.value.problems]
    assert any(message in p and "teaching.yaml:" in p for p in problems), problems
    assert all(p.split(":")[1].isdigit() and int(p.split(":")[1]) > 0 for p in problems), problems


def test_a_section_listing_a_code_takes_its_rules_whatever_their_category(kb_copy, shipped_kb):
    """teaching.yaml can move a code out of its category's section: its rules are drawn there (here on the
    omitted Monitoring page, so no longer in the overview's precautions)."""
    rule = shipped_kb.rule("caution.epilepsy")
    code = rule.recommends[0].code
    sections = shipped_kb.teaching.sections
    assert sections[section_index(shipped_kb, rule)].overview == "grouped"
    path = kb_copy / "teaching.yaml"
    text = path.read_text(encoding="utf-8")
    assert "codes: [use_lowest_effective_dose]" in text
    path.write_text(text.replace("codes: [use_lowest_effective_dose]", f"codes: [use_lowest_effective_dose, {code}]"),
                    encoding="utf-8")
    kb = load_kb(kb_copy)
    moved = kb.teaching.sections[section_index(kb, kb.rule(rule.id))]
    assert code in moved.codes and moved.overview == "omitted"
    assert not any(rule.id in d["rules"] for d in _boxes(build_view(kb, "overview")).values())
    assert any(rule.id in d["rules"] for d in _boxes(build_view(shipped_kb, "overview")).values())


def test_teaching_yaml_is_not_part_of_the_digest(kb_copy, shipped_kb):
    """Presentation only: no answer depends on it, so every answer's digest stays the same."""
    path = kb_copy / "teaching.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("overview: omitted", "overview: grouped"),
                    encoding="utf-8")
    changed = load_kb(kb_copy)
    assert changed.digest == shipped_kb.digest
    assert changed.teaching != shipped_kb.teaching
