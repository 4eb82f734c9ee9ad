"""The frozen form of fhir.yaml (how FHIR resources become facts), apart from model.py: only the FHIR
path builds it, so that commands that never read FHIR do not pay for its classes. The medication
vocabulary FHIR codes lead to is the KB's own (model.Medication, kb/medications.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from clonus.engine.knowledge.conditions import Value


@dataclass(frozen=True)
class CodeSystem:
    """A code system fhir.yaml names: its URI, and whether a listed code also matches the codes below it."""

    name: str
    uri: str
    prefix: bool


@dataclass(frozen=True)
class CodedFact:
    """Codes that set one fact: a Condition's (value when active), or a number read from an Observation."""

    fact: str
    value: Value
    codes: tuple[tuple[str, str], ...]      # (system URI, code)
    suspected: Value = None                  # the value when the Condition is only provisional
    because: str = ""                        # for `needs`: what the codes say about the fact
    units: tuple[str, ...] = ()              # for observations: the UCUM units accepted
    line: int = 0


@dataclass(frozen=True)
class FhirMapping:
    """fhir.yaml: how FHIR resources become case facts. Every code, unit and status intake reads."""

    systems: Mapping[str, CodeSystem]        # short name -> system
    statuses: Mapping[str, tuple[str, ...]]  # resource type (or refuted, suspected) -> statuses that count
    medication_drugs: tuple[str, ...]        # drugs that can be the case's medication, preferred first
    conditions: tuple[CodedFact, ...]
    needs: tuple[CodedFact, ...]
    observations: tuple[CodedFact, ...]
    dose_units: Mapping[str, str]            # UCUM mass code -> a mass unit of notations.yaml
    period_units: Mapping[str, int]          # UCUM time code -> hours
    timing_codes: Mapping[str, int]          # GTS abbreviation -> doses per day
    routes: Mapping[tuple[str, str], str]    # (system URI, code) -> value of the route fact
    override: tuple[str, Mapping[str, str]] = ("", MappingProxyType({}))  # CDS Hooks override reasons
    file: str = ""

    def system_uri(self, name: str) -> str:
        return self.systems[name].uri

    @cached_property
    def prefix_systems(self) -> frozenset[str]:
        return frozenset(s.uri for s in self.systems.values() if s.prefix)
