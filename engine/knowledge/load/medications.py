"""medications.yaml: the medication vocabulary (RxNorm codes, brand names, misspellings) and how free
text is cleaned before it is matched. A name or code that would lead to two drugs is a load error."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from clonus.engine.knowledge.vocabulary import Medication, MedicationVocabulary

from .common import Collector, mapping, unknown_keys
from .yamlsource import LineDict, LineList

MEDICATION_KEYS = ("rxnorm", "products", "names", "misspellings", "classes")
NORMALISE_KEYS = ("salts", "forms", "units")
_CODE_RE = re.compile(r"^\d{1,10}$")


def load_medications(doc: Any, file: str, out: Collector) -> MedicationVocabulary:
    unknown_keys(mapping(doc, file, out), ("medications", "normalise"), file, None, out)
    node = mapping(doc, file, out, "medications")
    meds: dict[str, Medication] = {}
    owners: dict[str, tuple[str, str]] = {}  # a name or code -> (drug, where) to catch a second owner
    for name, spec in node.items():
        med = _medication(str(name), spec, file, node.line_of(name), out)
        if med is None:
            continue
        for word in (med.name, *med.names, *med.misspellings):
            _claim(owners, word, med, "name", file, out)
        for code in (med.rxnorm, *med.products):
            _claim(owners, f"rxnorm {code}", med, "code", file, out)
        meds[med.name] = med
    salts, forms, units = _normalise(doc.get("normalise") if isinstance(doc, dict) else None, file, out)
    return MedicationVocabulary(MappingProxyType(meds), salts, forms, units)


def _medication(name: str, spec: Any, file: str, line: int, out: Collector) -> Medication | None:
    if name != name.strip().lower() or not name.strip():
        out.add(file, line, name, None, "a drug is named by its ingredient in lower case")
    if not isinstance(spec, LineDict):
        out.add(file, line, name, None, f"expected a mapping of {', '.join(MEDICATION_KEYS)}")
        return None
    unknown_keys(spec, MEDICATION_KEYS, file, name, out)
    rxnorm = spec.get("rxnorm")
    if not isinstance(rxnorm, str) or not _CODE_RE.match(rxnorm):
        out.add(file, spec.line_of("rxnorm"), name, "rxnorm", "the ingredient RxCUI, digits in quotes (\"1292\")")
        rxnorm = ""
    products = spec.get("products") or LineDict()
    if not isinstance(products, dict):
        out.add(file, spec.line_of("products"), name, "products", "maps a product RxCUI to its name")
        products = {}
    for code, label in products.items():
        if not _CODE_RE.match(str(code)) or not isinstance(label, str):
            out.add(file, spec.line_of("products"), name, f"products.{code}",
                    "a product RxCUI (digits in quotes) mapped to its name")
    words = {key: _words(spec, key, name, file, out) for key in ("names", "misspellings", "classes")}
    listed = MappingProxyType({str(c): str(v) for c, v in products.items()})
    return Medication(name=name, rxnorm=rxnorm, products=listed,
                      names=words["names"], misspellings=words["misspellings"], classes=words["classes"],
                      file=file, line=line)


def _words(spec: LineDict, key: str, name: str, file: str, out: Collector) -> tuple[str, ...]:
    items = spec.get(key)
    if items is None:
        return ()
    if not isinstance(items, LineList) or not all(isinstance(i, str) and i.strip() for i in items):
        out.add(file, spec.line_of(key), name, key, "a list of words")
        return ()
    return tuple(i.strip().lower() for i in items)


def _claim(owners: dict, word: str, med: Medication, kind: str, file: str, out: Collector) -> None:
    """Record that `word` leads to `med`; a second drug claiming it is a problem (normalising is ambiguous)."""
    if not word:
        return
    other = owners.get(word)
    if other is not None and other[0] != med.name:
        out.add(file, med.line, med.name, kind, f"{word!r} already leads to {other[0]}: a {kind} names one drug")
    owners.setdefault(word, (med.name, kind))


def _normalise(node: Any, file: str, out: Collector) -> tuple[frozenset[str], ...]:
    if node is None:
        return frozenset(), frozenset(), frozenset()
    if not isinstance(node, LineDict):
        out.add(file, 1, None, "normalise", f"maps {', '.join(NORMALISE_KEYS)} to lists of words")
        return frozenset(), frozenset(), frozenset()
    unknown_keys(node, NORMALISE_KEYS, file, None, out, "normalise.")
    found = []
    for key in NORMALISE_KEYS:
        items = node.get(key) or LineList()
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            out.add(file, node.line_of(key), None, f"normalise.{key}", "a list of words")
            items = []
        found.append(frozenset(i.lower() for i in items))
    return tuple(found)
