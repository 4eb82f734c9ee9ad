"""The seam between clonus and a rule engine: what a backend compiles and what an evaluation returns.

A backend compiles the engine-neutral EvaluationPlan into an Engine; an Engine evaluates one case's
input facts and returns the firings (rule, alternative, matched facts, asserted facts) in the order it
fired them, and every derived fact asserted. The Advisor knows nothing else of the engine, and puts the
firings in the canonical order before reading them (decide/order.py). Backends live under
engine/backends/<name>/ (the only code that imports a rule engine) and are found by name here, so that
this wing never imports the one above it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from clonus.engine.decide.evaluation import EvaluationPlan
from clonus.engine.decide.limits import Limits
from clonus.engine.errors import EngineError, UsageError, shown

ENGINES = ("durable", "clips")  # every backend clonus ships, in order of preference for the default


@dataclass(frozen=True)
class Firing:
    """One rule firing: which rule (and which alternative of its condition), what it matched and asserted."""

    rule: str
    alternative: int
    matched: tuple[tuple[str, Any], ...]   # (fact, value); value None for a missing fact
    asserted: tuple[tuple[str, Any], ...]  # derived facts this firing asserted


@dataclass(frozen=True)
class Evaluation:
    """What an engine made of one case: the firings in order, and every derived fact's value."""

    firings: tuple[Firing, ...]
    derived: Mapping[str, Any]


class Engine(Protocol):
    """A KB compiled into a live rule engine. One case at a time; close() frees it."""

    def evaluate(self, facts: Mapping[str, Any], absent: frozenset[str]) -> Evaluation: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A rule engine clonus can run on: its name, its version, and how it compiles a plan."""

    name: str

    def version(self) -> str: ...

    def available(self) -> str | None:
        """None when the engine can run here, else why not (one line)."""

    def limits(self) -> Limits:
        """The KB shapes this engine can compile and run, measured on it; the Advisor refuses a plan past
        them (located KB problems) before compile() is called. Limits() declares none."""

    def compile(self, plan: EvaluationPlan) -> Engine: ...


def distribution_version(distribution: str) -> str:
    """The installed version of a backend's Python distribution, or 'not installed' (what `clonus kb` and
    every answer name)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def load_backend(name: str) -> Backend:
    """The backend called `name` (UsageError naming the choices when there is none)."""
    if name not in ENGINES:
        raise UsageError(f"--engine: {shown(name)} is not a rule engine of clonus; use one of {', '.join(ENGINES)}")
    module = importlib.import_module(f"clonus.engine.backends.{name}")
    backend: Backend = module.BACKEND
    return backend


def default_engine() -> str:
    """The first engine that can run on this Python."""
    for name in ENGINES:
        if load_backend(name).available() is None:
            return name
    reasons = "; ".join(f"{name}: {load_backend(name).available()}" for name in ENGINES)
    raise EngineError(f"no rule engine can run here ({reasons})")


def usable_engines() -> tuple[str, ...]:
    """The engines that can run on this Python, in ENGINES order."""
    return tuple(name for name in ENGINES if load_backend(name).available() is None)
