"""CLIPS 6.4 through clipspy, the engine where durable_rules does not import (Python 3.13 and later):
compiler.py writes the evaluation plan as CLIPS source, runtime.py runs it one case at a time in its own
environment, behind guards for CLIPS's and clipspy's sharp edges (docs/engines.md)."""

from __future__ import annotations

from functools import cache

from clonus.engine.decide.evaluation import EvaluationPlan

from .runtime import ClipsEngine


class ClipsBackend:
    name = "clips"

    @cache  # noqa: B019 - one backend object for the process; the version never changes under it
    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("clipspy")
        except PackageNotFoundError:
            return "not installed"

    @cache  # noqa: B019 - importing clipspy once tells for the whole process
    def available(self) -> str | None:
        try:
            import clips  # noqa: F401
        except ImportError as exc:
            return f"clipspy does not import on this Python ({exc})"
        return None

    def compile(self, plan: EvaluationPlan) -> ClipsEngine:
        from .compiler import compile_plan

        return ClipsEngine(compile_plan(plan))


BACKEND = ClipsBackend()
