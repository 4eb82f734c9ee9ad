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
from decimal import Decimal

SHOWN_CHARS = 100  # the most of any value a message echoes: a 50 MB string or an alias bomb stays one short line
MAX_PROBLEM_CHARS = 1_000  # a KB problem's message, whatever it quotes: one line of bounded length


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value as a message quotes it (its repr), cut to about `limit` characters. The work is bounded
    too: containers are walked only as far as the text can reach, so nested aliases never expand."""
    text = _bounded(value, limit + 1, 0)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """Text a message shows unquoted (a path, a name): on one line, control characters escaped, cut to
    about `limit` characters."""
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _bounded(value: object, budget: int, depth: int) -> str:
    """repr(value), or a prefix of it at least `budget` characters long when it is longer."""
    if isinstance(value, str):
        return repr(value[:budget])
    if isinstance(value, Decimal):
        return str(value)[:budget]  # as written in the case: 17.9999, not Decimal('17.9999')
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value[:budget]))
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * budget:
        return f"an integer of {value.bit_length() * 3 // 10}+ digits"  # repr would be long (or refused)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return _bounded_container(value, budget, depth)
    return repr(value)[:budget] if not hasattr(value, "__dict__") else f"<{type(value).__name__}>"


def _bounded_container(value: list | tuple | set | frozenset | dict, budget: int, depth: int) -> str:
    marks = {"list": "[]", "tuple": "()"}.get(_base(value).__name__, "{}")
    if depth > 8:
        return marks[0] + "..." + marks[1]
    parts, used = [], 1
    items = value.items() if isinstance(value, dict) else value
    for item in items:
        if used > budget:
            parts.append("...")
            break
        if isinstance(value, dict):
            key, inner = item
            text = _bounded(key, budget - used, depth + 1) + ": " + _bounded(inner, budget - used, depth + 1)
        else:
            text = _bounded(item, budget - used, depth + 1)
        parts.append(text)
        used += len(text) + 2
    if isinstance(value, tuple) and len(parts) == 1 and parts[0] != "...":
        return f"({parts[0]},)"
    return marks[0] + ", ".join(parts) + marks[1]


def _base(value: object) -> type:
    return next(t for t in (dict, list, tuple, set, frozenset) if isinstance(value, t))


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a KB file, located as precisely as the loader can."""

    file: str
    line: int
    rule: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        """One line, of bounded length whatever a KB file holds (each part clipped)."""
        parts = [f"{clip(self.file, 300)}:{self.line}"]
        if self.rule:
            parts.append(clip(self.rule))
        if self.field:
            parts.append(clip(self.field))
        parts.append(clip(self.message, MAX_PROBLEM_CHARS))
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
        super().__init__(message or f"{field}: {shown(value)} is not accepted; expected {accepted}")


class CaseFileError(UsageError):
    """A case file cannot be read (missing, a folder, not UTF-8)."""

    def __init__(self, path: str, reason: str, label: str | None = None):
        self.path = path
        where = f"{label}: {shown(path)}" if label else f"{clip(path)}:"
        super().__init__(f"{where} cannot be read ({reason})")


class GraphError(UsageError):
    """A graph request names something the KB or the view does not have (a view, a focus, a category)."""


class EngineUnavailable(UsageError):
    """--engine names a rule engine of clonus that cannot run here (durable_rules on Python 3.13)."""

    def __init__(self, engine: str, reason: str, usable: tuple[str, ...] = ()):
        self.engine = engine
        hint = f"; use {' or '.join(usable)}" if usable else ""
        super().__init__(f"--engine: {shown(engine)} cannot run here ({reason}){hint}")


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
