"""Validate FHIR resources with fhir.resources (R4B models; R4-compatible for the resources read) and turn
the first problem into one CaseError: the element's path, the value given and what FHIR accepts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from clonus.engine.errors import CaseError

# What a pydantic error type means for a FHIR element, said for people.
_ACCEPTED = {
    "list_type": "a JSON array (FHIR repeats an element as an array, even with one item)",
    "extra_forbidden": "an element that FHIR R4 defines for this resource",
    "missing": "this element: FHIR R4 requires it",
    "string_type": "a JSON string",
    "bool_type": "true or false",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "model_type": "a JSON object",
    "dict_type": "a JSON object",
}


def validate_resource(resource: Mapping[str, Any], path: str) -> None:
    """Raise CaseError for the first element of `resource` (at `path`) that FHIR R4 does not accept."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = resource.get("resourceType")
    try:
        model = get_fhir_model_class(str(kind))
    except (KeyError, ValueError) as exc:
        raise CaseError(f"{path}.resourceType", kind, "a FHIR R4 resource type") from exc
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        where = path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        more = f" ({len(errors) - 1} more problem(s) in this resource)" if len(errors) > 1 else ""
        raise CaseError(where, short(first.get("input")), _accepted(first) + more) from exc


def _accepted(error: Mapping[str, Any]) -> str:
    known = _ACCEPTED.get(str(error.get("type")))
    if known:
        return known
    text = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Input should be ").rstrip(".")
    if "Date value" in text or "DateTime value" in text:
        return "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD; a dateTime may add a time and zone)"
    return text or "a value FHIR R4 accepts"


def short(value: Any) -> Any:
    """A value as shown in a message: JSON text cut to 80 characters."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
