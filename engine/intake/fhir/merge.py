"""A case read from FHIR, filled or overridden by case fields (a case file, flags, a batch row's fields),
validated once, with where every fact came from: the one merge behind `advise --fhir` and `clonus batch`.

    merge = Merge(read_bundle(kb, bundle, as_of))
    merge.overlay(case_file_data, CASE_FILE)        # a case file's fields over the bundle's
    merge.mark(apply_flags(merge.data, ...), FLAG)  # fields set in place by someone else (the CLI's flags)
    merged = merge.parse(kb)                        # Case, provenance, as-of, notes
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from clonus.engine.intake.case import Case
from clonus.engine.intake.provenance import fact_provenance
from clonus.engine.knowledge.model import Kb

from .mapping import FhirCase, parse, read_bundle

FLAG, CASE_FILE = "flag", "case file"


@dataclass(frozen=True)
class Merged:
    """The validated case and what its answer records: each fact's source, the as-of date, the notes."""

    case: Case
    provenance: dict[str, str]
    as_of: date
    notes: tuple[str, ...]

    def intake(self) -> tuple[dict[str, str], str, tuple[str, ...]]:
        """The arguments of Result.with_intake(), so that every face records the same."""
        return self.provenance, self.as_of.isoformat(), self.notes


class Merge:
    """The bundle's case mapping, overlaid field by field; each field set remembers who set it."""

    def __init__(self, fhir_case: FhirCase):
        self.fhir_case = fhir_case
        self.data: dict[str, Any] = {section: dict(fields) for section, fields in fhir_case.data.items()}
        self.sources: dict[str, str] = dict(fhir_case.sources)
        self.given: set[str] = set()

    def overlay(self, extra: Mapping[str, Any], source: str) -> list[str]:
        """A case mapping's fields over the bundle's (a malformed section replaces it, for intake to name);
        the fields it set, marked as from `source`."""
        done = []
        for section, fields in extra.items():
            if not isinstance(fields, Mapping):
                self.data[section] = fields
                continue
            target = self.data.setdefault(section, {})
            for leaf, value in fields.items():
                target[leaf] = value
                done.append(f"{section}.{leaf}")
        self.mark(done, source)
        return done

    def mark(self, fields: Iterable[str], source: str) -> None:
        """Fields (patient.age) set in `data` by the caller, from `source`: they replace the bundle's."""
        for field in fields:
            self.sources[field] = source
            self.given.add(field)

    def parse(self, kb: Kb) -> Merged:
        """Validate the merged case (a field the bundle refused raises unless it was replaced)."""
        case = parse(kb, self.data, self.fhir_case, self.given)
        return Merged(case, fact_provenance(kb, case, self.sources), self.fhir_case.as_of, self.fhir_case.notes)


def case_over_bundle(kb: Kb, bundle: Any, fields: Mapping[str, Any], as_of: date) -> Merged:
    """A Bundle read as of `as_of` with a case mapping's fields over it, as `advise CASE --fhir BUNDLE`
    reads them (the fields' provenance: case file); CaseError names what is refused."""
    merge = Merge(read_bundle(kb, bundle, as_of))
    merge.overlay(fields, CASE_FILE)
    return merge.parse(kb)
