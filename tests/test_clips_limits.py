"""CLIPS's limits, each pinned through clonus: a KB exactly at the limit loads, compiles and answers on
CLIPS; one step past it is refused before CLIPS sees it, as one located problem. CLIPS has no limit of
its own within benchmarks/clips_limits.py's probe, only a build time that grows faster than the facts
read, and with the square of the facts one rule joins (engine/backends/clips/__init__.py): those two
are limited, the rest are not, so a KB one past each of durable_rules' limits still answers on CLIPS.

The shapes are test_durable_limits.py's: the shipped KB's rules replaced by rules of one shape.
"""

from __future__ import annotations

import pytest

from clonus.engine.backends.clips import BACKEND, LIMITS
from clonus.engine.backends.durable import LIMITS as DURABLE_LIMITS
from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.evaluation import make_evaluation_plan
from clonus.engine.decide.limits import QUANTITIES, plan_problems
from clonus.engine.errors import KbError
from clonus.engine.knowledge.load import load_kb

from test_durable_limits import shape
from test_runtime_guards import write_rules

pytestmark = pytest.mark.skipif(BACKEND.available() is not None, reason=f"CLIPS: {BACKEND.available()}")

LIMITED = ("facts_read", "facts_per_alternative")


def _kb(tmp_path, kb_copy_factory, quantity: str, n: int):
    rules, facts, case, crossing = shape(quantity, n)
    return write_rules(kb_copy_factory(tmp_path / f"{quantity}-{n}"), rules, facts), case, crossing


def _fired(kb_dir, case: dict) -> int:
    with Advisor(load_kb(kb_dir), engine="clips") as advisor:
        return len(advisor.engine.evaluate(case, frozenset()).firings)


def test_clips_declares_the_two_limits_it_was_measured_to_need():
    assert {q for q in QUANTITIES if getattr(LIMITS, q) is not None} == set(LIMITED)
    assert (LIMITS.facts_read, LIMITS.facts_per_alternative, LIMITS.engine) == (2_000, 1_000, "CLIPS")
    assert all(LIMITS.effect(q).startswith("building it takes longer") for q in LIMITED)


@pytest.mark.parametrize("quantity", LIMITED)
def test_kb_one_past_a_clips_limit_is_one_located_problem(tmp_path, kb_copy_factory, quantity):
    limit = getattr(LIMITS, quantity)
    within, _, _ = _kb(tmp_path, kb_copy_factory, quantity, limit)
    assert plan_problems(make_evaluation_plan(load_kb(within)), LIMITS) == []
    past, _, crossing = _kb(tmp_path, kb_copy_factory, quantity, limit + 1)
    kb = load_kb(past)
    with pytest.raises(KbError) as info:
        Advisor(kb, engine="clips")
    [problem] = info.value.problems
    rule = kb.rule(crossing)
    assert (problem.file, problem.rule, problem.field) == (rule.file, crossing, "when")
    assert problem.message.endswith(f"; CLIPS takes at most {limit:,} (past that, {LIMITS.effect(quantity)})")


@pytest.mark.parametrize("quantity", LIMITED)
def test_clips_answers_a_kb_at_its_limit(tmp_path, kb_copy_factory, quantity):
    within, case, _ = _kb(tmp_path, kb_copy_factory, quantity, getattr(LIMITS, quantity))
    assert _fired(within, case) == (LIMITS.facts_read if quantity == "facts_read" else 1)


@pytest.mark.parametrize("quantity", sorted(q for q in QUANTITIES if getattr(DURABLE_LIMITS, q) is not None))
def test_clips_answers_a_kb_one_past_durables_limit(tmp_path, kb_copy_factory, quantity):
    """What durable_rules hangs, crashes or fails on (test_durable_limits.py), CLIPS answers, every rule
    firing that should; unless the KB is past a CLIPS limit too, it is not refused on CLIPS."""
    n = getattr(DURABLE_LIMITS, quantity) + 1
    past, case, _ = _kb(tmp_path, kb_copy_factory, quantity, n)
    assert plan_problems(make_evaluation_plan(load_kb(past)), LIMITS) == []
    expected = {"facts_read": n, "facts_per_alternative": 1, "tests_per_fact": 1, "patterns_per_fact": n,
                "alternatives_per_pattern": n, "alternatives": n}
    assert _fired(past, case) == expected[quantity]
