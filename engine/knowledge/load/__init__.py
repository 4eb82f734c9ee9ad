"""Read a KB folder (YAML only, safe loader) into a validated, immutable Kb, reporting every problem.

The only code that reads KB files. One module per file kind: settings (kb.yaml), profiles (parameters),
facts, codes (and sources), notations, rules, tests, invariants (the safety section), vocabularies
(medications.yaml, conditions.yaml), teaching (optional: presentation only, so not in the digest) and
fhir (optional: how FHIR resources become facts, read only on the FHIR path); yamlsource keeps the line
of every node for file:line messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType
from typing import Any

from clonus.engine.errors import KbError, Problem
from clonus.engine.knowledge.model import CodeDef, FactDef, Kb, Rule, RuleTest, Teaching

from .codes import load_codes, load_sources
from .common import Collector, display, mapping, unknown_keys
from .derived import conflicting_values
from .facts import load_facts
from .files import is_file, read_bytes
from .invariants import load_invariants, parameters_read
from .notations import load_notations, load_synonyms
from .profiles import load_profile, parameters_of
from .rules import RuleContext, check_cycles, check_rule_ids, load_rules
from .settings import KB_KEYS, load_dose_plans, load_gap_check, load_precedence, load_vocabulary
from .teaching import default_teaching, load_teaching
from .tests import load_tests
from .vocabularies import load_conditions, load_medications, load_noise_words
from .yamlsource import parse_yaml, read_problem, read_yaml

CORE_FILES = ("kb.yaml", "facts.yaml", "codes.yaml", "sources.yaml", "notations.yaml", "invariants.yaml",
              "medications.yaml", "conditions.yaml")
# A file a KB may have; without it the KB cannot read FHIR (the FHIR path says so), all else works.
OPTIONAL_FILES = ("fhir.yaml",)
_ENGINE = Path(__file__).resolve().parents[2]  # engine/, or clonus/engine/ once installed


def default_kb_dir() -> Path:
    """The shipped KB: kb/ beside engine/, in a clone (the package clonus.kb) and once installed alike."""
    return _ENGINE.parent / "kb"


def load_kb(root: Path | str | None = None, profile: str | None = None, fhir: bool = True) -> Kb:
    """Load and validate the KB in `root` (the shipped KB when None), bound to `profile` (the KB's default
    when None). Raises KbError with every problem, or UsageError for a profile the KB does not have.
    `fhir=False` leaves fhir.yaml unread (kb.fhir None; its bytes still count in the digest): a case file
    does not need it, and parsing it would slow every `clonus advise CASE` by a few milliseconds."""
    root = Path(root) if root is not None else default_kb_dir()
    if not is_file(root / "kb.yaml"):
        raise KbError([Problem(display(root / "kb.yaml"), 0, None, None,
                               "not a clonus KB folder: kb.yaml is missing")])
    out = Collector()
    if (root / "rules").exists() and not (root / "rules").is_dir():
        raise KbError([Problem(display(root / "rules"), 0, None, None,
                               "not a folder: the rule files live in rules/*.yaml")])
    rule_files = sorted(p for p in (root / "rules").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
    test_files = sorted((root / "rules").glob("*.tests.yaml"))
    if not rule_files:  # no rule could give an answer, not even the warnings the safety section requires
        out.add(display(root / "rules"), 0, None, None, "holds no rule file: the rules live in rules/*.yaml")
    profile_files = sorted((root / "profiles").glob("*.yaml"))
    core = [root / n for n in CORE_FILES]
    optional = [root / n for n in OPTIONAL_FILES if (root / n).is_file()]
    skipped = set() if fhir else set(optional)
    docs, digest = _read_all(root, core + optional + profile_files + rule_files + test_files, out,
                             unparsed=skipped)
    name = {path.name: display(path) for path in core + optional if path not in skipped}

    def doc(file: str) -> Any:
        return docs[name[file]]

    kb_file = name["kb.yaml"]
    meta = mapping(doc("kb.yaml"), kb_file, out)
    unknown_keys(meta, KB_KEYS, kb_file, None, out)  # a misspelt exclusions: is not silent
    shared = parameters_of(meta.get("parameters"), kb_file, "parameters", out)
    chosen, profiles = load_profile(docs, profile_files, profile, meta.get("default_profile"), shared, kb_file,
                                    meta.line_of("default_profile"), out, parameters_read(doc("invariants.yaml")))
    params = dict(chosen.parameters)
    facts = load_facts(doc("facts.yaml"), name["facts.yaml"], out)
    codes, categories = load_codes(doc("codes.yaml"), name["codes.yaml"], out, params)
    sources = load_sources(doc("sources.yaml"), name["sources.yaml"], out)
    frequencies, mass_units = load_notations(doc("notations.yaml"), name["notations.yaml"], out)
    ctx = RuleContext(facts, codes, sources, params, load_dose_plans(meta, kb_file, params, out))
    rules: list[Rule] = []
    for path in rule_files:
        rules.extend(load_rules(docs[display(path)], display(path), ctx, out))
    check_rule_ids(rules, out)
    check_cycles(rules, facts, out)
    tests: list[RuleTest] = []
    for path in test_files:
        tests.extend(load_tests(docs[display(path)], display(path), codes, out, _declared_ids(docs, rule_files),
                                profiles))
    invariants = load_invariants(doc("invariants.yaml"), name["invariants.yaml"], params, facts, codes, out)
    gap_population, gap_categories = load_gap_check(meta, kb_file, facts, categories, out, params)
    synonyms = load_synonyms(doc("notations.yaml"), name["notations.yaml"], facts, out)
    vocabulary = load_vocabulary(meta, kb_file, facts, categories, out)
    precedence = load_precedence(meta, kb_file, codes, out)
    medications = load_medications(doc("medications.yaml"), name["medications.yaml"], out)
    conditions = load_conditions(doc("conditions.yaml"), name["conditions.yaml"], out)
    noise = load_noise_words(doc("notations.yaml"), name["notations.yaml"], out)
    teaching = _teaching(root, facts, codes, categories, out)
    fhir_mapping = _fhir(doc, name, facts, mass_units, medications, out)
    if out.problems:
        raise KbError(out.problems)
    kb = Kb(
        name=str(meta.get("name", root.name)), version=str(meta.get("version", "0")),
        description=str(meta.get("description", "")), root=str(root),
        facts=MappingProxyType(facts), codes=MappingProxyType(codes), categories=tuple(categories),
        sources=MappingProxyType(sources), rules=tuple(rules), tests=tuple(tests),
        frequencies=MappingProxyType(frequencies),
        mass_units=MappingProxyType(mass_units), disclaimer=str(meta.get("disclaimer", "")),
        digest=digest, vocabulary=vocabulary, profile=chosen, profiles=profiles, precedence=precedence,
        invariants=invariants, medications=MappingProxyType(medications),
        conditions=MappingProxyType(conditions), noise_words=noise,
        synonyms=MappingProxyType({k: MappingProxyType(v) for k, v in synonyms.items()}),
        gap_population=gap_population, gap_categories=gap_categories, teaching=teaching, fhir=fhir_mapping,
    )
    conflicts = conflicting_values(kb)  # needs the whole KB: conditions are compared over its facts
    if conflicts:
        raise KbError(conflicts)
    return kb


def _declared_ids(docs: dict[str, Any], rule_files: list[Path]) -> set[str]:
    """Every rule id the rule files declare, loaded or not (a test naming a broken rule is not a second
    problem)."""
    ids = set()
    for path in rule_files:
        doc = docs[display(path)]
        for spec in (doc.get("rules") if isinstance(doc, dict) else None) or []:
            if isinstance(spec, dict) and isinstance(spec.get("id"), str):
                ids.add(spec["id"])
    return ids


def _teaching(root: Path, facts: dict[str, FactDef], codes: dict[str, CodeDef], categories: list[str],
              out: Collector) -> Teaching:
    """teaching.yaml when the KB has one, else one section per category (see load/teaching.py)."""
    path = root / "teaching.yaml"
    if not is_file(path):
        return default_teaching(categories)
    try:
        doc = read_yaml(path, display(path))
    except KbError as exc:
        out.problems.extend(exc.problems)
        return default_teaching(categories)
    return load_teaching(doc, display(path), facts, codes, categories, out)


def _fhir(doc, name: dict[str, str], facts, mass_units, medications, out: Collector):
    """fhir.yaml where the KB has it (and was asked to read it); its loader is imported here, so that
    commands that never read FHIR never pay for it."""
    if "fhir.yaml" not in name:
        return None
    from .fhir import load_fhir

    return load_fhir(doc("fhir.yaml"), name["fhir.yaml"], facts, mass_units, medications, out)


def _read_all(root: Path, paths: list[Path], out: Collector,
              unparsed: Collection[Path] = ()) -> tuple[dict[str, Any], str]:
    """Parse every file (each problem collected) and digest their bytes, in a fixed order: the bytes
    digested are the bytes parsed, read once (a regular file only, of a few MB at most); the bytes of
    `unparsed` files count in the digest too."""
    digest = hashlib.sha256()
    docs: dict[str, Any] = {}
    for path in paths:
        shown = display(path)
        try:
            data = read_bytes(path)
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
            if path in unparsed:
                continue
            docs[shown] = parse_yaml(data.decode("utf-8"), shown)
        except FileNotFoundError:
            out.add(shown, 0, None, None, "is missing: a KB folder holds " + ", ".join(CORE_FILES)
                    + ", profiles/ and rules/ (kb/README.md)")
        except (OSError, UnicodeDecodeError) as exc:
            out.add(shown, 0, None, None, f"cannot read file: {read_problem(exc)}")
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
