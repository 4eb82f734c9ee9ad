"""The engine comparison (engine/workbench/enginecheck.py) and its generated cases (generate.py): the
shipped KB answers the same on both engines, and a difference, where there is one, is found and located."""

from __future__ import annotations

from collections import Counter

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.backend import Evaluation, load_backend
from clonus.engine.intake.case import parse_case
from clonus.engine.workbench.enginecheck import boundary_cases, compare_engines, first_difference
from clonus.engine.workbench.generate import generated_cases

from conftest import EXAMPLES, INSTALLED_ENGINES

both = pytest.mark.skipif(len(INSTALLED_ENGINES) < 2, reason=f"needs two engines; here only {INSTALLED_ENGINES}")


def test_generated_cases_are_valid_and_the_same_for_the_same_seed(shipped_kb):
    cases = list(generated_cases(shipped_kb, 2000, 11))
    assert [c.data for c in generated_cases(shipped_kb, 2000, 11)] == [c.data for c in cases]
    assert [c.data for c in generated_cases(shipped_kb, 50, 12)] != [c.data for c in cases[:50]]
    assert len({c.name for c in cases}) == 2000
    for case in cases:
        parse_case(shipped_kb, case.data)  # raises CaseError for a case intake would refuse


def test_generated_cases_reach_every_rule_and_code(shipped_kb):
    fired: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    with Advisor(shipped_kb, include_draft=True) as advisor:
        # a fixed seed: the rarest path (escalating, with tizanidine and dantrolene both contraindicated)
        # is about one case in 3,000, so a seed is a sample, and this one is pinned (seed 1 stopped reaching
        # it, and the kidney-disease request, once kidney_disease became a fact: one more draw per case)
        for case in generated_cases(shipped_kb, 5000, 2):
            result = advisor.advise(case.data)
            fired.update({t.rule for t in result.trace})
            codes.update(result.codes())
    assert set(fired) == {r.id for r in shipped_kb.rules}
    assert set(codes) == set(shipped_kb.codes)


def test_boundary_cases_are_the_lint_search_cases_written_as_case_files(shipped_kb):
    cases, unwritable = boundary_cases(shipped_kb, INSTALLED_ENGINES[0])
    assert len(cases) > 1000 and unwritable == 0
    assert len({str(sorted(c.data.items())) for c in cases}) == len(cases)


@both
def test_the_shipped_kb_answers_the_same_on_both_engines(shipped_kb):
    comparison = compare_engines(shipped_kb, "durable", "clips", generated=500, seed=5, examples=EXAMPLES)
    assert comparison.differences == ()
    assert comparison.counts["example"] == len(list(EXAMPLES.glob("*.yaml")))
    assert comparison.counts["rule test"] == len(shipped_kb.tests)
    assert comparison.counts["boundary"] > 1000
    assert comparison.counts["generated"] == 500
    assert [e["name"] for e in comparison.engines] == ["durable", "clips"]


class _Dropping:
    """A backend like `inner` whose engine loses a rule's firings: a wrong engine, for the comparison."""

    def __init__(self, inner, rule: str):
        self.inner, self.rule, self.name = inner, rule, inner.name

    def version(self) -> str:
        return "faulty"

    def available(self):
        return None

    def limits(self):
        return self.inner.limits()

    def compile(self, plan):
        engine, rule = self.inner.compile(plan), self.rule

        class Engine:
            def evaluate(self, facts, absent):
                got = engine.evaluate(facts, absent)
                return Evaluation(tuple(f for f in got.firings if f.rule != rule), got.derived)

            def close(self):
                engine.close()

        return Engine()


def test_an_engine_that_loses_a_firing_is_caught_where_it_differs(shipped_kb):
    engine = INSTALLED_ENGINES[-1]
    faulty = _Dropping(load_backend(engine), "adjunct.non-drug")
    comparison = compare_engines(shipped_kb, engine, faulty, generated=50, seed=1, examples=EXAMPLES)
    assert comparison.differences
    reference = next(d for d in comparison.differences if d.case.name == "01-reference.yaml")
    assert reference.source == "example"
    assert reference.path.startswith("recommendations[")  # the non-drug advice is gone from the answer
    assert "nonpharmacological_adjuncts" in reference.first and "nonpharmacological_adjuncts" not in reference.second
    assert {d.source for d in comparison.differences} >= {"example", "rule test", "boundary", "generated"}


@pytest.mark.parametrize("a, b, where", [
    ({"x": [1, 2, 3]}, {"x": [1, 5, 3]}, "x[1]"),
    ({"x": {"y": 1}}, {"x": {"y": 1, "z": 2}}, "x.z"),
    ({"x": [1, 2]}, {"x": [1, 2, 3]}, "x (length)"),
    ({"error": "EngineError: boom"}, {"recommendations": []}, "error"),
])
def test_first_difference_names_the_place(a, b, where):
    assert first_difference(a, b)[0] == where


def test_a_case_both_engines_refuse_is_counted_not_compared(shipped_kb, tmp_path):
    (tmp_path / "bad.yaml").write_text("patient: {age: 250}\n", encoding="utf-8")
    (tmp_path / "good.yaml").write_text((EXAMPLES / "01-reference.yaml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    engine = INSTALLED_ENGINES[0]
    # the rule tests stay: they seed the lint search whose boundary cases are compared too
    comparison = compare_engines(shipped_kb, engine, engine, examples=tmp_path)
    assert comparison.refused == 1 and comparison.counts["example"] == 1 and comparison.differences == ()
