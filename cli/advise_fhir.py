"""`clonus advise --fhir BUNDLE`: a FHIR R4 Bundle read into a case, filled or overridden by a case file
and flags (in that order), answered by the Advisor with the provenance of every fact and the as-of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import apply_flags, as_of_date, read_case, read_case_data

if TYPE_CHECKING:
    from clonus.engine.decide.result import Result
    from clonus.engine.knowledge.model import Kb


def advise_fhir(kb: Kb, fixed: dict[str, Any], flags: dict[str, Any]) -> Result:
    from clonus.engine.decide.advisor import Advisor
    from clonus.engine.intake.case import read_json_text
    from clonus.engine.intake.fhir.mapping import read_bundle
    from clonus.engine.intake.fhir.merge import CASE_FILE, FLAG, Merge

    as_of = as_of_date(fixed["as_of"])
    text, name = read_case(fixed["fhir"])
    merge = Merge(read_bundle(kb, read_json_text(text, name), as_of))
    if fixed["case_file"] is not None:
        merge.overlay(read_case_data(fixed["case_file"]), CASE_FILE)
    merge.mark(apply_flags(merge.data, flags, kb.case_fields), FLAG)
    merged = merge.parse(kb)
    with Advisor(kb, include_draft=fixed["include_draft"], engine=fixed["engine"]) as advisor:
        result = advisor.advise_case(merged.case)
    return result.with_intake(*merged.intake())
