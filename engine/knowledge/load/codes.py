"""codes.yaml and sources.yaml: recommendation codes by category, and the sources rules cite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import DOSE_PLAN_SLOTS, GRADES, SEVERITIES, CodeDef, SourceDef
from clonus.engine.knowledge.wording import fill_slots

from .common import Collector, mapping, unknown_keys
from .yamlsource import LineDict


def load_codes(doc: Any, file: str, out: Collector, params: Mapping[str, Any] | None = None
               ) -> tuple[dict[str, CodeDef], list[str]]:
    """Codes by category; a {parameter} slot in a text or title is the profile's value, filled now."""
    fixed = {k: v for k, v in (params or {}).items() if k not in DOSE_PLAN_SLOTS}
    codes: dict[str, CodeDef] = {}
    categories = mapping(doc, file, out, "categories")
    for category, members in categories.items():
        if not isinstance(members, LineDict):
            out.add(file, categories.line_of(category), None, category, "a category maps codes to their definitions")
            continue
        for code, spec in members.items():
            line = members.line_of(code)
            if not isinstance(spec, LineDict):
                out.add(file, line, None, code, "a code is a mapping with severity, title and text")
                continue
            unknown_keys(spec, ("severity", "title", "text"), file, None, out, f"{code}.")
            if spec.get("severity") not in SEVERITIES:
                out.add(file, spec.line_of("severity"), None, f"{code}.severity",
                        f"{shown(spec.get('severity'))} is not one of {', '.join(SEVERITIES)}")
            if not spec.get("text"):
                out.add(file, line, None, f"{code}.text", "every code needs clinician-facing text")
            if code in codes:
                out.add(file, line, None, code, "duplicate code")
            codes[code] = CodeDef(code, str(category), str(spec.get("severity")),
                                  fill_slots(str(spec.get("text", "")), fixed),
                                  fill_slots(str(spec.get("title", code)), fixed), file, line)
    return codes, list(categories)


def load_sources(doc: Any, file: str, out: Collector) -> dict[str, SourceDef]:
    sources: dict[str, SourceDef] = {}
    for sid, spec in mapping(doc, file, out, "sources").items():
        line = doc["sources"].line_of(sid)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, sid, "a source is a mapping")
            continue
        unknown_keys(spec, ("title", "publisher", "year", "url", "grade"), file, None, out, f"{sid}.")
        for key in ("title", "url", "grade"):
            if not spec.get(key):
                out.add(file, line, None, f"{sid}.{key}", "is required")
        if spec.get("grade") and spec["grade"] not in GRADES:
            out.add(file, spec.line_of("grade"), None, f"{sid}.grade", f"must be one of {', '.join(GRADES)}")
        sources[str(sid)] = SourceDef(str(sid), str(spec.get("title", "")), str(spec.get("publisher", "")),
                                      spec.get("year"), str(spec.get("url", "")), str(spec.get("grade", "")),
                                      file, line)
    return sources
