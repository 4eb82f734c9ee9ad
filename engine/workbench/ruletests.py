"""Run the KB's rule tests (kb/rules/*.tests.yaml) and measure coverage, for `clonus test` and pytest.

A case passes when every `expect` code appears and no `forbid` code does. A `todo` case runs and is
reported (still failing, or now passing) but never fails the run. Coverage: per rule, whether some case
fired it; per condition (each line of a rule's `when`), whether some case saw it true and some case saw
it false. A comparison on an input fact the case lacks is neither (counted as unknown); a derived fact
no rule asserted is false, as the engine reads it. Tests run with every rule, whatever its status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.result import Result, TraceEntry
from clonus.engine.errors import CaseError, ClonusError
from clonus.engine.intake.case import Case, parse_case
from clonus.engine.knowledge.conditions import atoms
from clonus.engine.knowledge.load import load_kb
from clonus.engine.knowledge.model import Kb, Rule, RuleTest
from clonus.engine.knowledge.truth import truth


def suite_name(test: RuleTest) -> str:
    """`dosing` for kb/rules/dosing.tests.yaml."""
    return Path(test.file).name.removesuffix(".tests.yaml")


def case_id(test: RuleTest) -> str:
    """`dosing::reference case escalates`: the id of a test case in reports and in pytest."""
    return f"{suite_name(test)}::{test.name}"


@dataclass(frozen=True)
class CaseOutcome:
    """One test case run: passed | failed | error | todo (still failing) | fixed (a todo that now passes)."""

    test: RuleTest
    status: str
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    trace: tuple[TraceEntry, ...] = ()
    error: str | None = None
    unfired: tuple[str, ...] = ()   # rules the test says must fire that did not
    not_first: str | None = None    # the code that came first instead of the test's `first`

    @property
    def id(self) -> str:
        return case_id(self.test)

    @property
    def fails(self) -> bool:
        return self.status in ("failed", "error")


@dataclass(frozen=True)
class ConditionCoverage:
    condition: str
    line: int
    true: int
    false: int
    unknown: int

    @property
    def covered(self) -> bool:
        return self.true > 0 and self.false > 0


@dataclass(frozen=True)
class RuleCoverage:
    rule: Rule
    fired: int
    conditions: tuple[ConditionCoverage, ...]


@dataclass(frozen=True)
class Coverage:
    rules: tuple[RuleCoverage, ...]

    @property
    def rules_fired(self) -> int:
        return sum(1 for r in self.rules if r.fired)

    @property
    def conditions(self) -> list[tuple[Rule, ConditionCoverage]]:
        return [(r.rule, c) for r in self.rules for c in r.conditions]

    @property
    def conditions_covered(self) -> int:
        return sum(1 for _, c in self.conditions if c.covered)

    @property
    def rule_percent(self) -> float:
        return 100.0 * self.rules_fired / len(self.rules) if self.rules else 100.0

    @property
    def condition_percent(self) -> float:
        total = len(self.conditions)
        return 100.0 * self.conditions_covered / total if total else 100.0


@dataclass(frozen=True)
class TestRun:
    outcomes: tuple[CaseOutcome, ...]
    coverage: Coverage

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> bool:
        return any(o.fails for o in self.outcomes)


def run_case(advisor: Advisor, test: RuleTest) -> tuple[CaseOutcome, Case | None, Result | None]:
    """Run one test case; a case the intake refuses, or an answer the runtime refuses, is an error."""
    try:
        case = parse_case(advisor.kb, test.case)
        result = advisor.advise_case(case)
    except CaseError as exc:
        return _settle(test, CaseOutcome(test, "error", error=f"the case is not usable: {exc}")), None, None
    except ClonusError as exc:
        return _settle(test, CaseOutcome(test, "error", error=f"{type(exc).__name__}: {exc}")), None, None
    codes = result.codes()
    missing = tuple(c for c in test.expect if c not in codes)
    unexpected = tuple(c for c in test.forbid if c in codes)
    fired = {entry.rule for entry in result.trace}
    unfired = tuple(r for r in test.fires if r not in fired)
    lead = codes[0] if codes else "(no recommendation)"
    not_first = lead if test.first is not None and lead != test.first else None
    status = "failed" if missing or unexpected or unfired or not_first else "passed"
    outcome = CaseOutcome(test, status, missing, unexpected, codes, result.trace, unfired=unfired,
                          not_first=not_first)
    return _settle(test, outcome), case, result


def _settle(test: RuleTest, outcome: CaseOutcome) -> CaseOutcome:
    """A todo case never fails: it is `todo` while it fails, `fixed` once it passes."""
    if not test.todo:
        return outcome
    status = "fixed" if outcome.status == "passed" else "todo"
    return dataclasses.replace(outcome, status=status)


def run_tests(kb: Kb, tests: Iterable[RuleTest] | None = None, engine: str | None = None) -> TestRun:
    """Run every rule test of the KB (or the given ones), each under its profile, with one Advisor per
    profile running every rule."""
    chosen = list(kb.tests if tests is None else tests)
    outcomes: dict[int, CaseOutcome] = {}
    seen: list[tuple[Kb, Case, Result]] = []
    for profile in dict.fromkeys(t.profile or kb.profile.name for t in chosen):
        bound = kb if profile == kb.profile.name else load_kb(kb.root, profile)
        with Advisor(bound, include_draft=True, engine=engine, cache=False) as advisor:
            for i, test in enumerate(chosen):
                if (test.profile or kb.profile.name) != profile:
                    continue
                outcome, case, result = run_case(advisor, test)
                outcomes[i] = outcome
                if case is not None and result is not None:
                    seen.append((bound, case, result))
    return TestRun(tuple(outcomes[i] for i in range(len(chosen))), coverage(kb, seen))


def coverage(kb: Kb, runs: list[tuple[Kb, Case, Result]]) -> Coverage:
    """Per rule of `kb`: the runs that fired it; per condition, the runs that saw it true and false. A run
    under another profile reads the same rule bound to its profile (conditions matched by position)."""
    rules = []
    for rule in kb.rules:
        fired = sum(1 for _, _, result in runs if any(t.rule == rule.id for t in result.trace))
        conditions = []
        own = list(dict.fromkeys(atoms(rule.when)))
        for index, atom in enumerate(own):
            truths = []
            for bound, case, result in runs:
                theirs = list(dict.fromkeys(atoms(bound.rule(rule.id).when)))
                truths.append(truth(bound, theirs[index], case.facts, result.derived))
            conditions.append(ConditionCoverage(str(atom), rule.condition_lines.get(str(atom), rule.line),
                                                truths.count(True), truths.count(False), truths.count(None)))
        rules.append(RuleCoverage(rule, fired, tuple(conditions)))
    return Coverage(tuple(rules))
