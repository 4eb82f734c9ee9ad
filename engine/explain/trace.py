"""The one trace formatter: each firing as `rule [fact=value, ...] -> asserted, recommended`."""

from __future__ import annotations

from collections.abc import Iterable

from clonus.engine.decide.result import TraceEntry
from clonus.engine.knowledge.wording import value_text


def trace_lines(trace: Iterable[TraceEntry]) -> list[str]:
    """One line per firing, in firing order; a missing fact reads `missing`, booleans `true`/`false`."""
    out = []
    for entry in trace:
        matched = ", ".join(f"{k}={value_text(v)}" for k, v in entry.matched)
        made = [f"{k}={value_text(v)}" for k, v in entry.asserted] + list(entry.recommended)
        out.append(f"{entry.rule} [{matched}] -> {', '.join(made) or 'nothing new'}")
    return out
