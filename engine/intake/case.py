"""Turn a case (YAML/JSON text or a mapping) into normalised input facts, or fail with one clear CaseError."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import yaml

from clonus.engine.errors import CaseError, clip, shown
from clonus.engine.intake.frequency import parse_frequency
from clonus.engine.intake.medication import closest_medication, condition, medication, written
from clonus.engine.intake.units import parse_mass_exact
from clonus.engine.intake.values import checked_number, normalised, number_value, plain_text, text_value, word_pieces
from clonus.engine.knowledge.load.yamlsource import load_yaml, problem_place
from clonus.engine.knowledge.model import FactDef, Kb
from clonus.engine.knowledge.numbers import exactness_problem, to_number
from clonus.engine.suggest import did_you_mean


@dataclass(frozen=True)
class Case:
    """A validated case: known input facts (normalised) and the input facts it lacks."""

    facts: Mapping[str, Any]
    absent: frozenset[str]


def _strict_json(text: str, name: str, exact: bool = False) -> Any:
    """A .json file is read as strict JSON (YAML would accept a trailing comma), duplicate keys refused."""
    def pairs(items):
        seen: dict = {}
        for key, value in items:
            if key in seen:
                raise ValueError(f"duplicate key {shown(key)}")
            seen[key] = value
        return seen

    accepted = "valid JSON"
    number = Decimal if exact else None  # a case's numbers exact, as in YAML case files (not a rounded float)
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_float=number, parse_int=number)
    except json.JSONDecodeError as exc:
        where = f"{clip(name)}:{exc.lineno}:{exc.colno}"
        raise CaseError(name, text[:60], accepted, f"{where}: malformed JSON ({exc.msg}); expected {accepted}") from exc
    except (ValueError, RecursionError) as exc:
        reason = "nested too deep" if isinstance(exc, RecursionError) else clip(str(exc))
        raise CaseError(name, text[:60], accepted,
                        f"{clip(name)}: malformed JSON ({reason}); expected {accepted}") from exc


def read_json_text(text: str, name: str) -> Any:
    """Strict JSON (a FHIR Bundle, say), duplicate keys refused; CaseError located in `name`."""
    return _strict_json(text, name)


def read_case_text(text: str, name: str = "case") -> dict:
    """Parse case text safely into a mapping: YAML (of which JSON is a subset), or strict JSON for .json."""
    if name.lower().endswith(".json"):
        data = _strict_json(text, name, exact=True)
        if not isinstance(data, dict):
            raise CaseError(name, _kind(data), "a JSON object with patient, medication and response")
        return data
    try:
        data = load_yaml(text, exact=True)  # the one YAML reader: safe, alias budget, exact numbers
    except yaml.YAMLError as exc:
        place = problem_place(exc, text)
        where = f"{clip(name)}:{place[0]}:{place[1]}" if place else clip(name)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        accepted = "valid YAML or JSON"
        raise CaseError(name, text[:60], accepted,
                        f"{where}: malformed YAML/JSON ({clip(problem, 200)}); expected {accepted}") from exc
    if data is None:
        raise CaseError(name, "empty", "a YAML or JSON mapping with patient, medication and response")
    if not isinstance(data, dict):
        raise CaseError(name, _kind(data), "a YAML or JSON mapping with patient, medication and response")
    return data


def _kind(data: Any) -> str:
    """What a document holds instead of a mapping: list, number, str..."""
    if isinstance(data, list):
        return "list"
    if isinstance(data, (Decimal, int, float)) and not isinstance(data, bool):
        return "number"
    return type(data).__name__


MEMO_SIZE = 65_536  # normalised values a memo keeps (parse_case's `memo`)
_UNSEEN = object()


def parse_case(kb: Kb, data: Mapping[str, Any], memo: dict | None = None) -> Case:
    """Validate every field against the facts dictionary and normalise values. `memo` (a dict the caller
    keeps for one KB) remembers each field's normalised value by its raw value and type: a cohort repeats
    doses and frequencies."""
    fields, sections = kb.case_fields, kb.case_sections
    values: dict[str, Any] = {}
    for section, content in data.items():
        if section not in sections:
            raise CaseError(str(section), content, f"one of the sections {', '.join(sections)}"
                            f"{did_you_mean(section, sections)}")
        if content is None:
            continue
        if not isinstance(content, dict):
            raise CaseError(section, content, "a mapping of fields")
        for key, raw in content.items():
            path = f"{section}.{key}"
            if path not in fields:
                allowed = sorted(p.split(".", 1)[1] for p in fields if p.startswith(section + "."))
                raise CaseError(path, raw, f"a known field of {section}: {', '.join(allowed)}"
                                f"{did_you_mean(key, allowed)}")
            if raw is None:
                continue
            fact = fields[path]
            values[fact.name] = _normalise(kb, fact, path, raw) if memo is None else _remembered(
                memo, kb, fact, path, raw)
    for fact in kb.completed_inputs:
        if fact.name not in values and fact.default is not None:
            values[fact.name] = fact.default
        if fact.product_of and all(p in values for p in fact.product_of):
            values[fact.name] = _product(kb, fact, values, data)
        if fact.classes_of and fact.classes_of in values:
            values[fact.name] = _classes(kb, values[fact.classes_of])
    names = kb.input_names  # every value is an input fact's (case fields feed input facts only)
    absent = frozenset(name for name in names if name not in values)
    ordered = {name: values[name] for name in names if name in values}
    return Case(MappingProxyType(ordered), absent)


def _remembered(memo: dict, kb: Kb, fact: FactDef, path: str, raw: Any) -> Any:
    """_normalise through the memo: keyed by path, type and value (True and 1 are not the same raw value)."""
    key = (path, type(raw), tuple(raw) if isinstance(raw, list) else raw)
    try:
        value = memo.get(key, _UNSEEN)
    except TypeError:  # an unhashable raw value (a mapping, a list of lists): intake reports it
        return _normalise(kb, fact, path, raw)
    if value is _UNSEEN:
        value = _normalise(kb, fact, path, raw)
        if len(memo) < MEMO_SIZE:
            memo[key] = value
    return value


def _product(kb: Kb, fact: FactDef, values: dict[str, Any], data: Mapping[str, Any]) -> int | float:
    """A product fact (daily dose = dose x doses per day), exact; refused on its first part's field when
    it needs more digits than a float compares exactly (a 15-digit dose times 3)."""
    product = Decimal(1)
    for part in fact.product_of:
        product *= Decimal(repr(values[part]) if isinstance(values[part], float) else values[part])
    problem = exactness_problem(product)
    if problem:
        given = next((kb.facts[p] for p in fact.product_of if kb.facts[p].case_field), kb.facts[fact.product_of[0]])
        path = given.case_field or given.name
        section, _, leaf = path.partition(".")
        raw = data.get(section, {}).get(leaf) if isinstance(data.get(section), Mapping) else None
        raise CaseError(path, raw, f"a value that makes the {fact.label} ({product} {fact.unit or ''}) a number "
                        f"with {problem}")
    return to_number(product)


def _normalise(kb: Kb, fact: FactDef, path: str, raw: Any) -> Any:
    if fact.parse == "mass":
        return checked_number(fact, path, raw, parse_mass_exact(kb, path, raw))
    if fact.parse == "frequency":
        return checked_number(fact, path, raw, Decimal(parse_frequency(kb, path, raw)))
    if fact.type == "number":
        return number_value(fact, path, raw)
    if fact.type == "boolean":
        if not isinstance(raw, bool):
            raise CaseError(path, raw, "true or false")
        return raw
    if fact.type == "enum":
        accepted = f"one of {', '.join(fact.values)}"
        text = _synonym(kb, fact, text_value(path, raw, accepted)) if isinstance(raw, str) else None
        if text not in fact.values:
            raise CaseError(path, raw, f"{accepted}{did_you_mean(text or raw, fact.values)}")
        return text
    if fact.type == "words":
        pieces = word_pieces(path, raw)
        if fact.vocabulary == "medications":
            return tuple(dict.fromkeys(medication(kb, p) or written(kb, p) for p in pieces))
        return tuple(dict.fromkeys(_synonym(kb, fact, normalised(p)) for p in pieces))
    text = plain_text(path, raw, "a word or short text")
    if fact.vocabulary == "medications":
        return _medication(kb, fact, path, text)
    if fact.vocabulary == "conditions":
        found, typo_of = condition(kb, text)
        if typo_of is not None:
            raise CaseError(path, raw, f"a condition, written as you would (did you mean {shown(typo_of)}?)")
        return found
    return _synonym(kb, fact, normalised(text))


def _medication(kb: Kb, fact: FactDef, path: str, raw: str) -> str:
    """A medication the vocabulary knows, as its ingredient; unknown text is refused for a strict fact (a
    typo must never read as another drug, or as 'out of scope')."""
    found = medication(kb, raw)
    if found is not None or not fact.strict:
        return found or written(kb, raw)
    near = closest_medication(kb, raw)
    hint = f" (did you mean {shown(kb.medication_names[near])}?)" if near else ""
    raise CaseError(path, raw, f"a medication name the KB knows (kb/medications.yaml){hint}")


def _classes(kb: Kb, medications: tuple[str, ...]) -> tuple[str, ...]:
    """The classes of the medications the vocabulary knows, in a fixed order."""
    return tuple(sorted({c for m in medications if m in kb.medications for c in kb.medications[m].classes}))


def _synonym(kb: Kb, fact: FactDef, text: str) -> str:
    return kb.synonyms.get(fact.name, {}).get(text, text)
