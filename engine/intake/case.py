"""Turn a case (YAML/JSON text or a mapping) into normalised input facts, or fail with one clear CaseError."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import yaml

from clonus.engine.errors import CaseError
from clonus.engine.intake.frequency import parse_frequency
from clonus.engine.intake.medication import closest_medication, condition, medication, written
from clonus.engine.intake.units import parse_mass
from clonus.engine.knowledge.model import FactDef, Kb
from clonus.engine.knowledge.numbers import to_number
from clonus.engine.suggest import did_you_mean

_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")
# Control characters in a word: never meant, and a NUL would cut the text short in a C engine (CLIPS
# reads "baclofen\0x" as "baclofen").
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Case:
    """A validated case: known input facts (normalised) and the input facts it lacks."""

    facts: Mapping[str, Any]
    absent: frozenset[str]


class _CaseLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice: a second `dose:` must not silently replace the first."""


def _unique_mapping(loader: _CaseLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key = loader.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_CaseLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _strict_json(text: str, name: str) -> Any:
    """A .json file is read as strict JSON (YAML would accept a trailing comma), duplicate keys refused."""
    def pairs(items):
        seen: dict = {}
        for key, value in items:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen[key] = value
        return seen

    accepted = "valid JSON"
    try:
        return json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise CaseError(name, text[:60], accepted,
                        f"{name}:{exc.lineno}:{exc.colno}: malformed JSON ({exc.msg}); expected {accepted}") from exc
    except ValueError as exc:
        raise CaseError(name, text[:60], accepted, f"{name}: malformed JSON ({exc}); expected {accepted}") from exc


def read_json_text(text: str, name: str) -> Any:
    """Strict JSON (a FHIR Bundle, say), duplicate keys refused; CaseError located in `name`."""
    return _strict_json(text, name)


def read_case_text(text: str, name: str = "case") -> dict:
    """Parse case text safely into a mapping: YAML (of which JSON is a subset), or strict JSON for .json."""
    if name.lower().endswith(".json"):
        data = _strict_json(text, name)
        if not isinstance(data, dict):
            raise CaseError(name, type(data).__name__, "a JSON object with patient, medication and response")
        return data
    try:
        data = yaml.load(text, Loader=_CaseLoader)  # noqa: S506 - _CaseLoader is a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        accepted = "valid YAML or JSON"
        raise CaseError(name, text[:60], accepted,
                        f"{where}: malformed YAML/JSON ({problem}); expected {accepted}") from exc
    if data is None:
        raise CaseError(name, "empty", "a YAML or JSON mapping with patient, medication and response")
    if not isinstance(data, dict):
        raise CaseError(name, type(data).__name__, "a YAML or JSON mapping with patient, medication and response")
    return data


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
            raise CaseError(str(section), _short(content), f"one of the sections {', '.join(sections)}"
                            f"{did_you_mean(section, sections)}")
        if content is None:
            continue
        if not isinstance(content, dict):
            raise CaseError(section, _short(content), "a mapping of fields")
        for key, raw in content.items():
            path = f"{section}.{key}"
            if path not in fields:
                allowed = sorted(p.split(".", 1)[1] for p in fields if p.startswith(section + "."))
                raise CaseError(path, _short(raw), f"a known field of {section}: {', '.join(allowed)}"
                                f"{did_you_mean(key, allowed)}")
            if raw is None:
                continue
            fact = fields[path]
            values[fact.name] = _normalise(kb, fact, path, raw) if memo is None else _remembered(
                memo, kb, fact, path, raw)
    for fact in kb.facts.values():
        if fact.origin != "input":
            continue
        if fact.name not in values and fact.default is not None:
            values[fact.name] = fact.default
        if fact.product_of and all(p in values for p in fact.product_of):
            product = Decimal(1)
            for part in fact.product_of:
                product *= Decimal(str(values[part]))
            values[fact.name] = to_number(product)
        if fact.classes_of and fact.classes_of in values:
            values[fact.name] = _classes(kb, values[fact.classes_of])
    absent = frozenset(f.name for f in kb.input_facts() if f.name not in values)
    ordered = {name: values[name] for name in kb.facts if name in values}
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


def _short(value: Any) -> Any:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _range_text(fact: FactDef) -> str:
    low = f"above {fact.minimum:g}" if fact.exclusive_minimum else f"from {fact.minimum:g}"
    unit = f" {fact.unit}" if fact.unit else ""
    if fact.minimum is not None and fact.maximum is not None:
        return f"a number {low} to {fact.maximum:g}{unit}"
    if fact.minimum is not None:
        return f"a number {low}{unit}"
    return f"a number{unit}"


def _check_range(fact: FactDef, path: str, raw: Any, number: int | float) -> int | float:
    low_fail = fact.minimum is not None and (
        number <= fact.minimum if fact.exclusive_minimum else number < fact.minimum)
    high_fail = fact.maximum is not None and number > fact.maximum
    if low_fail or high_fail:
        raise CaseError(path, raw, _range_text(fact))
    return number


def _normalise(kb: Kb, fact: FactDef, path: str, raw: Any) -> Any:
    if fact.parse == "mass":
        return _check_range(fact, path, raw, parse_mass(kb, path, raw))
    if fact.parse == "frequency":
        return _check_range(fact, path, raw, parse_frequency(kb, path, raw))
    if fact.type == "number":
        numeric = isinstance(raw, (int, float)) or isinstance(raw, str) and _NUMBER_RE.match(raw)
        if isinstance(raw, bool) or not numeric:
            raise CaseError(path, raw, _range_text(fact))
        if isinstance(raw, float) and not math.isfinite(raw):  # YAML .nan/.inf: no range check can hold
            raise CaseError(path, raw, _range_text(fact))
        number = to_number(Decimal(str(raw).strip()))
        return _check_range(fact, path, raw, number)
    if fact.type == "boolean":
        if not isinstance(raw, bool):
            raise CaseError(path, raw, "true or false")
        return raw
    if fact.type == "enum":
        text = _synonym(kb, fact, raw.strip().lower().replace(" ", "_")) if isinstance(raw, str) else None
        if text not in fact.values:
            raise CaseError(path, raw, f"one of {', '.join(fact.values)}{did_you_mean(text or raw, fact.values)}")
        return text
    if fact.type == "words":
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            raise CaseError(path, _short(raw), "a list of words, e.g. [ciprofloxacin, omeprazole]")
        if any(_CONTROL_RE.search(i) for i in items):
            raise CaseError(path, _short(raw), "a list of words without control characters")
        if fact.vocabulary == "medications":
            return tuple(dict.fromkeys(medication(kb, i) or written(kb, i) for i in items))
        return tuple(dict.fromkeys(_synonym(kb, fact, i.strip().lower().replace(" ", "_")) for i in items))
    if not isinstance(raw, str) or not raw.strip():
        raise CaseError(path, raw, "a word or short text")
    if _CONTROL_RE.search(raw):
        raise CaseError(path, raw, "a word or short text without control characters")
    if fact.vocabulary == "medications":
        return _medication(kb, fact, path, raw)
    if fact.vocabulary == "conditions":
        found, typo_of = condition(kb, raw)
        if typo_of is not None:
            raise CaseError(path, raw, f"a condition, written as you would (did you mean {typo_of!r}?)")
        return found
    return _synonym(kb, fact, raw.strip().lower().replace(" ", "_"))


def _medication(kb: Kb, fact: FactDef, path: str, raw: str) -> str:
    """A medication the vocabulary knows, as its ingredient; unknown text is refused for a strict fact (a
    typo must never read as another drug, or as 'out of scope')."""
    found = medication(kb, raw)
    if found is not None or not fact.strict:
        return found or written(kb, raw)
    near = closest_medication(kb, raw)
    hint = f" (did you mean {kb.medication_names[near]!r}?)" if near else ""
    raise CaseError(path, raw, f"a medication name the KB knows (kb/medications.yaml){hint}")


def _classes(kb: Kb, medications: tuple[str, ...]) -> tuple[str, ...]:
    """The classes of the medications the vocabulary knows, in a fixed order."""
    return tuple(sorted({c for m in medications if m in kb.medications for c in kb.medications[m].classes}))


def _synonym(kb: Kb, fact: FactDef, text: str) -> str:
    return kb.synonyms.get(fact.name, {}).get(text, text)
