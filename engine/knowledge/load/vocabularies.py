"""kb/medications.yaml and kb/conditions.yaml: the vocabularies free text is read through, and the noise
words (salts, forms) notations.yaml lists for medication text."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.knowledge.model import Medication

from .common import Collector, mapping, unknown_keys
from .yamlsource import LineDict

MEDICATION_KEYS = ("rxnorm", "products", "names", "misspellings", "classes")


def _words(node: Any, file: str, line: int, where: str, out: Collector) -> tuple[str, ...]:
    if node is None:
        return ()
    if not isinstance(node, list) or not all(isinstance(w, str) and w.strip() for w in node):
        out.add(file, line, None, where, "is a list of words or names")
        return ()
    return tuple(w.strip().lower() for w in node)


def load_medications(doc: Any, file: str, out: Collector) -> dict[str, Medication]:
    """Every ingredient with its codes, names and classes; a name or RxNorm code that would lead to two
    ingredients is a problem (reading it would be ambiguous)."""
    medications: dict[str, Medication] = {}
    node = mapping(doc, file, out, "medications")
    seen: dict[str, str] = {}
    for name, spec in node.items():
        line = node.line_of(name)
        if not isinstance(spec, LineDict):
            out.add(file, line, None, str(name), "a medication maps rxnorm, products, names, misspellings, classes")
            continue
        unknown_keys(spec, MEDICATION_KEYS, file, None, out, f"{name}.")
        rxnorm = spec.get("rxnorm")
        if rxnorm is not None and not (isinstance(rxnorm, str) and rxnorm.isdigit()):
            out.add(file, spec.line_of("rxnorm"), None, f"{name}.rxnorm", "is an RxCUI written as a quoted number")
        products = spec.get("products") or {}
        if not isinstance(products, dict) or not all(isinstance(k, str) and k.isdigit() for k in products):
            out.add(file, spec.line_of("products"), None, f"{name}.products", "maps quoted RxCUIs to product names")
            products = {}
        med = Medication(str(name), rxnorm, MappingProxyType({k: str(v) for k, v in products.items()}),
                         _words(spec.get("names"), file, spec.line_of("names"), f"{name}.names", out),
                         _words(spec.get("misspellings"), file, spec.line_of("misspellings"), f"{name}.misspellings",
                                out),
                         _words(spec.get("classes"), file, spec.line_of("classes"), f"{name}.classes", out))
        for written in (med.name, *med.names, *med.misspellings):
            key = written.replace(" ", "_").replace("-", "_")
            if seen.setdefault(key, med.name) != med.name:
                out.add(file, line, None, str(name), f"{shown(written)} is also a name of {shown(seen[key])}")
        for code in (med.rxnorm, *med.products):  # an RxNorm code (FHIR, or a case) leads to one drug
            if code and seen.setdefault(code, med.name) != med.name:
                out.add(file, line, None, str(name), f"RxNorm code {shown(code)} is also a code of {shown(seen[code])}")
        medications[med.name] = med
    return medications


def load_conditions(doc: Any, file: str, out: Collector) -> dict[str, tuple[str, ...]]:
    conditions: dict[str, tuple[str, ...]] = {}
    node = mapping(doc, file, out, "conditions")
    for name, names in node.items():
        conditions[str(name)] = _words(names, file, node.line_of(name), str(name), out)
    return conditions


def load_noise_words(doc: Any, file: str, out: Collector) -> frozenset[str]:
    node = doc.get("medication_noise") if isinstance(doc, dict) else None
    return frozenset(_words(node, file, getattr(doc, "line_of", lambda _: 1)("medication_noise"),
                            "medication_noise", out))
