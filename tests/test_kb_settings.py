"""kb.yaml `gap_check` and `vocabulary`: lint's gap population, the next-step categories and the roles the
safety checks read are KB data, validated at load."""

from __future__ import annotations

import dataclasses

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.invariants import check_invariants
from clonus.engine.errors import KbError, SafetyError
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.search import gap_population, next_step_codes

from conftest import reference_case


def test_shipped_gap_check(shipped_kb):
    assert shipped_kb.gap_population == (Atom("age", ">=", 18), Atom("relief", "==", "inadequate"))
    assert shipped_kb.gap_categories == ("scope", "escalation", "non_escalation", "next_step")
    assert gap_population(shipped_kb) == shipped_kb.gap_population
    codes = next_step_codes(shipped_kb)
    assert "consider_intrathecal_baclofen" in codes and "urgent_evaluation_withdrawal" in codes
    assert "nonpharmacological_adjuncts" not in codes


@pytest.mark.parametrize("old, new, message", [
    ("next_step_categories: [scope, escalation, non_escalation, next_step]",
     "next_step_categories: [scope, next_steps]",
     "gap_check.next_step_categories: unknown category 'next_steps' (did you mean 'next_step'?)"),
    ("population: [age >= $adult_age, relief == inadequate]", "population: [age >= $adult_age, escalating]",
     "gap_check.population: 'escalating' is derived; the population is written in input facts"),
    ("population: [age >= $adult_age, relief == inadequate]", "population: [age >= $adult_age, relief == poor]",
     "'poor' is not a value of relief"),
], ids=["unknown-category", "derived-fact", "bad-enum-value"])
def test_bad_gap_check_is_a_located_problem(kb_copy, old, new, message):
    path = kb_copy / "kb.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(KbError) as info:
        load_kb(kb_copy)
    [problem] = info.value.problems
    assert problem.file.endswith("kb.yaml") and problem.line > 1
    assert message in str(problem)


def test_without_gap_check_there_is_no_gap_population(kb_copy):
    path = kb_copy / "kb.yaml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("# What lint's gap search checks"), text.index("# The roles of this KB")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    kb = load_kb(kb_copy)
    assert kb.gap_population == () and gap_population(kb) is None


def test_a_kb_without_its_vocabulary_is_a_load_error_not_a_weaker_check(kb_copy):
    """The safety invariants read the scope and escalation categories from the vocabulary: without it the KB
    does not load (a renamed category must never switch an invariant off silently)."""
    path = kb_copy / "kb.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("# The roles of this KB")], encoding="utf-8")
    with pytest.raises(KbError) as info:
        load_kb(kb_copy)
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [
        "vocabulary: is required: a mapping of scope_category, escalation_category, sections, case_line"]


def test_renaming_the_escalation_category_keeps_the_invariant_on(kb_copy):
    """Renamed in codes.yaml and in the vocabulary together, the category still blocks dosing advice with a
    scope code: the invariant follows the KB's words."""
    for name in ("codes.yaml", "kb.yaml", "teaching.yaml"):
        path = kb_copy / name
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("  escalation:\n", "  dose_increase:\n")
                        .replace("escalation_category: escalation", "escalation_category: dose_increase")
                        .replace("categories: [scope, non_escalation, escalation]",
                                 "categories: [scope, non_escalation, dose_increase]")
                        .replace("[scope, escalation, non_escalation, next_step]",
                                 "[scope, dose_increase, non_escalation, next_step]")
                        .replace("categories: [escalation, non_escalation]",
                                 "categories: [dose_increase, non_escalation]"), encoding="utf-8")
    kb = load_kb(kb_copy)
    assert kb.vocabulary.escalation_category == "dose_increase"
    with Advisor(kb) as advisor:
        result = advisor.advise(reference_case())
    assert result.get("increase_baclofen").category == "dose_increase"
    scope = next(c for c in kb.codes.values() if c.category == "scope")
    refused = dataclasses.replace(result, recommendations=(*result.recommendations, dataclasses.replace(
        result.recommendations[0], code=scope.code, category=scope.category)))
    with pytest.raises(SafetyError, match="dosing advice given together with"):
        # the invariant alone, without the exclusion that would also refuse it
        check_invariants(dataclasses.replace(kb, invariants=dataclasses.replace(kb.invariants, exclusions=())), refused)
