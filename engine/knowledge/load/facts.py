"""facts.yaml: the facts dictionary, every fact a rule may read or assert."""

from __future__ import annotations

from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import FACT_ORIGINS, FACT_TYPES, FactDef
from clonus.engine.suggest import did_you_mean

from .common import Collector, is_number, mapping, unknown_keys
from .shapes import shape_problems
from .yamlsource import LineDict

FACT_KEYS = ("type", "origin", "label", "description", "unit", "minimum", "maximum", "exclusive_minimum",
             "values", "case_field", "parse", "product_of", "default", "needed_for_dosing", "vocabulary", "strict",
             "classes_of")
VOCABULARIES = ("medications", "conditions")
_TEXT, _WORDS = {"type": "string"}, {"type": "array", "items": {"type": "string"}}
# the shape of one fact, checked before any other check reads it (shapes.py reads it like a JSON Schema)
FACT_SHAPE = {"type": "object", "properties": {
    "type": _TEXT, "origin": _TEXT, "label": _TEXT, "description": _TEXT, "unit": _TEXT, "case_field": _TEXT,
    "parse": _TEXT, "minimum": {"type": "number"}, "maximum": {"type": "number"},
    "exclusive_minimum": {"type": "boolean"}, "needed_for_dosing": {"type": "boolean"}, "values": _WORDS,
    "product_of": _WORDS, "vocabulary": _TEXT, "strict": {"type": "boolean"}, "classes_of": _TEXT,
    "default": {"type": ["boolean", "number", "string", "array"], "items": _TEXT}}}


def _well_shaped(spec: LineDict, name: str, file: str, line: int, out: Collector) -> LineDict:
    """The fact's properties less those of the wrong shape, each reported: no other check reads such a
    value, and the fact still exists for the rules that name it (no cascade of 'unknown fact')."""
    bad = set()
    for field, at, message in shape_problems(spec, FACT_SHAPE, FACT_SHAPE, name, line):
        out.add(file, at, None, field, message)
        bad.add(field.removeprefix(f"{name}.").split(".")[0].split("[")[0])
    if not bad:
        return spec
    kept = LineDict({k: v for k, v in spec.items() if k not in bad})
    kept.line, kept.key_lines = spec.line, spec.key_lines
    return kept


def load_facts(doc: Any, file: str, out: Collector) -> dict[str, FactDef]:
    facts: dict[str, FactDef] = {}
    for name, spec in mapping(doc, file, out, "facts").items():
        line = doc["facts"].line_of(name)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, name, "a fact is a mapping of its properties")
            continue
        given, spec = spec, _well_shaped(spec, str(name), file, line, out)
        unknown_keys(spec, FACT_KEYS, file, None, out, f"{name}.")
        ftype, origin = spec.get("type"), spec.get("origin")
        if ftype not in FACT_TYPES:
            out.add(file, spec.line_of("type"), None, f"{name}.type",
                    f"{shown(ftype)} is not a fact type{did_you_mean(ftype, FACT_TYPES)}; "
                    f"use one of {', '.join(FACT_TYPES)}")
        if origin not in FACT_ORIGINS:
            out.add(file, spec.line_of("origin"), None, f"{name}.origin", f"{shown(origin)} is not input or derived")
        values = spec.get("values") or []
        if not isinstance(values, list):
            out.add(file, spec.line_of("values"), None, f"{name}.values", "is a list, like [focal, generalized]")
            values = []
        elif ftype == "enum" and not values:
            out.add(file, line, None, f"{name}.values", "an enum fact lists its values")
        product_of = spec.get("product_of") or []
        if not isinstance(product_of, list):
            out.add(file, spec.line_of("product_of"), None, f"{name}.product_of", "is a list of facts")
            product_of = []
        if origin == "derived" and ftype == "words":  # has/lacks would be a substring test, or never hold
            out.add(file, spec.line_of("type"), None, f"{name}.type", "a derived fact holds the one value a rule "
                    "asserts; words come from the case (use text or enum)")
        if origin == "input" and not any(given.get(k) for k in ("case_field", "product_of", "classes_of")):
            out.add(file, line, None, name, "an input fact needs case_field (or product_of, or classes_of)")
        if spec.get("vocabulary") not in (None, *VOCABULARIES) or \
                (spec.get("vocabulary") and ftype not in ("text", "words")):
            out.add(file, spec.line_of("vocabulary"), None, f"{name}.vocabulary",
                    f"a text or words fact may be read through {' or '.join(VOCABULARIES)}")
        for bound in ("minimum", "maximum"):
            if bound in spec and not is_number(spec[bound]):
                out.add(file, spec.line_of(bound), None, f"{name}.{bound}", "must be a number")
        if spec.get("parse") not in (None, "mass", "frequency"):
            out.add(file, spec.line_of("parse"), None, f"{name}.parse", "must be mass or frequency")
        default = spec.get("default")
        if isinstance(default, list):
            default = tuple(default)
        facts[name] = FactDef(
            name=name, type=str(ftype), origin=str(origin), label=str(spec.get("label", name)),
            description=str(spec.get("description", "")), unit=spec.get("unit"),
            minimum=spec.get("minimum"), maximum=spec.get("maximum"),
            exclusive_minimum=bool(spec.get("exclusive_minimum", False)), values=tuple(values),
            case_field=spec.get("case_field"), parse=spec.get("parse"),
            product_of=tuple(product_of), default=default,
            needed_for_dosing=bool(spec.get("needed_for_dosing", False)), vocabulary=spec.get("vocabulary"),
            strict=bool(spec.get("strict", False)), classes_of=spec.get("classes_of"), file=file, line=line,
        )
    for fact in facts.values():
        source = facts.get(fact.classes_of) if fact.classes_of else None
        if fact.classes_of and (source is None or source.vocabulary != "medications" or fact.type != "words"):
            out.add(file, fact.line, None, f"{fact.name}.classes_of",
                    f"names a words fact read through medications{did_you_mean(fact.classes_of, facts)}")
        for part in fact.product_of:
            if part not in facts:
                out.add(file, fact.line, None, f"{fact.name}.product_of",
                        f"unknown fact {shown(part)}{did_you_mean(part, facts)}")
    return facts
