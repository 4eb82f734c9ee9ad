"""Where a case read from FHIR came from, for people: the as-of date, the intake's notes and, when
asked, the source of every fact. Nothing when the answer records no provenance (a case file)."""

from __future__ import annotations

from clonus.engine.decide.result import Result
from clonus.engine.knowledge.model import Kb


def intake_lines(result: Result, kb: Kb, explain: bool = False) -> list[str]:
    """Text lines: 'Read from FHIR as of ...', each note, and with `explain` each fact's source."""
    if result.provenance is None:
        return []
    lines = [f"Read from FHIR as of {result.as_of}."]
    lines.extend(f"Note: {note}" for note in result.intake_notes)
    if explain:
        lines.append("Where each fact came from:")
        lines.extend(f"  {_label(kb, fact)}: {source}" for fact, source in result.provenance.items())
    return lines


def intake_markdown(result: Result, kb: Kb, explain: bool = False) -> list[str]:
    """The same as Markdown: a short section, notes as a list."""
    if result.provenance is None:
        return []
    lines = ["## Read from FHIR", "", f"As of **{result.as_of}**.", ""]
    lines.extend(f"- {note}" for note in result.intake_notes)
    if explain:
        lines.extend(f"- {_label(kb, fact)}: `{source}`" for fact, source in result.provenance.items())
    return lines + [""] if len(lines) > 4 else lines


def _label(kb: Kb, fact: str) -> str:
    definition = kb.facts.get(fact)
    return definition.label if definition is not None else fact
