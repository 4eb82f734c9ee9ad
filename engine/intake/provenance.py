"""Where each input fact of a case came from: a FHIR resource (Observation/obs-egfr), a flag, a case
file, a default of the facts dictionary, or computed from other facts (the daily dose, the classes of the
other medications)."""

from __future__ import annotations

from collections.abc import Mapping

from clonus.engine.intake.case import Case
from clonus.engine.knowledge.model import Kb

DEFAULT = "default"
COMPUTED = "computed"


def fact_provenance(kb: Kb, case: Case, sources: Mapping[str, str]) -> dict[str, str]:
    """Input fact -> its source, for every fact the case holds, in the facts dictionary's order.
    `sources` maps case fields (patient.egfr) to where the value was read."""
    out = {}
    for name in case.facts:
        fact = kb.facts[name]
        if fact.case_field and fact.case_field in sources:
            out[name] = sources[fact.case_field]
        elif fact.product_of or (fact.classes_of and case.facts.get(fact.classes_of)):
            out[name] = COMPUTED  # the daily dose; the classes of the other medications
        else:
            out[name] = DEFAULT
    return out
