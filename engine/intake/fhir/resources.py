"""The resources a case is read from, each with the JSON path it was found at (for messages) and its
reference (for provenance): a Bundle's entries, or the prefetch and draft orders of a CDS Hooks call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clonus.engine.errors import CaseError
from clonus.engine.knowledge.fhirmap import FhirMapping

from .validate import short, validate_resource

# The resource types a case is read from: only these are validated and read.
READ_TYPES = ("Patient", "Condition", "Observation", "MedicationRequest", "MedicationStatement", "Medication")


@dataclass(frozen=True)
class Located:
    """A resource and where it was found: `path` in the input JSON, `full_url` if its entry had one."""

    path: str
    resource: Mapping[str, Any]
    full_url: str | None = None

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType"))

    @property
    def ref(self) -> str:
        """How provenance names it: Type/id, else its fullUrl, else its path."""
        rid = self.resource.get("id")
        return f"{self.type}/{rid}" if rid else self.full_url or self.path

    def is_referenced_by(self, reference: object) -> bool:
        """Whether a FHIR reference string ('Patient/p1', 'urn:uuid:...', 'https://x/Patient/p1') names it."""
        if not isinstance(reference, str) or not reference:
            return False
        rid = self.resource.get("id")
        own = f"{self.type}/{rid}" if rid else None
        return reference == self.full_url or (own is not None and (reference == own or reference.endswith("/" + own)))


def bundle_entries(fhir: FhirMapping, bundle: Any, path: str = "") -> list[Located]:
    """The resources of a Bundle (shape checked here, each read resource validated), in entry order."""
    where = (path + ".") if path else ""
    if not isinstance(bundle, Mapping):
        raise CaseError(path or "bundle", short(bundle), "a FHIR Bundle (a JSON object)")
    if bundle.get("resourceType") != "Bundle":
        raise CaseError(f"{where}resourceType", bundle.get("resourceType"), "Bundle")
    types = fhir.statuses.get("Bundle", ())
    if bundle.get("type") not in types:
        raise CaseError(f"{where}type", bundle.get("type"), f"a Bundle type of {', '.join(types)}")
    return entries_of(bundle, path)


def entries_of(bundle: Mapping[str, Any], path: str = "") -> list[Located]:
    """The entries of a Bundle-shaped object, without checking Bundle.type (CDS Hooks draftOrders omit it)."""
    where = (path + ".") if path else ""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise CaseError(f"{where}entry", short(entries), "a JSON array of entries")
    found = []
    for i, entry in enumerate(entries):
        at = f"{where}entry[{i}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            raise CaseError(at, short(entry), "an entry with a resource (a JSON object)")
        full_url = entry.get("fullUrl")
        found.append(Located(f"{at}.resource", entry["resource"], full_url if isinstance(full_url, str) else None))
    return found


def prefetch_resources(fhir: FhirMapping, prefetch: Mapping[str, Any]) -> list[Located]:
    """A CDS Hooks prefetch: each key holds a resource, a searchset Bundle, or null (no data)."""
    found: list[Located] = []
    for key in sorted(prefetch):
        value = prefetch[key]
        path = f"prefetch.{key}"
        if value is None:
            continue
        if isinstance(value, Mapping) and value.get("resourceType") == "Bundle":
            found.extend(bundle_entries(fhir, value, path))
        elif isinstance(value, Mapping):
            found.append(Located(path, value))
        else:
            raise CaseError(path, short(value), "a FHIR resource, a Bundle or null")
    return found


def validated(resources: Iterable[Located]) -> list[Located]:
    """The resources of the types a case is read from, each validated (CaseError at the first problem);
    OperationOutcomes (a client's prefetch errors) and other types are passed over."""
    kept = []
    for located in resources:
        if located.type in READ_TYPES:
            validate_resource(located.resource, located.path)
            kept.append(located)
    return kept


def of_type(resources: Sequence[Located], *types: str) -> list[Located]:
    return [r for r in resources if r.type in types]


def resolve(resources: Sequence[Located], reference: object) -> Located | None:
    """The resource a reference names among `resources`, or None."""
    return next((r for r in resources if r.is_referenced_by(reference)), None)


def the_patient(resources: Sequence[Located], patient_id: str | None = None) -> Located | None:
    """The one Patient (the one with `patient_id` when given); two different patients are refused."""
    patients = of_type(resources, "Patient")
    if patient_id is not None:
        patients = [p for p in patients if p.resource.get("id") == patient_id] or patients
    distinct = {p.ref: p for p in patients}
    if len(distinct) > 1:
        second = list(distinct.values())[1]
        raise CaseError(second.path, second.ref, f"resources of one patient ({patients[0].ref})")
    return patients[0] if patients else None


def check_subject(located: Located, patient: Located | None, patient_id: str | None) -> None:
    """A resource about another patient than the case's is refused: mixing patients is never safe."""
    for key in ("subject", "patient"):
        ref = located.resource.get(key)
        reference = ref.get("reference") if isinstance(ref, Mapping) else None
        if reference is None:
            continue
        if patient is not None and patient.is_referenced_by(reference):
            continue
        if patient is None and patient_id is not None and reference.endswith(f"Patient/{patient_id}"):
            continue
        if patient is None and patient_id is None:
            continue
        expected = patient.ref if patient is not None else f"Patient/{patient_id}"
        raise CaseError(f"{located.path}.{key}.reference", reference, f"a reference to the case's patient {expected}")
