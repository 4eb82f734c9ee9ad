"""The one error tree of clonus. Findings (lint problems, recommendations) are data; these are failures.

    ClonusError
    ├── KbError          the knowledge base cannot be loaded or compiled (carries every Problem found)
    ├── CaseError        a case cannot be used: names the field, the value given and what is accepted
    ├── EngineError      durable_rules misbehaved (swallowed exception, error code, re-entrant use)
    ├── SafetyError      a result broke a safety invariant; it is never shown as advice
    └── GraphError       a graph cannot be built or filtered (engine/graph.py)
        └── RenderError  a graph format cannot be written (engine/graph_export.py)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a KB file, located as precisely as the loader can."""

    file: str
    line: int
    rule: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}"]
        if self.rule:
            parts.append(self.rule)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ClonusError(Exception):
    """Root of every error clonus raises on purpose."""


class KbError(ClonusError):
    """The KB is malformed; `problems` lists every problem, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CaseError(ClonusError):
    """A case value cannot be used. The message is one line: field, value given, what is accepted."""

    def __init__(self, field: str, value: object, accepted: str, message: str | None = None):
        self.field = field
        self.value = value
        self.accepted = accepted
        super().__init__(message or f"{field}: {value!r} is not accepted; expected {accepted}")


class EngineError(ClonusError):
    """durable_rules failed or reported an error that it would otherwise have swallowed."""


class SafetyError(ClonusError):
    """A result broke a safety invariant (dose above ceiling, conflicting advice...)."""
