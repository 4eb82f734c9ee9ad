"""CLIPS 6.4 through clipspy, the engine where durable_rules does not import (Python 3.13 and later):
compiler.py writes the evaluation plan as CLIPS source, runtime.py runs it one case at a time in its own
environment, behind guards for CLIPS's and clipspy's sharp edges (docs/engines.md).

Its limits (LIMITS, checked on the plan before compile: decide/limits.py), measured with
`python benchmarks/clips_limits.py` on CPython 3.11, clipspy 1.0.6 (CLIPS 6.4), in the program clonus'
compiler writes. CLIPS has no limit of its own for any shape within the probe (sizes up to 10,000, where
durable_rules fails from 17 to 4,096): nothing crashes, nothing errs, every rule fires. What grows is
the time to build the program and answer a case, in seconds on the 2-core development machine (the
lower figure with the machine quiet, the higher with other work sharing it):

    quantity                    1,000      2,000      4,000      how it grows
    facts_read                 0.6-1.8     3.7       5.5-7.2     faster than the KB: a deftemplate and a
                                                                 pattern each, and the evaluate
                                                                 function's parameters
    facts_per_alternative      1.2-1.8     7.8       23-54       with the square: one rule joining all
    tests_per_fact             0.1         0.3       0.2-0.8     linear (10,000 values: 1.1 s)
    patterns_per_fact          0.3-1.6     2.5       1.7-5.4     linear
    alternatives_per_pattern   0.2-1.2     1.7       1.3-2.4     linear
    alternatives               0.4-0.8     1.8       1.4-2.2     linear

So the two shapes whose time runs away are limited where a KB still builds and answers within a second
or two (issue 8's bound for any input): past them a KB of a few times the size takes minutes, a hang to
its user. The linear ones are not limited: a KB of 10,000 rules is slow because it is big (a few
seconds), never a hang. tests/test_clips_limits.py pins both limits, and that CLIPS answers a KB one
past each of durable's.
"""

from __future__ import annotations

from functools import cache

from clonus.engine.decide.backend import distribution_version
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.decide.limits import Limits

from .runtime import ClipsEngine

LIMITS = Limits(facts_read=2_000, facts_per_alternative=1_000, engine="CLIPS",
                effects=(("facts_read", "building it takes longer the more there are, faster than they grow"),
                         ("facts_per_alternative", "building it takes longer with the square of their number")))


class ClipsBackend:
    name = "clips"

    @cache  # noqa: B019 - one backend object for the process; the version never changes under it
    def version(self) -> str:
        return distribution_version("clipspy")

    @cache  # noqa: B019 - importing clipspy once tells for the whole process
    def available(self) -> str | None:
        try:
            import clips  # noqa: F401
        except ImportError as exc:
            return f"clipspy does not import on this Python ({exc})"
        return None

    def limits(self) -> Limits:
        return LIMITS

    def compile(self, plan: EvaluationPlan) -> ClipsEngine:
        from .compiler import compile_plan

        return ClipsEngine(compile_plan(plan))


BACKEND = ClipsBackend()
