"""Every rule test case of the shipped KB (kb/rules/*.tests.yaml) as its own pytest id, such as
`dosing::reference case escalates with the full titration advice`, so that `pytest -k dosing` or
`pytest -k "dosing and maintained"` runs just those, once per rule engine installed (`-k clips` for one).
Adding a case needs no Python. A `todo` case (a known gap kept in the suite) is a strict xfail: it must
fail, and once it passes the suite says so until its `todo: true` is removed.
"""

from __future__ import annotations

import pytest

from clonus.engine.decide.advisor import Advisor
from clonus.engine.explain.rule_tests import describe
from clonus.engine.knowledge.load import default_kb_dir, load_kb
from clonus.engine.workbench.ruletests import case_id, run_case

from conftest import engine_params

KB = load_kb(default_kb_dir())  # the cases are the parameters, so they are read at collection


def _param(test):
    marks = ([pytest.mark.xfail(reason=f"todo: a known gap ({test.file}:{test.line})", strict=True)]
             if test.todo else [])
    return pytest.param(test, id=case_id(test), marks=marks)


@pytest.fixture(scope="module", params=engine_params())
def advisors(request):
    """On each installed engine, one Advisor per dosing profile, opened when a case first asks for it: a
    case runs under its `profile:`, or the KB's default one."""
    opened: dict[str, Advisor] = {}

    def under(profile: str) -> Advisor:
        if profile not in opened:
            kb = KB if profile == KB.profile.name else load_kb(default_kb_dir(), profile)
            opened[profile] = Advisor(kb, include_draft=True, engine=request.param)
        return opened[profile]

    yield under
    for advisor in opened.values():
        advisor.close()


def test_the_shipped_kb_has_rule_test_cases():
    assert len(KB.tests) > 0
    assert len({case_id(t) for t in KB.tests}) == len(KB.tests), "two cases share a file and a name"


@pytest.mark.parametrize("test", [_param(t) for t in KB.tests])
def test_rule_case(test, advisors):
    outcome, _, _ = run_case(advisors(test.profile or KB.profile.name), test)
    assert outcome.error is None, describe(outcome)
    assert outcome.status in ("passed", "fixed"), "\n" + describe(outcome)  # a fixed todo XPASSes
