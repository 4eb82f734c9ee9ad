"""kb/invariants.yaml, the safety section: the parameters of the checks every answer passes apart from the
rules (engine/decide/invariants.py), bound to the profile, with a digest of their content.

A KB author may change them (a new jurisdiction), so they are not frozen in Python; instead each answer
and `clonus lint` compare them with the approved section shipped with clonus (invariants.approved.yaml in
the shipped KB) and say what differs.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge import conditions as cond
from clonus.engine.knowledge.model import FACT_TYPES, FactDef, Invariants, Kb, Required
from clonus.engine.suggest import did_you_mean

from .common import Collector, bind, is_number, unknown_keys
from .yamlsource import LineDict, LineList

KEYS = ("adult", "drug_fact", "max_daily_mg", "required", "exclusions")
APPROVED = "invariants.approved.yaml"
_PARAMETER = re.compile(r"\$([a-z_][a-z0-9_]*)")


def parameters_read(doc: Any) -> frozenset[str]:
    """The parameter names the safety section reads ($name anywhere in it), so that the profile loader can
    say when a profile tries to set one of them."""
    if isinstance(doc, dict):
        return frozenset().union(*(parameters_read(v) for v in doc.values()))
    if isinstance(doc, list):
        return frozenset().union(*(parameters_read(v) for v in doc))
    return frozenset(_PARAMETER.findall(doc)) if isinstance(doc, str) else frozenset()


def load_invariants(doc: Any, file: str, params: dict[str, Any], facts: dict[str, FactDef], codes: dict,
                    out: Collector) -> Invariants:
    if not isinstance(doc, LineDict):
        out.add(file, 1, None, None, "the safety section is a mapping of " + ", ".join(KEYS))
        doc = LineDict()
        doc.key_lines = {}
    unknown_keys(doc, KEYS, file, None, out)
    for key in KEYS:
        if key not in doc:
            out.add(file, doc.line, None, key, "is required in the safety section")
    adult = doc.get("adult") if isinstance(doc.get("adult"), LineDict) else LineDict()
    at = adult.line_of("fact") if isinstance(getattr(adult, "key_lines", None), dict) else doc.line_of("adult")
    adult_fact = _fact(adult.get("fact"), facts, "number", file, at or doc.line_of("adult"), "adult.fact", out)
    at = adult.line_of("minimum") if isinstance(getattr(adult, "key_lines", None), dict) else doc.line_of("adult")
    age = bind(adult.get("minimum"), params, file, at or doc.line_of("adult"), None, "adult.minimum", out)
    if not is_number(age):
        if age is not None:  # None: an unknown parameter, already reported
            out.add(file, doc.line_of("adult"), None, "adult.minimum", "is the adult age, a number (or $parameter)")
        age = 0
    drug_fact = _fact(doc.get("drug_fact"), facts, "text", file, doc.line_of("drug_fact"), "drug_fact", out)
    maxima = _maxima(doc.get("max_daily_mg"), file, doc.line_of("max_daily_mg"), params, out)
    required = _required(doc.get("required"), file, doc.line_of("required"), params, facts, codes, out)
    exclusions = _exclusions(doc.get("exclusions"), file, doc.line_of("exclusions"), codes, out)
    canonical = {
        "adult": {"fact": adult_fact, "minimum": age}, "drug_fact": drug_fact, "max_daily_mg": dict(maxima),
        "required": [{"when": [str(a) for a in r.when], "codes": list(r.codes)} for r in required],
        "exclusions": sorted(sorted(pair) for pair in exclusions),
    }
    digest = "sha256:" + hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return Invariants(adult_fact, age, drug_fact, MappingProxyType(maxima), tuple(required), tuple(exclusions),
                      MappingProxyType(canonical), digest)


def _fact(name: Any, facts: dict[str, FactDef], kind: str, file: str, line: int, field: str, out: Collector) -> str:
    if name is None:
        return ""  # the key is missing: reported as required
    fact = facts.get(name) if isinstance(name, str) else None
    if fact is not None and fact.type not in FACT_TYPES:
        return str(name)  # the fact's own bad type is the problem, reported in facts.yaml
    if fact is None or fact.origin != "input" or (kind == "number") != (fact.type == "number"):
        hint = did_you_mean(name, facts) if fact is None else f" (it is {fact.origin}, a {fact.type})"
        out.add(file, line, None, field, f"{shown(name)} is not an input {kind} fact{hint}")
        return str(name)
    return name


def _maxima(node: Any, file: str, line: int, params: dict[str, Any], out: Collector) -> dict[str, float]:
    maxima: dict[str, float] = {}
    if not isinstance(node, LineDict) or not node:
        out.add(file, line, None, "max_daily_mg", "maps each drug a dose plan may be made for to its maximum")
        return maxima
    for drug, value in node.items():
        bound = bind(value, params, file, node.line_of(drug), None, f"max_daily_mg.{drug}", out)
        if bound is None:
            continue  # an unknown parameter, already reported
        if not is_number(bound) or bound <= 0:
            out.add(file, node.line_of(drug), None, f"max_daily_mg.{drug}", "is a positive number (or $parameter)")
            continue
        maxima[str(drug)] = bound
    return maxima


def _required(node: Any, file: str, line: int, params: dict[str, Any], facts: dict[str, FactDef], codes: dict,
              out: Collector) -> list[Required]:
    from .rules import check_atom

    required: list[Required] = []
    if not isinstance(node, LineList):
        out.add(file, line, None, "required", "a list of {when: [conditions], codes: [codes]}")
        return required
    for i, item in enumerate(node):
        at = node.line_of(i)
        if not isinstance(item, LineDict) or not isinstance(item.get("when"), list) or \
                not isinstance(item.get("codes"), list) or not item["codes"]:
            out.add(file, at, None, "required", "each entry has `when:` (a list of conditions) and `codes:`")
            continue
        atoms = []
        when_at, codes_at = item.line_of("when") or at, item.line_of("codes") or at
        for text in item["when"]:
            if not isinstance(text, str):
                out.add(file, at, None, "required.when", f"{shown(text)} is not a condition; write one as text")
                continue
            try:
                atom = cond.parse_atom(text, params)
            except cond.ConditionSyntaxError as exc:
                out.add(file, when_at, None, "required.when", str(exc))
                continue
            check_atom(atom, facts, file, when_at, None, out)
            if atom.fact in facts and facts[atom.fact].origin != "input":
                out.add(file, when_at, None, "required.when", f"{shown(atom.fact)} is derived; write it in input facts")
            atoms.append(atom)
        for code in item["codes"]:
            if not isinstance(code, str) or code not in codes:  # a list or a mapping is no code either
                out.add(file, codes_at, None, "required.codes",
                        f"unknown code {shown(code)}{did_you_mean(code, codes)}")
        required.append(Required(tuple(atoms), tuple(str(c) for c in item["codes"])))
    return required


def _exclusions(node: Any, file: str, line: int, codes: dict, out: Collector) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if not isinstance(node, LineList):
        out.add(file, line, None, "exclusions", "is a list of pairs [code, code]")
        return pairs
    for i, pair in enumerate(node):
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(c, str) for c in pair):
            out.add(file, node.line_of(i), None, "exclusions", "each exclusion is a pair [code, code]")
            continue
        for code in pair:
            if code not in codes:
                out.add(file, node.line_of(i), None, "exclusions",
                        f"unknown code {shown(code)}{did_you_mean(code, codes)}")
        pairs.append((pair[0], pair[1]))
    return pairs


# -- the approved section ---------------------------------------------------------------------------

@cache
def _approved(path: Path) -> dict[str, Any]:
    from .yamlsource import read_yaml

    if not path.is_file():
        return {}
    doc = read_yaml(path, str(path))
    return json.loads(json.dumps(doc)) if isinstance(doc, dict) else {}


def approved_section(shipped_root: Path, profile: str) -> dict[str, Any] | None:
    """The approved safety section of a profile, as shipped with clonus (None when it has none)."""
    entry = _approved(shipped_root / APPROVED).get(profile)
    return entry.get("section") if isinstance(entry, dict) else None


def safety_changes(kb: Kb, shipped_root: Path) -> tuple[str, ...]:
    """What differs between the KB's safety section and the approved one shipped with clonus ('' when none)."""
    approved = approved_section(shipped_root, kb.profile.name)
    if approved is None:
        return (f"profile {shown(kb.profile.name)} has no approved safety section",)
    current = json.loads(json.dumps(dict(kb.invariants.canonical)))
    return tuple(_differences(approved, current, ""))


def _differences(old: Any, new: Any, where: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            path = f"{where}.{key}" if where else str(key)
            if key not in new:
                out.append(f"{path}: removed (was {json.dumps(old[key])})")
            elif key not in old:
                out.append(f"{path}: added ({json.dumps(new[key])})")
            else:
                out.extend(_differences(old[key], new[key], path))
        return out
    if isinstance(old, list) and isinstance(new, list) and where in ("exclusions", "required"):
        gone = [item for item in old if item not in new]
        came = [item for item in new if item not in old]
        return [f"{where}: removed {json.dumps(i)}" for i in gone] + [f"{where}: added {json.dumps(i)}" for i in came]
    return [] if old == new else [f"{where}: {json.dumps(old)} -> {json.dumps(new)}"]


def approved_record(sections: dict[str, Invariants]) -> dict[str, Any]:
    """The approved record to ship, from each profile's safety section (tools/regenerate.py writes it)."""
    return {name: {"digest": inv.digest, "section": json.loads(json.dumps(dict(inv.canonical)))}
            for name, inv in sorted(sections.items())}
