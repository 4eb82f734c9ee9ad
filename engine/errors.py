"""The one error tree of clonus. Findings (recommendations, lint problems, test outcomes) are data; these
are failures. Every class carries the exit code the command line ends with and the HTTP status the
service answers with, so that neither face chooses per call site.

    ClonusError                       exit  HTTP
    ├── UsageError                       2   400   a request names something that does not exist
    │   ├── CaseError                    2   422   a case cannot be used: field, value given, what is accepted
    │   ├── CaseFileError                2   400   a case file cannot be read
    │   ├── GraphError                   2   400   a graph view, focus, category or format that does not exist
    │   ├── EngineUnavailable            2   400   --engine names an engine that cannot run on this Python
    │   ├── LintError                    2   400   lint cannot run: the folder is not a KB
    │   ├── NotFoundError                2   404   a service or resource the request names does not exist
    │   ├── DataUnavailableError         2   412   data a decision needs is not in the request (CDS Hooks prefetch)
    │   ├── RequestTooLargeError         2   413   a request body above the service's limit
    │   └── AuthenticationError          2   401   a missing, invalid, expired or replayed token (no detail given)
    ├── KbError                          2   500   the KB cannot be loaded or compiled (every Problem found)
    ├── OutputError                      1   500   an answer could not be written (closed pipe, full disk)
    ├── EngineError                      1   500   the rule engine misbehaved (swallowed exception, error code)
    ├── SafetyError                      1   500   an answer broke a safety invariant; it is never shown
    └── RenderError                      1   500   Graphviz could not draw a graph
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

    exit_code = 1
    http_status = 500


class UsageError(ClonusError):
    """The request cannot be carried out as given (a name that does not exist, a bad option value)."""

    exit_code = 2
    http_status = 400


class CaseError(UsageError):
    """A case value cannot be used. The message is one line: field, value given, what is accepted."""

    http_status = 422

    def __init__(self, field: str, value: object, accepted: str, message: str | None = None):
        self.field = field
        self.value = value
        self.accepted = accepted
        super().__init__(message or f"{field}: {value!r} is not accepted; expected {accepted}")


class CaseFileError(UsageError):
    """A case file cannot be read (missing, a folder, not UTF-8)."""

    def __init__(self, path: str, reason: str, label: str | None = None):
        self.path = path
        where = f"{label}: {path!r}" if label else f"{path}:"
        super().__init__(f"{where} cannot be read ({reason})")


class GraphError(UsageError):
    """A graph request names something the KB or the view does not have (a view, a focus, a category)."""


class EngineUnavailable(UsageError):
    """--engine names a rule engine of clonus that cannot run here (durable_rules on Python 3.13)."""

    def __init__(self, engine: str, reason: str, usable: tuple[str, ...] = ()):
        self.engine = engine
        hint = f"; use {' or '.join(usable)}" if usable else ""
        super().__init__(f"--engine: {engine!r} cannot run here ({reason}){hint}")


class LintError(UsageError):
    """Lint cannot run: the folder is not a KB."""


class NotFoundError(UsageError):
    """A request names a service or resource that does not exist."""

    http_status = 404


class DataUnavailableError(UsageError):
    """Data a decision needs cannot be had from the request (a CDS Hooks prefetch key is missing)."""

    http_status = 412


class RequestTooLargeError(UsageError):
    """A request body above the service's size limit."""

    http_status = 413


class AuthenticationError(UsageError):
    """A request that is not authenticated as a trusted client. Its message never says why."""

    http_status = 401

    def __init__(self, message: str = "unauthorized"):
        super().__init__(message)


class KbError(ClonusError):
    """The KB is malformed; `problems` lists every problem, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def summary(self) -> str:
        return f"the knowledge base cannot be loaded ({len(self.problems)} problem(s))"


class OutputError(ClonusError):
    """The answer could not be written (standard output closed, disk full)."""


class EngineError(ClonusError):
    """The rule engine failed or reported an error that it would otherwise have swallowed."""


class SafetyError(ClonusError):
    """A result broke a safety invariant (dose above ceiling, conflicting advice...)."""


class RenderError(ClonusError):
    """Graphviz (graphviz-pure) is missing or could not draw the graph: not the user's request."""
