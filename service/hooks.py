"""A hook request to an answer: the prefetch and draft orders read through the FHIR intake, the request's
`clonus` extension (relief, an as-of date) over them, and the Advisor's Result. The Advisor is not
safe to share across threads (durable_rules state ids), so every evaluation holds its lock."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from clonus.engine.decide.advisor import Advisor
from clonus.engine.decide.result import Result
from clonus.engine.errors import CaseError, DataUnavailableError, UsageError
from clonus.engine.intake.fhir.mapping import FhirCase, parse, read_resources
from clonus.engine.intake.fhir.resources import Located, entries_of, prefetch_resources
from clonus.engine.intake.provenance import fact_provenance
from clonus.engine.knowledge.model import Kb

from .models import HookRequest
from .services import ORDER_HOOKS, CdsService, prefetch_templates

EXTENSION = "clonus"   # the request's extension key: {"as_of": "YYYY-MM-DD", "response": {...}, ...}
FROM_EXTENSION = "hook extension"


@dataclass(frozen=True)
class HookAnswer:
    """What a hook made: the Result (None when the request concerns no order of the KB's drug) and
    the case as read, with the draft orders under review."""

    result: Result | None
    fhir_case: FhirCase | None
    orders: tuple[Located, ...] = ()


class Answerer:
    """One Advisor for the service's life; `lock` serialises its use (one evaluation at a time)."""

    def __init__(self, kb: Kb, engine: str | None = None, include_draft: bool = False):
        self.kb = kb
        self.advisor = Advisor(kb, include_draft=include_draft, engine=engine)
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.advisor.close()

    def answer(self, service: CdsService, request: HookRequest) -> HookAnswer:
        if request.hook != service.hook:
            raise UsageError(f"hook: {request.hook!r} is not accepted; expected {service.hook!r} for {service.id}")
        prefetch = request.prefetch or {}
        missing = [key for key in prefetch_templates(self.kb) if key not in prefetch]
        if missing:
            raise DataUnavailableError(f"prefetch lacks {', '.join(missing)}, and clonus does not query FHIR "
                                       "servers: send every prefetch key of the discovery document (null for none)")
        assert self.kb.fhir is not None  # prefetch_templates needs it; the app refuses a KB without it
        resources = prefetch_resources(self.kb.fhir, prefetch)
        orders, focus = _orders(service, request.context)
        as_of, extra = _extension(request.extension)
        patient_id = request.context.get("patientId")
        fhir_case = read_resources(self.kb, resources + orders, as_of,
                                   patient_id if isinstance(patient_id, str) else None, focus)
        if not fhir_case.concerns_kb_drug:
            return HookAnswer(None, fhir_case, tuple(focus or ()))
        data = {section: dict(fields) for section, fields in fhir_case.data.items()}
        sources = dict(fhir_case.sources)
        for section, fields in extra.items():
            data.setdefault(section, {}).update(fields)
            sources.update({f"{section}.{leaf}": FROM_EXTENSION for leaf in fields})
        given = {f"{section}.{leaf}" for section, fields in extra.items() for leaf in fields}
        case = parse(self.kb, data, fhir_case, given)
        with self.lock:
            result = self.advisor.advise_case(case)
        result = result.with_intake(fact_provenance(self.kb, case, sources), as_of.isoformat(), fhir_case.notes)
        return HookAnswer(result, fhir_case, tuple(focus or ()))


def _orders(service: CdsService, context: Mapping[str, Any]) -> tuple[list[Located], list[Located] | None]:
    """The draft orders (all of them count as medications) and those under review: the selected ones
    for order-select, every one for order-sign; none for other hooks."""
    if service.hook not in ORDER_HOOKS:
        return [], None
    draft = context.get("draftOrders")
    if not isinstance(draft, Mapping):
        raise CaseError("context.draftOrders", draft, "a Bundle of the draft orders (CDS Hooks order hooks)")
    orders = entries_of(draft, "context.draftOrders")
    if service.hook == "order-sign":
        return orders, orders
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise CaseError("context.selections", selections, "a list of the selected orders, e.g. ['MedicationRequest/1']")
    return orders, [o for o in orders if o.ref in selections]


def _extension(extension: Mapping[str, Any] | None) -> tuple[date, dict[str, dict[str, Any]]]:
    """The request's clonus extension: an as-of date (default today, UTC) and case sections."""
    mine = (extension or {}).get(EXTENSION) or {}
    if not isinstance(mine, Mapping):
        raise CaseError(f"extension.{EXTENSION}", mine, "an object with as_of and case sections (response: ...)")
    as_of = datetime.now(UTC).date()
    sections: dict[str, dict[str, Any]] = {}
    for key, value in mine.items():
        if key == "as_of":
            as_of = _as_of(value)
        elif isinstance(value, Mapping):
            sections[str(key)] = dict(value)
        else:
            raise CaseError(f"extension.{EXTENSION}.{key}", value,
                            "a case section such as {\"relief\": \"inadequate\"}")
    return as_of, sections


def _as_of(value: Any) -> date:
    accepted = "a date YYYY-MM-DD"
    if not isinstance(value, str) or len(value) != 10:
        raise CaseError(f"extension.{EXTENSION}.as_of", value, accepted)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CaseError(f"extension.{EXTENSION}.as_of", value, accepted) from exc
