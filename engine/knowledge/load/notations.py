"""notations.yaml: frequency spellings, mass units and synonyms (how case text is read)."""

from __future__ import annotations

import re
from typing import Any

from clonus.engine.errors import shown
from clonus.engine.suggest import did_you_mean

from .common import Collector, is_number, mapping
from .yamlsource import LineDict


def load_notations(doc: Any, file: str, out: Collector) -> tuple[dict[str, int], dict[str, float]]:
    freqs: dict[str, int] = {}
    for spelling, per_day in mapping(doc, file, out, "frequencies").items():
        if not isinstance(per_day, int) or isinstance(per_day, bool) or per_day < 1:
            out.add(file, doc["frequencies"].line_of(spelling), None, str(spelling),
                    "doses per day must be a whole number >= 1")
            continue
        freqs[frequency_key(str(spelling))] = per_day
    units: dict[str, float] = {}
    for unit, factor in mapping(doc, file, out, "mass_units").items():
        if not is_number(factor) or factor <= 0:
            out.add(file, doc["mass_units"].line_of(unit), None, str(unit),
                    "the factor to mg must be a positive number")
            continue
        units[str(unit).lower()] = factor
    return freqs, units


def frequency_key(text: str) -> str:
    """Lower-case and drop dots and white space, so 't.i.d.' == 'TID' and 'q 8 h' == 'q8h'."""
    return re.sub(r"[\s.]+", "", text.lower())


def load_synonyms(doc, file, facts, out) -> dict[str, dict[str, str]]:
    """Aliases per fact (brand names, abbreviations), lower-cased; enum targets must be real values."""
    result: dict[str, dict[str, str]] = {}
    node = doc.get("synonyms") if isinstance(doc, dict) else None
    if node is None:
        return result
    if not isinstance(node, LineDict):
        out.add(file, doc.line_of("synonyms"), None, "synonyms", "maps a fact to {alias: value}")
        return result
    for fact_name, aliases in node.items():
        fact = facts.get(fact_name)
        if fact is None or fact.type not in ("enum", "text", "words") or not isinstance(aliases, LineDict):
            out.add(file, node.line_of(fact_name), None, f"synonyms.{fact_name}",
                    f"synonyms apply to enum, text or words input facts{did_you_mean(fact_name, facts)}")
            continue
        for alias, target in aliases.items():
            if fact.type == "enum" and target not in fact.values:
                out.add(file, aliases.line_of(alias), None, f"synonyms.{fact_name}.{alias}",
                        f"{shown(target)} is not a value of {fact_name}; values: {', '.join(fact.values)}")
        # keyed as intake normalises text: lower case, each run of white space one _
        result[fact_name] = {"_".join(str(a).lower().split()): str(t) for a, t in aliases.items()}
    return result
