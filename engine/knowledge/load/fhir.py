"""fhir.yaml: how FHIR resources become case facts (code systems, statuses, condition and observation
codes, dose and period units, timing codes, routes). Facts and values are checked against facts.yaml."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from clonus.engine.knowledge.fhirmap import CodedFact, CodeSystem, FhirMapping
from clonus.engine.knowledge.model import FactDef
from clonus.engine.suggest import did_you_mean

from .common import Collector, is_number, mapping, unknown_keys
from .yamlsource import LineDict, LineList

FHIR_KEYS = ("systems", "statuses", "medication_drugs", "conditions", "needs", "observations", "dose_units",
             "period_units", "timing_codes", "routes", "override_reasons")
STATUS_KEYS = ("Bundle", "MedicationRequest", "MedicationStatement", "Condition", "Observation", "refuted", "suspected")
MATCHES = ("exact", "prefix")


def load_fhir(doc: Any, file: str, facts: dict[str, FactDef], mass_units: dict[str, float],
              drugs: Collection[str], out: Collector) -> FhirMapping:
    """`drugs`: the ingredients of medications.yaml, which medication_drugs must name."""
    top = mapping(doc, file, out)
    unknown_keys(top, FHIR_KEYS, file, None, out)
    systems = _systems(mapping(top, file, out, "systems"), file, out)
    ctx = (systems, facts, file, out)
    return FhirMapping(
        systems=MappingProxyType(systems), statuses=MappingProxyType(_statuses(top, file, out)),
        medication_drugs=_drugs(top, drugs, file, out),
        conditions=tuple(_coded_list(top, "conditions", ctx)), needs=tuple(_coded_list(top, "needs", ctx)),
        observations=tuple(_coded_list(top, "observations", ctx)),
        dose_units=MappingProxyType(_dose_units(top, mass_units, file, out)),
        period_units=MappingProxyType(_counts(top, "period_units", "hours, a whole number >= 1", file, out)),
        timing_codes=MappingProxyType(_counts(top, "timing_codes", "doses per day, a whole number >= 1", file, out)),
        routes=MappingProxyType(_routes(top, systems, facts, file, out)),
        override=_override(top, file, out), file=file,
    )


def _override(top: LineDict, file: str, out: Collector) -> tuple[str, Mapping[str, str]]:
    """override_reasons: a code system and code -> display (CDS Hooks requires a display)."""
    node = mapping(top, file, out, "override_reasons")
    unknown_keys(node, ("system", "reasons"), file, None, out, "override_reasons.")
    system, reasons = node.get("system"), node.get("reasons")
    if not isinstance(system, str) or ":" not in system:
        out.add(file, node.line_of("system"), None, "override_reasons.system", "a code system URI")
        system = ""
    if not isinstance(reasons, LineDict) or not all(isinstance(v, str) and v.strip() for v in reasons.values()):
        out.add(file, node.line_of("reasons"), None, "override_reasons.reasons", "maps a code to its display text")
        reasons = {}
    return system, MappingProxyType({str(k): str(v) for k, v in reasons.items()})


def _systems(node: LineDict, file: str, out: Collector) -> dict[str, CodeSystem]:
    systems = {}
    for name, spec in node.items():
        uri = spec.get("uri") if isinstance(spec, dict) else None
        match = spec.get("match", "exact") if isinstance(spec, dict) else None
        if not isinstance(uri, str) or ":" not in uri or match not in MATCHES:
            out.add(file, node.line_of(name), None, f"systems.{name}",
                    f"needs uri (a URI) and match ({' or '.join(MATCHES)})")
            continue
        if isinstance(spec, LineDict):
            unknown_keys(spec, ("uri", "match"), file, None, out, f"systems.{name}.")
        systems[str(name)] = CodeSystem(str(name), uri, match == "prefix")
    return systems


def _drugs(top: LineDict, drugs: Collection[str], file: str, out: Collector) -> tuple[str, ...]:
    items = top.get("medication_drugs")
    if not isinstance(items, LineList) or not items:
        out.add(file, top.line_of("medication_drugs"), None, "medication_drugs", "a list of drugs of medications.yaml")
        return ()
    for i, drug in enumerate(items):
        if drug not in drugs:
            out.add(file, items.line_of(i), None, "medication_drugs",
                    f"{drug!r} is not a drug of medications.yaml{did_you_mean(str(drug), drugs)}")
    return tuple(str(d) for d in items)


def _statuses(top: LineDict, file: str, out: Collector) -> dict[str, tuple[str, ...]]:
    node = mapping(top, file, out, "statuses")
    unknown_keys(node, STATUS_KEYS, file, None, out, "statuses.")
    result = {}
    for key in STATUS_KEYS:
        items = node.get(key)
        if not isinstance(items, LineList) or not all(isinstance(i, str) for i in items):
            out.add(file, node.line_of(key), None, f"statuses.{key}", "a list of status codes")
            continue
        result[key] = tuple(items)
    return result


def _codes(node: Any, line: int, where: str, systems: dict[str, CodeSystem], file: str,
           out: Collector) -> tuple[tuple[str, str], ...]:
    """{system: [code, ...]} -> ((system URI, code), ...); codes are text (quote numeric codes)."""
    if not isinstance(node, LineDict) or not node:
        out.add(file, line, None, where, f"maps a code system ({', '.join(systems)}) to a list of codes")
        return ()
    found: list[tuple[str, str]] = []
    for system, codes in node.items():
        if system not in systems:
            out.add(file, node.line_of(system), None, f"{where}.{system}",
                    f"unknown code system{did_you_mean(system, systems)}; declared: {', '.join(systems)}")
            continue
        if not isinstance(codes, LineList) or not all(isinstance(c, str) and c.strip() for c in codes):
            out.add(file, node.line_of(system), None, f"{where}.{system}", "a list of codes as text (\"24700007\")")
            continue
        found.extend((systems[system].uri, code.strip()) for code in codes)
    return tuple(found)


def _coded_list(top: LineDict, key: str, ctx) -> list[CodedFact]:
    systems, facts, file, out = ctx
    items = top.get(key)
    if not isinstance(items, LineList):
        out.add(file, top.line_of(key), None, key, "a list of {fact, value, codes}")
        return []
    allowed = {"conditions": ("fact", "value", "suspected", "codes"), "needs": ("fact", "because", "codes"),
               "observations": ("fact", "codes", "units")}[key]
    found = []
    for i, spec in enumerate(items):
        line = items.line_of(i)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, f"{key}[{i}]", f"a mapping of {', '.join(allowed)}")
            continue
        unknown_keys(spec, allowed, file, None, out, f"{key}[{i}].")
        fact = _fact(spec.get("fact"), key, facts, f"{key}[{i}].fact", file, line, out)
        codes = _codes(spec.get("codes"), spec.line_of("codes"), f"{key}[{i}].codes", systems, file, out)
        entry = CodedFact(fact=fact.name if fact else "", value=spec.get("value"), codes=codes,
                          suspected=spec.get("suspected"), because=str(spec.get("because", "")),
                          units=tuple(str(u) for u in spec.get("units") or ()), line=line)
        if fact is not None:
            _check_values(entry, fact, key, i, file, out)
        found.append(entry)
    return found


def _fact(name: Any, key: str, facts: dict[str, FactDef], where: str, file: str, line: int,
          out: Collector) -> FactDef | None:
    fact = facts.get(name) if isinstance(name, str) else None
    inputs = [f for f, d in facts.items() if d.origin == "input" and d.case_field]
    if fact is None or fact.origin != "input" or not fact.case_field:
        out.add(file, line, None, where, f"{name!r} is not an input fact with a case field{did_you_mean(name, inputs)}")
        return None
    wanted = ("number",) if key in ("observations", "needs") else ("boolean", "enum", "text")
    if fact.type not in wanted:
        out.add(file, line, None, where, f"{name} is a {fact.type} fact; {key} set {' or '.join(wanted)} facts")
        return None
    return fact


def _check_values(entry: CodedFact, fact: FactDef, key: str, i: int, file: str, out: Collector) -> None:
    if key != "conditions":
        if key == "observations" and not entry.units:
            out.add(file, entry.line, None, f"{key}[{i}].units", "the UCUM units accepted, a list")
        return
    for label, value in (("value", entry.value), ("suspected", entry.suspected)):
        if value is None and label == "suspected":
            continue
        if fact.type == "boolean" and value is not True:
            out.add(file, entry.line, None, f"{key}[{i}].{label}",
                    f"{fact.name} is a boolean: a Condition sets it true")
        elif fact.type == "enum" and value not in fact.values:
            out.add(file, entry.line, None, f"{key}[{i}].{label}",
                    f"{value!r} is not a value of {fact.name}{did_you_mean(str(value), fact.values)}; "
                    f"values: {', '.join(fact.values)}")
        elif fact.type == "text" and (not isinstance(value, str) or not value.strip()):
            out.add(file, entry.line, None, f"{key}[{i}].{label}", f"{fact.name} is text: a word such as stroke")


def _dose_units(top: LineDict, mass_units: dict[str, float], file: str, out: Collector) -> dict[str, str]:
    node = mapping(top, file, out, "dose_units")
    result = {}
    for code, unit in node.items():
        if not isinstance(unit, str) or unit.lower() not in mass_units:
            out.add(file, node.line_of(code), None, f"dose_units.{code}",
                    f"{unit!r} is not a mass unit of notations.yaml{did_you_mean(str(unit), mass_units)}")
            continue
        result[str(code)] = unit
    return result


def _counts(top: LineDict, key: str, what: str, file: str, out: Collector) -> dict[str, int]:
    node = mapping(top, file, out, key)
    result = {}
    for code, count in node.items():
        if not is_number(count) or count != int(count) or count < 1:
            out.add(file, node.line_of(code), None, f"{key}.{code}", f"expected {what}")
            continue
        result[str(code)] = int(count)
    return result


def _routes(top: LineDict, systems: dict[str, CodeSystem], facts: dict[str, FactDef], file: str,
            out: Collector) -> dict[tuple[str, str], str]:
    node = mapping(top, file, out, "routes")
    values = facts["route"].values if "route" in facts else ()
    result = {}
    for value, codes in node.items():
        if value not in values:
            out.add(file, node.line_of(value), None, f"routes.{value}",
                    f"not a value of the route fact{did_you_mean(str(value), values)}; values: {', '.join(values)}")
            continue
        for pair in _codes(codes, node.line_of(value), f"routes.{value}", systems, file, out):
            result[pair] = str(value)
    return result
