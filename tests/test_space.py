"""engine/boundaries.py and engine/space.py: boundary values of each fact, product dimensions, and the
exploration's exact reductions."""

from __future__ import annotations

import itertools

import pytest

from clonus.engine.knowledge.boundaries import atoms_by_fact, dimensions, fact_values, signature
from clonus.engine.knowledge.conditions import parse_atom
from clonus.engine.knowledge.load import load_kb
from clonus.engine.workbench.space import Explorer, Outcome, Question

from lintkbs import build_kb


def _atoms(*texts):
    return [parse_atom(t) for t in texts]


def test_number_boundaries_are_just_below_at_and_just_above(shipped_kb):
    assert fact_values(shipped_kb, shipped_kb.facts["age"], _atoms("age >= 18", "age >= 65")) == \
        [17, 18, 19, 64, 65, 66, None]


def test_number_boundaries_stay_in_range(shipped_kb):
    """Just below 0.5 is the minimum, 0; nothing lies above the maximum, 200."""
    values = fact_values(shipped_kb, shipped_kb.facts["egfr"], _atoms("egfr < 0.5", "egfr >= 200"))
    assert values == [0, 0.5, 1.5, 199, 200, None]


def test_just_above_an_exclusive_minimum_is_inside_it(shipped_kb):
    values = fact_values(shipped_kb, shipped_kb.facts["dose_mg"], _atoms("dose_mg <= 0.5"))
    assert values == [0.25, 0.5, 1.5, None]


def test_close_thresholds_use_a_smaller_step(shipped_kb):
    values = fact_values(shipped_kb, shipped_kb.facts["age"], _atoms("age >= 18", "age < 19"))
    assert values == [17.5, 18, 18.5, 19, 19.5, None]


def test_frequencies_take_only_values_a_notation_can_express(shipped_kb):
    values = fact_values(shipped_kb, shipped_kb.facts["doses_per_day"], _atoms("doses_per_day < 5"))
    assert values == [4, 6, None]  # 5 doses a day has no notation


def test_enum_boolean_words_and_text(shipped_kb):
    facts = shipped_kb.facts
    assert fact_values(shipped_kb, facts["sleep_apnea"], []) == ["none_known", "suspected", "untreated", "treated"]
    assert fact_values(shipped_kb, facts["spasticity"], []) == ["focal", "generalized", None]
    assert fact_values(shipped_kb, facts["dialysis"], []) == [False, True]  # absent is false: never absent
    assert fact_values(shipped_kb, facts["other_medications"],
                       _atoms("other_medications has a", "other_medications lacks b")) \
        == [(), ("a",), ("b",), ("a", "b")]
    assert fact_values(shipped_kb, facts["drug"], _atoms("drug == baclofen", "drug != other")) == \
        ["baclofen", "other", "other1", None]


def test_a_product_dimension_hits_each_boundary_exactly(shipped_kb):
    [dim] = [d for d in dimensions(shipped_kb, atoms_by_fact(shipped_kb.rules)) if d.name == "daily_dose_mg"]
    assert dim.facts == ("daily_dose_mg", "dose_mg", "doses_per_day")
    points = [dict(p) for p in dim.points]
    for p in points:
        if p["daily_dose_mg"] is not None:
            assert p["dose_mg"] * p["doses_per_day"] == pytest.approx(p["daily_dose_mg"], abs=1e-9)
        else:
            assert p["dose_mg"] is None or p["doses_per_day"] is None
    assert {p["daily_dose_mg"] for p in points} >= {29, 30, 31, 79, 80, 81, None}


def test_values_no_condition_tells_apart_share_a_signature():
    atoms = {"age": _atoms("age >= 18")}
    assert signature((("age", 18),), atoms) == signature((("age", 64),), atoms)
    assert signature((("age", 17),), atoms) == signature((("age", None),), atoms)
    assert signature((("age", 17),), atoms) != signature((("age", 18),), atoms)


# -- exploration, with a counting runner over the mini KB -------------------------------------------

class _Counting:
    """Runs assignments through the real engine via the lint runner, counting distinct runs."""

    def __init__(self, kb):
        from clonus.engine.workbench.search import _Runner

        self.runner = _Runner(kb, include_draft=False, engine=None)
        self.runs = 0

    def __call__(self, assignment):
        self.runs += 1
        return self.runner.run(assignment)


@pytest.fixture
def mini(tmp_path):
    kb = load_kb(build_kb(tmp_path))
    counting = _Counting(kb)
    yield kb, counting, Explorer(kb, counting.runner.advisor.plan.rules, counting)
    counting.runner.close()


def test_each_distinct_case_runs_once(mini):
    kb, counting, explorer = mini
    question = Question("escalate with maintain", frozenset({"dose.escalate", "dose.maintain"}),
                        frozenset({"increase_baclofen", "maintain_current_dose"}))
    explorer.explore(question)
    runs = counting.runs
    explorer.explore(question)
    assert counting.runs == runs == len(explorer.outcomes)


def test_an_exploration_covers_every_combination_the_question_can_tell_apart(mini):
    """Exactness: every combination of the question's condition classes reachable by brute force over
    the full boundary space is reached by the pruned exploration."""
    kb, counting, explorer = mini
    targets = frozenset({"dose.escalate", "dose.at-max"})
    explorer.explore(Question("q", targets, frozenset({"increase_baclofen", "no_escalation_at_max_dose"})))
    pruned = {frozenset(o.fired) & targets for _, o in explorer.outcomes.values()}
    brute = set()
    for combo in itertools.product(*(d.points for d in explorer.dims)):
        outcome = counting.runner.run({f: v for point in combo for f, v in point})
        brute.add(frozenset(outcome.fired) & targets)
    assert pruned == brute
    assert len(explorer.outcomes) < explorer.full_size


@pytest.mark.parametrize("variant", [None, "gap"])
def test_the_gap_question_finds_every_case_brute_force_finds(tmp_path, variant):
    """Exactness of the settled-case pruning: the pruned exploration reaches a case without a next step
    exactly when one exists in the full boundary space."""
    from clonus.engine.workbench.search import next_step_codes

    kb = load_kb(build_kb(tmp_path, variant))
    counting = _Counting(kb)
    explorer = Explorer(kb, counting.runner.advisor.plan.rules, counting)
    codes = next_step_codes(kb)
    targets = frozenset(r.id for r in explorer.rules if any(rec.code in codes for rec in r.recommends))
    population = (parse_atom("age >= 18"), parse_atom("relief == inadequate"))
    explorer.explore(Question("gap", targets, codes, population, settled_by_any=True))

    def gaps(outcomes):
        return {tuple(sorted(o.derived.items())) for a, o in outcomes
                if a["age"] is not None and a["age"] >= 18 and a["relief"] == "inadequate" and not o.codes & codes}

    brute = []
    for combo in itertools.product(*(d.points for d in explorer.dims)):
        assignment = {f: v for point in combo for f, v in point}
        brute.append((assignment, counting.runner.run(assignment)))
    assert gaps(explorer.outcomes.values()) == gaps(brute)
    assert bool(gaps(brute)) == (variant == "gap")
    counting.runner.close()


def test_a_population_restricts_the_cases(mini):
    kb, counting, explorer = mini
    population = (parse_atom("age >= 18"), parse_atom("relief == inadequate"))
    explorer.explore(Question("gap", frozenset({"dose.escalate"}), frozenset({"increase_baclofen"}), population))
    assert explorer.outcomes
    for assignment, _ in explorer.outcomes.values():
        assert assignment["relief"] == "inadequate" and assignment["age"] >= 18


def test_until_stops_at_the_first_case_that_holds(mini):
    kb, counting, explorer = mini
    explorer.explore(Question("reach", frozenset({"dose.maintain"}), frozenset(),
                              until=lambda o: "dose.maintain" in o.fired))
    outcomes = [o for _, o in explorer.outcomes.values()]
    assert any("dose.maintain" in o.fired for o in outcomes)
    assert sum("dose.maintain" in o.fired for o in outcomes) == 1
    assert isinstance(outcomes[-1], Outcome) and "dose.maintain" in outcomes[-1].fired
