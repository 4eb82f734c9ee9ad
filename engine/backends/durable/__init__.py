"""durable_rules 2.0.28, the engine clonus was specified on: compiler.py builds its JSON ruleset from the
evaluation plan, runtime.py runs it one case at a time behind guards for its known sharp edges."""

from __future__ import annotations

from functools import cache

from clonus.engine.decide.evaluation import EvaluationPlan

from .runtime import DurableEngine


class DurableBackend:
    name = "durable"

    @cache  # noqa: B019 - one backend object for the process; the version never changes under it
    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("durable_rules")
        except PackageNotFoundError:
            return "not installed"

    @cache  # noqa: B019 - importing durable once tells for the whole process
    def available(self) -> str | None:
        try:
            import durable_rules_engine  # noqa: F401
            from durable import engine  # noqa: F401
        except ImportError as exc:
            return f"durable_rules does not import on this Python ({exc})"
        return None

    def compile(self, plan: EvaluationPlan) -> DurableEngine:
        from .compiler import compile_plan

        return DurableEngine(compile_plan(plan))


BACKEND = DurableBackend()
