"""A Result to CDS Hooks cards: one card per recommendation, in the answer's order, and one for what the
FHIR reading noticed. The dose plan's regimen becomes a suggestion that updates the draft order.

Card and suggestion uuids are derived from the hookInstance, the service and the code, so that one
request always gives the same bytes and two requests never share a uuid."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from typing import Any, Literal, cast

from clonus.engine.decide.doseplan import DosePlan
from clonus.engine.decide.result import Recommendation, Result
from clonus.engine.explain.cards import SUMMARY_LIMIT, carries_dose_plan, detail_markdown, summary
from clonus.engine.intake.fhir.resources import Located
from clonus.engine.knowledge.model import Kb

from .hooks import HookAnswer
from .models import Action, Card, Coding, Source, Suggestion

UCUM = "http://unitsofmeasure.org"
TOPIC_SYSTEM = "urn:clonus:recommendation-code"
_NAMESPACE = uuid.UUID("8f0c6d3e-5b0a-4c55-9a59-3c1b3f6e2a10")  # clonus cards


def build_cards(kb: Kb, service_id: str, hook_instance: str, answer: HookAnswer) -> list[Card]:
    result = answer.result
    if result is None:
        return []
    order = answer.fhir_case.medication if answer.fhir_case is not None else None
    editable = order if order is not None and order in answer.orders else None
    cards = [_card(kb, service_id, hook_instance, result, rec, editable) for rec in result.recommendations]
    if result.intake_notes:
        cards.append(_notes_card(kb, service_id, hook_instance, result))
    return cards


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _source(kb: Kb, rec: Recommendation | None) -> Source:
    url = kb.sources[rec.sources[0]].url if rec is not None and rec.sources else None
    topic = Coding(system=TOPIC_SYSTEM, code=rec.code, display=rec.title) if rec is not None else None
    return Source(label=f"{kb.name} {kb.version} ({kb.digest[:19]}), profile {kb.profile.name}", url=url,
                  topic=topic)


def _card(kb: Kb, service_id: str, hook_instance: str, result: Result, rec: Recommendation,
          order: Located | None) -> Card:
    card_id = _uuid(hook_instance, service_id, rec.code)
    suggestions = None
    plan = result.dose_plan
    if order is not None and plan is not None and carries_dose_plan(result, rec):
        suggestion = _suggestion(plan, order, card_id)
        suggestions = [suggestion] if suggestion is not None else None
    declinable = suggestions is not None or rec.severity != "info"
    return Card(
        uuid=card_id, summary=summary(rec), detail=detail_markdown(kb, result, rec),
        indicator=cast(Literal["info", "warning", "critical"], rec.severity),  # the loader admits only these
        source=_source(kb, rec), suggestions=suggestions,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=_override_reasons(kb) if declinable else None,
        extension={"clonus": {"code": rec.code, "category": rec.category, "rule": rec.rule, "rules": list(rec.rules),
                              "kb": {"name": kb.name, "version": kb.version, "digest": kb.digest,
                                     "profile": result.profile, "engine": dict(result.engine)}}},
    )


def _override_reasons(kb: Kb) -> list[Coding] | None:
    if kb.fhir is None or not kb.fhir.override[1]:
        return None
    system, reasons = kb.fhir.override
    return [Coding(system=system, code=code, display=display) for code, display in reasons.items()]


def _suggestion(plan: DosePlan, order: Located, card_id: str) -> Suggestion | None:
    """The draft order with the plan's regimen; none when its doses are unequal (one Dosage cannot say it)."""
    doses = set(plan.regimen_doses_mg)
    if len(doses) != 1:
        return None
    updated: dict[str, Any] = copy.deepcopy(dict(order.resource))
    old = (updated.get("dosageInstruction") or [{}])[0]
    dosage: dict[str, Any] = {
        "text": plan.regimen,
        "timing": {"repeat": {"frequency": plan.doses_per_day, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": doses.pop(), "unit": "mg", "system": UCUM, "code": "mg"}}],
    }
    if "route" in old:
        dosage["route"] = old["route"]
    updated["dosageInstruction"] = [dosage]
    label = f"Change the order to {plan.regimen}"
    return Suggestion(label=label[:SUMMARY_LIMIT], uuid=_uuid(card_id, "regimen"), isRecommended=True,
                      actions=[Action(type="update", description=label, resource=updated)])


def _notes_card(kb: Kb, service_id: str, hook_instance: str, result: Result) -> Card:
    notes: Sequence[str] = result.intake_notes
    first = f"Record: {notes[0]}"
    text = first if len(first) <= SUMMARY_LIMIT else first[:SUMMARY_LIMIT - 1] + "…"
    detail = "\n".join([f"What clonus noticed reading the record (as of {result.as_of}):", ""]
                       + [f"- {note}" for note in notes])
    return Card(uuid=_uuid(hook_instance, service_id, "intake-notes"), summary=text, detail=detail,
                indicator="warning", source=_source(kb, None),
                extension={"clonus": {"provenance": dict(result.provenance or {}), "as_of": result.as_of}})
