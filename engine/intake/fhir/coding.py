"""The codings of a CodeableConcept against the KB's code lists (fhir.yaml): exact codes, or ICD-10-CM
style prefixes where the system says so (G80 matches G80.1; dots do not count)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clonus.engine.knowledge.fhirmap import FhirMapping


def codings(concept: Any) -> list[tuple[str, str]]:
    """(system, code) of every coding of a CodeableConcept; '' for a missing system."""
    if not isinstance(concept, Mapping):
        return []
    found = []
    for coding in concept.get("coding") or ():
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            found.append((str(coding.get("system") or ""), coding["code"].strip()))
    return found


def concept_text(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display."""
    if not isinstance(concept, Mapping):
        return None
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"]
    for coding in concept.get("coding") or ():
        if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
            return coding["display"]
    return None


def matches(fhir: FhirMapping, given: Iterable[tuple[str, str]], listed: Iterable[tuple[str, str]]) -> bool:
    """Whether any given (system, code) is one of the listed, or below one in a prefix system."""
    listed = tuple(listed)
    for system, code in given:
        for want_system, want in listed:
            if system != want_system:
                continue
            if code == want:
                return True
            if system in fhir.prefix_systems and _bare(code).startswith(_bare(want)):
                return True
    return False


def _bare(code: str) -> str:
    return code.replace(".", "").upper()


def status_code(value: Any) -> str | None:
    """A status that is a code ('active') or a CodeableConcept (Condition.clinicalStatus)."""
    if isinstance(value, str):
        return value
    found = codings(value)
    return found[0][1] if found else None
