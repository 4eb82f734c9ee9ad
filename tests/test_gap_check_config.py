"""kb.yaml `gap_check`: lint's gap population and next-step categories are KB data, validated at load."""

from __future__ import annotations

import pytest

from clonus.engine.errors import KbError
from clonus.engine.knowledge.conditions import Atom
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.search import gap_population, next_step_codes


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
    ("population: [age >= 18, relief == inadequate]", "population: [age >= 18, escalating]",
     "gap_check.population: 'escalating' is derived; the population is written in input facts"),
    ("population: [age >= 18, relief == inadequate]", "population: [age >= 18, relief == poor]",
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
    path.write_text(text[: text.index("# What lint's gap search checks")], encoding="utf-8")
    kb = load_kb(kb_copy)
    assert kb.gap_population == () and gap_population(kb) is None
