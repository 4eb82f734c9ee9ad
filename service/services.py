"""The CDS services clonus offers and the prefetch each needs: the patient, active medication orders
and statements, active conditions, and the latest eGFR (its LOINC codes are the KB's, fhir.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from clonus.engine.knowledge.model import Kb

from .models import Service

ORDER_HOOKS = ("order-select", "order-sign")


@dataclass(frozen=True)
class CdsService:
    id: str
    hook: str
    title: str
    description: str


SERVICES = (
    CdsService("clonus-order-select", "order-select", "Oral baclofen: next step (order selected)",
               "When an oral baclofen order is selected: whether and how far to raise the dose for inadequate "
               "relief, with a capped dose plan, precautions, monitoring and alternatives."),
    CdsService("clonus-order-sign", "order-sign", "Oral baclofen: next step (order signed)",
               "Before an oral baclofen order is signed: the same advice on the order as written."),
    CdsService("clonus-patient-view", "patient-view", "Oral baclofen: next step (chart opened)",
               "When the chart of a patient on oral baclofen is opened: the next step for their spasticity."),
)
BY_ID = {s.id: s for s in SERVICES}


def prefetch_templates(kb: Kb) -> dict[str, str]:
    """Prefetch key -> FHIR query. Every key is needed: a request without one gets 412."""
    patient = "{{context.patientId}}"
    templates = {
        "patient": f"Patient/{patient}",
        "medications": f"MedicationRequest?patient={patient}&status=active",
        "statements": f"MedicationStatement?patient={patient}&status=active",
        "conditions": f"Condition?patient={patient}&clinical-status=active",
    }
    if kb.fhir is not None:
        for entry in kb.fhir.observations:
            codes = ",".join(f"{system}|{code}" for system, code in entry.codes)
            templates[entry.fact] = f"Observation?patient={patient}&code={codes}&_sort=-date&_count=1"
    return templates


def discovery(kb: Kb) -> list[Service]:
    templates = prefetch_templates(kb)
    usage = (f"Knowledge base {kb.name} {kb.version} ({kb.digest}). Relief of spasticity is rarely in FHIR: "
             "send it in the request's extension {\"clonus\": {\"response\": {\"relief\": \"inadequate\"}}}, "
             "otherwise the advice asks for it.")
    return [Service(hook=s.hook, title=s.title, description=s.description, id=s.id, prefetch=templates,
                    usageRequirements=usage) for s in SERVICES]
