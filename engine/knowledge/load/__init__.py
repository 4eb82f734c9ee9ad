"""Read a KB folder (YAML only, safe loader) into a validated, immutable Kb, reporting every problem.

The only code that reads KB files. One module per file kind: settings (kb.yaml), facts, codes (and
sources), notations, rules, tests, and the optional medications (the medication vocabulary) and fhir
(how FHIR resources become facts); yamlsource keeps the line of every node for file:line messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import KbError, Problem
from clonus.engine.knowledge.model import FactDef, Kb, Rule, RuleTest

from .codes import load_codes, load_sources
from .common import Collector, display, mapping, unknown_keys
from .facts import load_facts
from .notations import load_notations, load_synonyms
from .rules import check_cycles, check_rule_ids, load_rules
from .settings import KB_KEYS, load_exclusions, load_gap_check, load_safety_limits
from .tests import load_tests
from .yamlsource import read_yaml

CORE_FILES = ("kb.yaml", "facts.yaml", "codes.yaml", "sources.yaml", "notations.yaml")
# Files a KB may have; without them it cannot read FHIR (the FHIR path says so), all else works.
OPTIONAL_FILES = ("medications.yaml", "fhir.yaml")
_ENGINE = Path(__file__).resolve().parents[2]  # engine/, or clonus/engine/ once installed


def default_kb_dir() -> Path:
    """The shipped KB: kb/ beside engine/, in a clone (the package clonus.kb) and once installed alike."""
    return _ENGINE.parent / "kb"


def load_kb(root: Path | str | None = None, fhir: bool = True) -> Kb:
    """Load and validate the KB in `root` (the shipped KB when None). Raises KbError with every problem.
    `fhir=False` leaves fhir.yaml and medications.yaml unread (kb.fhir and kb.medications None; their
    bytes still count in the digest): a case file needs neither today, and parsing them would slow every
    `clonus advise CASE` by a few milliseconds."""
    root = Path(root) if root is not None else default_kb_dir()
    if not (root / "kb.yaml").is_file():
        raise KbError([Problem(display(root / "kb.yaml"), 0, None, None,
                               "not a clonus KB folder: kb.yaml is missing")])
    out = Collector()
    rule_files = sorted(p for p in (root / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
    test_files = sorted((root / "rules").glob("*.tests.yaml"))
    core = [root / n for n in CORE_FILES]
    optional = [root / n for n in OPTIONAL_FILES if (root / n).is_file()]
    skipped = set() if fhir else set(optional)
    docs, digest = _read_all(root, core + optional + rule_files + test_files, out, unparsed=skipped)
    optional = [p for p in optional if p not in skipped]
    name = {path.name: display(path) for path in core + optional}

    def doc(file: str) -> Any:
        return docs[name[file]]

    meta = mapping(doc("kb.yaml"), name["kb.yaml"], out)
    unknown_keys(meta, KB_KEYS, name["kb.yaml"], None, out)  # a misspelt exclusions: is not silent
    facts = load_facts(doc("facts.yaml"), name["facts.yaml"], out)
    codes, categories = load_codes(doc("codes.yaml"), name["codes.yaml"], out)
    sources = load_sources(doc("sources.yaml"), name["sources.yaml"], out)
    frequencies, mass_units = load_notations(doc("notations.yaml"), name["notations.yaml"], out)
    rules: list[Rule] = []
    for path in rule_files:
        rules.extend(load_rules(docs[display(path)], display(path), facts, codes, sources, out))
    check_rule_ids(rules, out)
    check_cycles(rules, facts, out)
    tests: list[RuleTest] = []
    for path in test_files:
        tests.extend(load_tests(docs[display(path)], display(path), codes, out))
    exclusions = load_exclusions(meta, name["kb.yaml"], codes, out)
    limits = load_safety_limits(meta, name["kb.yaml"], out)
    gap_population, gap_categories = load_gap_check(meta, name["kb.yaml"], facts, categories, out)
    synonyms = load_synonyms(doc("notations.yaml"), name["notations.yaml"], facts, out)
    medications, fhir_mapping = _optional(doc, name, facts, mass_units, out)
    if out.problems:
        raise KbError(out.problems)
    return Kb(
        name=str(meta.get("name", root.name)), version=str(meta.get("version", "0")),
        description=str(meta.get("description", "")), root=str(root),
        facts=MappingProxyType(facts), codes=MappingProxyType(codes), categories=tuple(categories),
        sources=MappingProxyType(sources), rules=tuple(rules), tests=tuple(tests),
        exclusions=tuple(exclusions), frequencies=MappingProxyType(frequencies),
        mass_units=MappingProxyType(mass_units), disclaimer=str(meta.get("disclaimer", "")),
        digest=digest, safety_limits=MappingProxyType(limits),
        synonyms=MappingProxyType({k: MappingProxyType(v) for k, v in synonyms.items()}),
        gap_population=gap_population, gap_categories=gap_categories, medications=medications, fhir=fhir_mapping,
    )


def _optional(doc, name: dict[str, str], facts, mass_units, out: Collector):
    """medications.yaml and fhir.yaml where the KB has them (and was asked to read them); their loaders
    are imported here, so that `clonus --help`, which reads only the facts, never pays for them."""
    medications = fhir_mapping = None
    if "medications.yaml" in name:
        from .medications import load_medications

        medications = load_medications(doc("medications.yaml"), name["medications.yaml"], out)
    if "fhir.yaml" in name:
        from .fhir import load_fhir

        drugs = medications.medications if medications is not None else {}
        fhir_mapping = load_fhir(doc("fhir.yaml"), name["fhir.yaml"], facts, mass_units, drugs, out)
    return medications, fhir_mapping


def _read_all(root: Path, paths: list[Path], out: Collector,
              unparsed: Collection[Path] = ()) -> tuple[dict[str, Any], str]:
    """Parse every file (each problem collected) and digest their bytes, in a fixed order; the bytes of
    `unparsed` files count in the digest too."""
    digest = hashlib.sha256()
    docs: dict[str, Any] = {}
    for path in paths:
        shown = display(path)
        try:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
            if path in unparsed:
                continue
            docs[shown] = read_yaml(path, shown)
        except OSError as exc:
            out.add(shown, 0, None, None, f"cannot read file: {exc}")
        except KbError as exc:
            out.problems.extend(exc.problems)
    if out.problems:
        raise KbError(out.problems)
    return docs, "sha256:" + digest.hexdigest()


def load_fact_defs(root: Path | str | None = None) -> dict[str, FactDef]:
    """Only the facts dictionary of a KB (for the command line's case-field flags); KbError if unusable."""
    root = Path(root) if root is not None else default_kb_dir()
    out = Collector()
    path = root / "facts.yaml"
    facts = load_facts(read_yaml(path, display(path)), display(path), out)
    if out.problems:
        raise KbError(out.problems)
    return facts
