"""durable_rules 2.0.28, the engine clonus was specified on: compiler.py builds its JSON ruleset from the
evaluation plan, runtime.py runs it one case at a time behind guards for its known sharp edges.

Its limits (LIMITS, checked on the plan before compile: decide/limits.py), measured with
`python benchmarks/durable_limits.py` on CPython 3.11 (the same on 3.12), in the network clonus' compiler
builds; past each, durable hangs, crashes or fails (tests/test_durable_limits.py pins each boundary):

    quantity                    works at   fails at   how (and where in durable's C core)
    facts_read                     510        511     never answers: with the sentinel's, 512 children fill
                                                      the root's 512-slot table (NEXT_BUCKET_LENGTH), whose
                                                      lookups then loop for ever (or until error 303);
                                                      from 512, compiling hangs
    facts_per_alternative           16         17     error 304 at run time, once all 17 facts hold
                                                      (MAX_MESSAGE_FRAMES)
    tests_per_fact                 511        512     the same full table under one node (an `in` list of
                                                      512 values); from 513, compiling hangs
    patterns_per_fact               64         65     error 303 at run time, once all of them hold for one
                                                      value (MAX_STACK_SIZE); the same for 65 `in` lists
    alternatives_per_pattern       255        256     segfault at run time (256: the beta list overflows),
                                                      error 108 at compile from 257 (BETA_LIST_LENGTH)
    alternatives                 4,095      4,096     error 106 at compile (MAX_ACTIONS, with the sentinel)
"""

from __future__ import annotations

from functools import cache

from clonus.engine.decide.backend import distribution_version
from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.decide.limits import Limits

from .runtime import DurableEngine

LIMITS = Limits(
    facts_read=510, facts_per_alternative=16, tests_per_fact=511, patterns_per_fact=64,
    alternatives_per_pattern=255, alternatives=4_095, engine="durable_rules",
    effects=(("facts_read", "it hangs"), ("facts_per_alternative", "it fails at run time: error 304"),
             ("tests_per_fact", "it hangs"), ("patterns_per_fact", "it fails at run time: error 303"),
             ("alternatives_per_pattern", "it crashes (segfault) or fails to compile: error 108"),
             ("alternatives", "it fails to compile: error 106")),
)


class DurableBackend:
    name = "durable"

    @cache  # noqa: B019 - one backend object for the process; the version never changes under it
    def version(self) -> str:
        return distribution_version("durable_rules")

    @cache  # noqa: B019 - importing durable once tells for the whole process
    def available(self) -> str | None:
        try:
            import durable_rules_engine  # noqa: F401
            from durable import engine  # noqa: F401
        except ImportError as exc:
            return f"durable_rules does not import on this Python ({exc})"
        return None

    def limits(self) -> Limits:
        return LIMITS

    def compile(self, plan: EvaluationPlan) -> DurableEngine:
        from .compiler import compile_plan

        return DurableEngine(compile_plan(plan))


BACKEND = DurableBackend()
